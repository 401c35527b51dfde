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
import java.util.concurrent.Executor;
import java.util.concurrent.Semaphore;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * One NBD client connection: fixed-newstyle option haggling on the event loop, then transmission with simple
 * replies, reads served on the server's read executor.
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
    private static final int TRANSMISSION_FLAGS = Nbd.TFLAG_HAS_FLAGS | Nbd.TFLAG_READ_ONLY | Nbd.TFLAG_SEND_FLUSH
            | Nbd.TFLAG_CAN_MULTI_CONN;

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

    // Guarded by queue.
    private final ArrayDeque<NbdDecoder.Request> queue = new ArrayDeque<>();
    private boolean draining;
    private boolean closed;
    private ViewLease lease;
    private NbdExport export;

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
                optionReply(ctx, code, Nbd.REP_ERR_TLS_REQD, "this server is not on loopback: upgrade with"
                        + " NBD_OPT_STARTTLS first (qemu: --tls-creds)");
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
            default -> optionReply(ctx, code, Nbd.REP_ERR_UNSUP, "option " + code + " is not supported by this"
                    + " read-only server");
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
            optionReply(ctx, Nbd.OPT_STARTTLS, Nbd.REP_ERR_POLICY, "TLS is not configured: this server listens on"
                    + " loopback only and speaks plain NBD");
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
        info.writeShort(Nbd.INFO_EXPORT).writeLong(e.size()).writeShort(TRANSMISSION_FLAGS);
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
        reply.writeLong(e.size()).writeShort(TRANSMISSION_FLAGS);
        if (!noZeroes) {
            reply.writeZero(124);
        }
        ctx.writeAndFlush(reply);
        enter(e, opened);
    }

    private void enter(NbdExport e, ViewLease opened) {
        synchronized (queue) {
            export = e;
            lease = opened;
        }
        decoder.enterTransmission();
        LOG.info(() -> "NBD client " + channel.remoteAddress() + " reads export " + e.name());
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
        LOG.warning(() -> "NBD client " + ctx.channel().remoteAddress() + " disconnected: " + why);
        ctx.close();
    }

    // ------------------------------------------------------------------ transmission

    private void enqueue(NbdDecoder.Request r) {
        if (r.type() == Nbd.CMD_DISC) {
            decoder.done();
        }
        synchronized (queue) {
            queue.add(r);
            if (queue.size() >= MAX_QUEUED) {
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
                if (queue.size() < MAX_QUEUED / 2 && !channel.config().isAutoRead()) {
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
            }
        }
    }

    private void serve(NbdDecoder.Request r) throws InterruptedException {
        switch (r.type()) {
            case Nbd.CMD_READ -> read(r);
            case Nbd.CMD_DISC -> channel.close();
            case Nbd.CMD_FLUSH, Nbd.CMD_CACHE -> reply(r, 0); // nothing is ever written, so nothing to flush
            case Nbd.CMD_WRITE, Nbd.CMD_TRIM, Nbd.CMD_WRITE_ZEROES -> reply(r, Nbd.EPERM);
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
            byte[] data = lease.view().read(start, span);
            ByteBuf header = replyHeader(r, 0);
            ByteBuf body = Unpooled.wrappedBuffer(data, (int) (r.offset() - start), length);
            channel.write(header);
            ChannelFuture f = channel.writeAndFlush(body);
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

    private void reply(NbdDecoder.Request r, int error) {
        channel.writeAndFlush(replyHeader(r, error));
    }

    private ByteBuf replyHeader(NbdDecoder.Request r, int error) {
        ByteBuf b = channel.alloc().buffer(16);
        return b.writeInt(Nbd.SIMPLE_REPLY_MAGIC).writeInt(error).writeLong(r.handle());
    }

    // ------------------------------------------------------------------ lifecycle

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        synchronized (queue) {
            closed = true;
            queue.clear();
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
            LOG.warning(() -> "NBD client " + ctx.channel().remoteAddress() + " disconnected: " + c.getMessage());
        } else {
            LOG.log(Level.WARNING, "NBD client " + ctx.channel().remoteAddress() + " failed", c);
        }
        ctx.close();
    }
}
