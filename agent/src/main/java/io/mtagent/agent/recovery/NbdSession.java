package io.mtagent.agent.recovery;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.DecoderException;
import io.netty.handler.ssl.SslContext;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Executor;
import java.util.concurrent.Semaphore;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * One NBD client connection: fixed-newstyle option haggling on the event loop (with structured replies and the
 * {@code base:allocation} metadata context when the client asks for them), then transmission: simple replies, or
 * structured chunks once negotiated ({@link NbdReplies}); requests served on the server's read executor. Writes
 * are taken only by a writable export (a test failover, whose lease writes to a capped scratch file).
 *
 * <p>Threading: options run on the channel's event loop. Transmission requests are queued and drained by one
 * task at a time on the read executor (so replies of one connection never race and a DISC is answered only after
 * every earlier request); reading stops while {@value #MAX_QUEUED} requests wait. A read takes its buffer's
 * bytes from the server-wide {@code readBudget} before allocating and gives them back when the reply has left,
 * and the drain task waits while the channel is not writable: memory stays bounded however fast clients ask.
 *
 * <p>The view lease is opened when the client enters transmission and closed once the connection is gone and
 * the drain task has stopped (never under a running read).
 */
final class NbdSession extends ChannelInboundHandlerAdapter {
    private static final Logger LOG = Logger.getLogger(NbdSession.class.getName());
    private static final int MAX_QUEUED = 32;
    /** Bytes of WRITE payloads queued before the connection stops reading (a write is at most 32 MiB). */
    private static final long MAX_QUEUED_WRITE_BYTES = 64L << 20;
    private static final int READ_ONLY_FLAGS = Nbd.TFLAG_HAS_FLAGS | Nbd.TFLAG_READ_ONLY | Nbd.TFLAG_SEND_FLUSH
            | Nbd.TFLAG_CAN_MULTI_CONN;
    /** A test failover: writes, write-zeroes and flush; not multi-conn (its scratch is shared, its flush trivial). */
    private static final int WRITABLE_FLAGS = Nbd.TFLAG_HAS_FLAGS | Nbd.TFLAG_SEND_FLUSH | Nbd.TFLAG_SEND_WRITE_ZEROES;

    private final NbdServer server;
    private final NbdDecoder decoder;
    private final SslContext tls;
    private final boolean tlsRequired;
    private final Executor readExecutor;
    private final Semaphore readBudget;

    // Event loop only.
    private Channel channel;
    private boolean noZeroes;
    private boolean tlsActive;
    /** NBD_OPT_STRUCTURED_REPLY was acknowledged: every reply is a structured chunk. Read by the drain after. */
    private volatile boolean structured;
    /** NBD_OPT_SET_META_CONTEXT selected base:allocation: NBD_CMD_BLOCK_STATUS is served. */
    private volatile boolean allocationContext;

    // Guarded by queue.
    private final ArrayDeque<NbdDecoder.Request> queue = new ArrayDeque<>();
    private long queuedWriteBytes;
    private boolean draining;
    private boolean closed;
    private ViewLease lease;
    private NbdExport export;
    /** Block status answers of this connection (drain only, created on entering transmission). */
    private NbdBlockStatus blockStatus;

    NbdSession(NbdServer server, NbdDecoder decoder, SslContext tls, boolean tlsRequired, Executor readExecutor,
               Semaphore readBudget) {
        this.server = server;
        this.decoder = decoder;
        this.tls = tls;
        this.tlsRequired = tlsRequired;
        this.readExecutor = readExecutor;
        this.readBudget = readBudget;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        channel = ctx.channel();
        ByteBuf greeting = ctx.alloc().buffer(18);
        greeting.writeLong(Nbd.INIT_MAGIC).writeLong(Nbd.OPTION_MAGIC)
                .writeShort(Nbd.FLAG_FIXED_NEWSTYLE | Nbd.FLAG_NO_ZEROES);
        ctx.writeAndFlush(greeting);
        ctx.fireChannelActive();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof NbdDecoder.ClientFlags f) {
            clientFlags(ctx, f.flags());
        } else if (msg instanceof NbdDecoder.Option o) {
            option(ctx, o.code(), o.data());
        } else if (msg instanceof NbdDecoder.OversizeOption o) {
            if (o.code() == Nbd.OPT_EXPORT_NAME) {
                hardDisconnect(ctx, "NBD_OPT_EXPORT_NAME of " + o.length() + " bytes (names have at most 4096)");
            } else {
                optionReply(ctx, o.code(), Nbd.REP_ERR_TOO_BIG, "option data of " + o.length() + " bytes exceeds "
                        + Nbd.MAX_OPTION_LENGTH);
            }
        } else if (msg instanceof NbdDecoder.Request r) {
            enqueue(r);
        }
    }

    // ------------------------------------------------------------------ handshake

    private void clientFlags(ChannelHandlerContext ctx, int flags) {
        if ((flags & Nbd.CLIENT_FLAG_FIXED_NEWSTYLE) == 0) {
            hardDisconnect(ctx, "client does not speak fixed newstyle negotiation (client flags 0x"
                    + Integer.toHexString(flags) + ")");
        } else if ((flags & ~(Nbd.CLIENT_FLAG_FIXED_NEWSTYLE | Nbd.CLIENT_FLAG_NO_ZEROES)) != 0) {
            hardDisconnect(ctx, "unknown client flags 0x" + Integer.toHexString(flags));
        } else {
            noZeroes = (flags & Nbd.CLIENT_FLAG_NO_ZEROES) != 0;
        }
    }

    private void option(ChannelHandlerContext ctx, int code, byte[] data) {
        if (tlsRequired && !tlsActive && code != Nbd.OPT_STARTTLS && code != Nbd.OPT_ABORT) {
            if (code == Nbd.OPT_EXPORT_NAME) {
                hardDisconnect(ctx, "NBD_OPT_EXPORT_NAME before NBD_OPT_STARTTLS on a TLS-only server");
            } else {
                optionReply(ctx, code, Nbd.REP_ERR_TLS_REQD, "this port requires TLS with a client certificate:"
                        + " upgrade with NBD_OPT_STARTTLS first (nbds://...?tls-certificates=DIR, qemu: tls-creds)");
            }
            return;
        }
        switch (code) {
            case Nbd.OPT_EXPORT_NAME -> exportName(ctx, new String(data, StandardCharsets.UTF_8));
            case Nbd.OPT_ABORT -> {
                decoder.done();
                optionReply(ctx, code, Nbd.REP_ACK, null).addListener(ChannelFutureListener.CLOSE);
            }
            case Nbd.OPT_LIST -> list(ctx, data);
            case Nbd.OPT_STARTTLS -> startTls(ctx, data);
            case Nbd.OPT_INFO, Nbd.OPT_GO -> infoOrGo(ctx, code, data);
            case Nbd.OPT_STRUCTURED_REPLY -> structuredReply(ctx, data);
            case Nbd.OPT_LIST_META_CONTEXT, Nbd.OPT_SET_META_CONTEXT -> metaContext(ctx, code, data);
            default -> optionReply(ctx, code, Nbd.REP_ERR_UNSUP, "option " + code + " is not supported by this"
                    + " server");
        }
    }

    private void list(ChannelHandlerContext ctx, byte[] data) {
        if (data.length != 0) {
            optionReply(ctx, Nbd.OPT_LIST, Nbd.REP_ERR_INVALID, "NBD_OPT_LIST carries no data");
            return;
        }
        for (NbdExport e : server.exports()) {
            byte[] name = e.name().getBytes(StandardCharsets.UTF_8);
            ByteBuf payload = ctx.alloc().buffer(4 + name.length);
            payload.writeInt(name.length).writeBytes(name);
            writeOptionReply(ctx, Nbd.OPT_LIST, Nbd.REP_SERVER, payload);
        }
        optionReply(ctx, Nbd.OPT_LIST, Nbd.REP_ACK, null);
    }

    private void startTls(ChannelHandlerContext ctx, byte[] data) {
        if (tls == null) {
            optionReply(ctx, Nbd.OPT_STARTTLS, Nbd.REP_ERR_POLICY, "TLS is not offered on this socket: readers"
                    + " here are authenticated by the socket's permissions (Unix socket) or not at all (plain)");
        } else if (tlsActive) {
            optionReply(ctx, Nbd.OPT_STARTTLS, Nbd.REP_ERR_INVALID, "TLS is already active");
        } else if (data.length != 0) {
            optionReply(ctx, Nbd.OPT_STARTTLS, Nbd.REP_ERR_INVALID, "NBD_OPT_STARTTLS carries no data");
        } else if (decoder.pendingBytes() != 0) {
            // Bytes pipelined behind STARTTLS would be taken as plaintext options after the upgrade: refuse.
            hardDisconnect(ctx, "data sent after NBD_OPT_STARTTLS before the server's answer");
        } else {
            // The ACK passes the pipeline head now, in clear; the SslHandler added after it handles what follows.
            optionReply(ctx, Nbd.OPT_STARTTLS, Nbd.REP_ACK, null);
            ctx.pipeline().addFirst("tls", tls.newHandler(ctx.alloc()));
            tlsActive = true;
        }
    }

    private void structuredReply(ChannelHandlerContext ctx, byte[] data) {
        if (data.length != 0) {
            optionReply(ctx, Nbd.OPT_STRUCTURED_REPLY, Nbd.REP_ERR_INVALID, "NBD_OPT_STRUCTURED_REPLY carries no data");
            return;
        }
        structured = true;
        optionReply(ctx, Nbd.OPT_STRUCTURED_REPLY, Nbd.REP_ACK, null);
    }

    /** NBD_OPT_LIST_META_CONTEXT / NBD_OPT_SET_META_CONTEXT: the one context is base:allocation. */
    private void metaContext(ChannelHandlerContext ctx, int code, byte[] data) {
        boolean list = code == Nbd.OPT_LIST_META_CONTEXT;
        if (!list && !structured) {
            optionReply(ctx, code, Nbd.REP_ERR_INVALID, "negotiate NBD_OPT_STRUCTURED_REPLY before"
                    + " NBD_OPT_SET_META_CONTEXT");
            return;
        }
        NbdMetaContextRequest request;
        try {
            request = NbdMetaContextRequest.parse(data);
        } catch (IllegalArgumentException e) {
            optionReply(ctx, code, Nbd.REP_ERR_INVALID, e.getMessage());
            return;
        }
        if (server.find(request.exportName()) == null) {
            optionReply(ctx, code, Nbd.REP_ERR_UNKNOWN, unknownExport(request.exportName()));
            return;
        }
        Set<String> selected = request.selected(list);
        for (String context : selected) {
            byte[] name = context.getBytes(StandardCharsets.UTF_8);
            ByteBuf payload = ctx.alloc().buffer(4 + name.length);
            payload.writeInt(list ? 0 : Nbd.META_BASE_ALLOCATION_ID).writeBytes(name);
            writeOptionReply(ctx, code, Nbd.REP_META_CONTEXT, payload);
        }
        if (!list) {
            allocationContext = selected.contains(Nbd.META_BASE_ALLOCATION);
        }
        optionReply(ctx, code, Nbd.REP_ACK, null);
    }

    /** Parses {@code u32 name length, name, u16 n, n × u16 info type}; replies and, for GO, enters transmission. */
    private void infoOrGo(ChannelHandlerContext ctx, int code, byte[] data) {
        ByteBuffer b = ByteBuffer.wrap(data);
        if (b.remaining() < 6) {
            optionReply(ctx, code, Nbd.REP_ERR_INVALID, "option data too short");
            return;
        }
        long nameLength = Integer.toUnsignedLong(b.getInt());
        if (nameLength > b.remaining() - 2) {
            optionReply(ctx, code, Nbd.REP_ERR_INVALID, "export name length " + nameLength + " exceeds the option");
            return;
        }
        String name = new String(data, 4, (int) nameLength, StandardCharsets.UTF_8);
        b.position(4 + (int) nameLength);
        int requests = Short.toUnsignedInt(b.getShort());
        if (b.remaining() != 2 * requests) {
            optionReply(ctx, code, Nbd.REP_ERR_INVALID, "information request count does not match the option length");
            return;
        }
        boolean wantName = false;
        boolean wantDescription = false;
        for (int i = 0; i < requests; i++) {
            int type = Short.toUnsignedInt(b.getShort());
            wantName |= type == Nbd.INFO_NAME;
            wantDescription |= type == Nbd.INFO_DESCRIPTION;
        }
        NbdExport e = server.find(name);
        if (e == null) {
            optionReply(ctx, code, Nbd.REP_ERR_UNKNOWN, unknownExport(name));
            return;
        }
        ViewLease opened = null;
        if (code == Nbd.OPT_GO) {
            try {
                opened = e.opener().open();
            } catch (IOException | RuntimeException ex) {
                LOG.log(Level.WARNING, "cannot open NBD export " + e.name() + " for " + channel.remoteAddress(), ex);
                optionReply(ctx, code, Nbd.REP_ERR_UNKNOWN, "export " + e.name() + " cannot be opened: "
                        + ex.getMessage());
                return;
            }
        }
        ByteBuf info = ctx.alloc().buffer(12);
        info.writeShort(Nbd.INFO_EXPORT).writeLong(e.size()).writeShort(transmissionFlags(e));
        writeOptionReply(ctx, code, Nbd.REP_INFO, info);
        ByteBuf blocks = ctx.alloc().buffer(14);
        blocks.writeShort(Nbd.INFO_BLOCK_SIZE).writeInt(Nbd.MIN_BLOCK).writeInt(Nbd.PREFERRED_BLOCK)
                .writeInt(Nbd.MAX_PAYLOAD);
        writeOptionReply(ctx, code, Nbd.REP_INFO, blocks);
        if (wantName) {
            writeOptionReply(ctx, code, Nbd.REP_INFO, infoString(ctx, Nbd.INFO_NAME, e.name()));
        }
        if (wantDescription) {
            writeOptionReply(ctx, code, Nbd.REP_INFO, infoString(ctx, Nbd.INFO_DESCRIPTION, e.description()));
        }
        optionReply(ctx, code, Nbd.REP_ACK, null);
        if (opened != null) {
            enter(e, opened);
        }
    }

    /** Old-style entry: no error reply is possible, so an unknown name closes the connection. */
    private void exportName(ChannelHandlerContext ctx, String name) {
        NbdExport e = server.find(name);
        if (e == null) {
            hardDisconnect(ctx, "NBD_OPT_EXPORT_NAME: " + unknownExport(name));
            return;
        }
        ViewLease opened;
        try {
            opened = e.opener().open();
        } catch (IOException | RuntimeException ex) {
            LOG.log(Level.WARNING, "cannot open NBD export " + e.name() + " for " + channel.remoteAddress(), ex);
            ctx.close();
            return;
        }
        ByteBuf reply = ctx.alloc().buffer(noZeroes ? 10 : 134);
        reply.writeLong(e.size()).writeShort(transmissionFlags(e));
        if (!noZeroes) {
            reply.writeZero(124);
        }
        ctx.writeAndFlush(reply);
        enter(e, opened);
    }

    private static int transmissionFlags(NbdExport e) {
        return e.writable() ? WRITABLE_FLAGS : READ_ONLY_FLAGS;
    }

    private void enter(NbdExport e, ViewLease opened) {
        synchronized (queue) {
            export = e;
            lease = opened;
            blockStatus = new NbdBlockStatus(opened, e.size());
        }
        decoder.enterTransmission(e.writable() && opened.writable());
        server.transmissionStarted(channel);
        LOG.info(() -> "NBD client " + NbdServer.describe(channel) + (e.writable() ? " reads and writes" : " reads")
                + " export " + e.name() + (structured ? " (structured replies" + (allocationContext
                ? ", block status)" : ")") : ""));
    }

    private String unknownExport(String name) {
        return (name.isEmpty() ? "no default export (the server has " + server.exports().size() + " exports; name one)"
                : "no export named '" + name + "'") + "; NBD_OPT_LIST shows the exports";
    }

    private static ByteBuf infoString(ChannelHandlerContext ctx, int type, String text) {
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        ByteBuf b = ctx.alloc().buffer(2 + bytes.length);
        return b.writeShort(type).writeBytes(bytes);
    }

    /** An option reply; {@code message}, when given, is the UTF-8 payload (error text for a human). */
    private ChannelFuture optionReply(ChannelHandlerContext ctx, int option, int type, String message) {
        ByteBuf payload = message == null ? Unpooled.EMPTY_BUFFER
                : Unpooled.wrappedBuffer(message.getBytes(StandardCharsets.UTF_8));
        return writeOptionReply(ctx, option, type, payload);
    }

    private ChannelFuture writeOptionReply(ChannelHandlerContext ctx, int option, int type, ByteBuf payload) {
        ByteBuf header = ctx.alloc().buffer(20);
        header.writeLong(Nbd.OPTION_REPLY_MAGIC).writeInt(option).writeInt(type).writeInt(payload.readableBytes());
        ctx.write(header);
        return ctx.writeAndFlush(payload);
    }

    private void hardDisconnect(ChannelHandlerContext ctx, String why) {
        decoder.done();
        server.peerLog().warn("nbd-disconnect", "NBD client " + NbdServer.describe(ctx.channel())
                + " disconnected: " + why);
        ctx.close();
    }

    // ------------------------------------------------------------------ transmission

    private void enqueue(NbdDecoder.Request r) {
        if (r.type() == Nbd.CMD_DISC) {
            decoder.done();
        }
        synchronized (queue) {
            if (closed) {
                release(r);
                return;
            }
            queue.add(r);
            if (r.data() != null) {
                queuedWriteBytes += r.data().readableBytes();
            }
            if (queue.size() >= MAX_QUEUED || queuedWriteBytes >= MAX_QUEUED_WRITE_BYTES) {
                channel.config().setAutoRead(false);
            }
            if (draining) {
                return;
            }
            draining = true;
        }
        readExecutor.execute(this::drain);
    }

    /** Serves queued requests one after another; runs on the read executor, one task per session at a time. */
    private void drain() {
        while (true) {
            NbdDecoder.Request r;
            synchronized (queue) {
                r = closed ? null : queue.poll();
                if (r == null) {
                    draining = false;
                    if (closed) {
                        releaseLease();
                    }
                    return;
                }
                if (r.data() != null) {
                    queuedWriteBytes -= r.data().readableBytes();
                }
                if (queue.size() < MAX_QUEUED / 2 && queuedWriteBytes < MAX_QUEUED_WRITE_BYTES / 2
                        && !channel.config().isAutoRead()) {
                    channel.config().setAutoRead(true);
                }
            }
            try {
                serve(r);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                channel.close();
            } catch (RuntimeException e) {
                LOG.log(Level.SEVERE, "NBD request failed unexpectedly; closing " + channel.remoteAddress(), e);
                channel.close();
            } finally {
                release(r);
            }
        }
    }

    private static void release(NbdDecoder.Request r) {
        if (r.data() != null && r.data().refCnt() > 0) {
            r.data().release();
        }
    }

    private void serve(NbdDecoder.Request r) throws InterruptedException {
        switch (r.type()) {
            case Nbd.CMD_READ -> read(r);
            case Nbd.CMD_DISC -> channel.close();
            case Nbd.CMD_FLUSH -> {
                try {
                    lease.flush();
                    reply(r, 0);
                } catch (IOException e) {
                    reply(r, Nbd.EIO);
                }
            }
            case Nbd.CMD_CACHE -> reply(r, 0);
            case Nbd.CMD_WRITE, Nbd.CMD_WRITE_ZEROES -> write(r);
            case Nbd.CMD_TRIM -> reply(r, lease.writable() ? 0 : Nbd.EPERM); // advisory: the data may stay
            case Nbd.CMD_BLOCK_STATUS -> blockStatus(r);
            default -> reply(r, Nbd.EINVAL);
        }
    }

    private void read(NbdDecoder.Request r) throws InterruptedException {
        long size = export.size();
        if (r.length() > Nbd.MAX_PAYLOAD || r.offset() < 0 || r.offset() > size - r.length()) {
            reply(r, Nbd.EINVAL); // checked before any allocation
            return;
        }
        int length = (int) r.length();
        // Clients may send unaligned reads; the view reads whole sectors: read the enclosing range and slice.
        long start = r.offset() & ~511L;
        long end = Math.min(size, (r.offset() + length + 511) & ~511L);
        int span = (int) (end - start);
        readBudget.acquire(span);
        boolean handedOver = false;
        try {
            byte[] data = new byte[span];
            lease.read(start, ByteBuffer.wrap(data));
            ByteBuf body = Unpooled.wrappedBuffer(data, (int) (r.offset() - start), length);
            ChannelFuture f = NbdReplies.data(channel, structured, r.handle(), r.offset(), body);
            handedOver = true;
            f.addListener(x -> readBudget.release(span));
            if (!channel.isWritable()) {
                f.await(); // back-pressure: a slow reader stops this session's reads, not the event loop
            }
        } catch (IOException | RuntimeException e) {
            LOG.log(Level.WARNING, "NBD read of " + export.name() + " at " + r.offset() + "+" + length + " failed", e);
            reply(r, Nbd.EIO);
        } finally {
            if (!handedOver) {
                readBudget.release(span);
            }
        }
    }

    /** WRITE and WRITE_ZEROES: only a writable export (a test failover) takes them, into its scratch. */
    private void write(NbdDecoder.Request r) {
        if (!export.writable() || !lease.writable()) {
            reply(r, Nbd.EPERM);
            return;
        }
        if (r.offset() < 0 || r.length() > export.size() || r.offset() > export.size() - r.length()) {
            reply(r, Nbd.ENOSPC); // the protocol's answer to a write past the end
            return;
        }
        blockStatus.invalidate();
        try {
            if (r.type() == Nbd.CMD_WRITE_ZEROES) {
                lease.writeZeroes(r.offset(), r.length());
            } else if (r.data() == null) {
                reply(r, structured ? Nbd.EOVERFLOW : Nbd.EINVAL); // larger than the advertised maximum: skipped
                return;
            } else {
                lease.write(r.offset(), r.data().nioBuffer());
            }
            reply(r, 0);
        } catch (ScratchFullException e) {
            LOG.warning(() -> "NBD export " + export.name() + ": " + e.getMessage());
            reply(r, Nbd.ENOSPC);
        } catch (IOException | RuntimeException e) {
            LOG.log(Level.WARNING, "NBD write to " + export.name() + " at " + r.offset() + "+" + r.length()
                    + " failed", e);
            reply(r, Nbd.EIO);
        }
    }

    /** NBD_CMD_BLOCK_STATUS for base:allocation: holes where the view reads zeros. */
    private void blockStatus(NbdDecoder.Request r) {
        long size = export.size();
        if (!structured || !allocationContext || r.length() == 0 || r.offset() < 0 || r.offset() > size - r.length()) {
            reply(r, Nbd.EINVAL);
            return;
        }
        try {
            List<NbdBlockStatus.Descriptor> d = blockStatus.of(r.offset(), r.length(),
                    (r.flags() & Nbd.CMD_FLAG_REQ_ONE) != 0);
            NbdReplies.blockStatus(channel, r.handle(), d);
        } catch (IOException | RuntimeException e) {
            LOG.log(Level.WARNING, "NBD block status of " + export.name() + " at " + r.offset() + " failed", e);
            reply(r, Nbd.EIO);
        }
    }

    private void reply(NbdDecoder.Request r, int error) {
        NbdReplies.status(channel, structured, r.handle(), error);
    }

    // ------------------------------------------------------------------ lifecycle

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        synchronized (queue) {
            closed = true;
            for (NbdDecoder.Request r : queue) {
                release(r);
            }
            queue.clear();
            queuedWriteBytes = 0;
            if (!draining) {
                releaseLease();
            }
        }
        server.sessionClosed(this);
        ctx.fireChannelInactive();
    }

    /** Guarded by queue. */
    private void releaseLease() {
        if (lease != null) {
            NbdExport e = export;
            lease.close();
            lease = null;
            LOG.info(() -> "NBD client " + channel.remoteAddress() + " closed export " + e.name());
        }
    }

    /** The export this connection reads, or null during option haggling. */
    NbdExport export() {
        synchronized (queue) {
            return lease == null ? null : export;
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        Throwable c = cause instanceof DecoderException && cause.getCause() != null ? cause.getCause() : cause;
        if (c instanceof NbdDecoder.NbdProtocolException || c instanceof IOException) {
            // Throttled: refused TLS handshakes (no or a wrong client certificate) can come by the thousand.
            server.peerLog().warn("nbd-disconnect", "NBD client " + NbdServer.describe(ctx.channel())
                    + " disconnected: " + c.getMessage());
        } else {
            LOG.log(Level.WARNING, "NBD client " + ctx.channel().remoteAddress() + " failed", c);
        }
        ctx.close();
    }
}
