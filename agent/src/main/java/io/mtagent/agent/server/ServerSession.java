package io.mtagent.agent.server;

import io.mtagent.protocol.ErrorCode;
import io.mtagent.protocol.Frame;
import io.mtagent.protocol.FrameDecoder;
import io.mtagent.protocol.Frames;
import io.mtagent.protocol.Protocol;
import io.mtagent.protocol.ProtocolException;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.socket.DuplexChannel;
import io.netty.handler.codec.DecoderException;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;
import java.util.logging.Logger;
import javax.net.ssl.SSLException;

/**
 * One process-server connection on the data port, the transport side: channel events, writes and flushes, the
 * handshake deadline, the idle time-out, and the close after a fatal ERROR (the ERROR last, then half-close and
 * drain). Last handler of the pipeline {@code tls → frames → encoder → session}. What to answer is decided by
 * {@link Handshake} until AUTH_OK (SPEC.md §4) and by {@link DiskStreams} after it (§6, §7, §12); they throw a
 * refusal as a {@link ProtocolException}, which this class sends as the ERROR frame.
 *
 * <p>Thread-safety: every field is confined to the channel's event loop, except {@link #closing}. Disks and hash
 * workers call back on their own threads and only hand work to the event loop ({@link #loop()}).
 */
final class ServerSession extends ChannelInboundHandlerAdapter implements SessionOutput {
    private static final Logger LOG = Logger.getLogger(ServerSession.class.getName());

    private final DataServerContext server;
    private final long sessionId;
    /** Where disk threads hand their work; the channel's event loop unless a test supplies its own. */
    private final Executor loopOverride;
    private ChannelHandlerContext ctx;
    private Executor loop;
    private String peerName = "?";
    private Handshake handshake;
    /** Set at AUTH_OK; null before. */
    private DiskStreams streams;
    private ScheduledFuture<?> handshakeTimer;
    /** Written on the event loop; volatile because hash workers check it before sending CHECKSUMS. */
    private volatile boolean closing;

    ServerSession(DataServerContext server) {
        this(server, null);
    }

    /**
     * @param loopOverride runs the tasks disk threads and hash workers hand to the session, instead of the
     *                     channel's event loop; for in-memory channels, whose event loop is not thread-safe
     */
    ServerSession(DataServerContext server, Executor loopOverride) {
        this.server = server;
        this.sessionId = server.nextSessionId();
        this.loopOverride = loopOverride;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        this.ctx = ctx;
        this.loop = loopOverride != null ? loopOverride : ctx.executor();
        SocketAddress remote = ctx.channel().remoteAddress();
        // Real sockets give an InetSocketAddress; an in-memory channel (tests) counts as loopback.
        InetAddress peer = remote instanceof InetSocketAddress inet ? inet.getAddress() : InetAddress.getLoopbackAddress();
        peerName = String.valueOf(remote);
        handshake = new Handshake(server, peer, sessionId);
        server.stats().sessions.incrementAndGet();
        server.register(this);
        if (handshake.admit() != null) {
            closing = true;
            ctx.close();
            return;
        }
        handshakeTimer = ctx.executor().schedule(() -> {
            if (streams == null) {
                server.peerStats().handshakeTimeouts.increment();
                server.peerLog().warn("handshake-timeout", "connections closed: handshake not completed within "
                        + server.handshakeTimeoutMillis() + " ms, latest " + peerName);
                ctx.close();
            }
        }, server.handshakeTimeoutMillis(), TimeUnit.MILLISECONDS);
        ctx.fireChannelActive();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        server.stats().sessions.decrementAndGet();
        server.unregister(this);
        if (handshake != null) {
            handshake.leave();
        }
        if (handshakeTimer != null) {
            handshakeTimer.cancel(false);
        }
        if (streams != null) {
            streams.detachAll();
        }
        ctx.fireChannelInactive();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        try {
            if (closing) {
                return;
            }
            Frame frame = (Frame) msg;
            if (streams != null) {
                streams.onFrame(frame);
            } else {
                onHandshakeFrame(frame);
            }
        } catch (ProtocolException e) {
            reject(e);
        } finally {
            ReferenceCountUtil.release(msg);
        }
    }

    private void onHandshakeFrame(Frame frame) throws ProtocolException {
        Frame reply = handshake.onFrame(frame);
        FrameDecoder decoder = ctx.pipeline().get(FrameDecoder.class);
        if (reply instanceof Frames.Challenge) {
            decoder.setVersion(handshake.version());
        } else {
            handshakeTimer.cancel(false);
            streams = new DiskStreams(server, this, handshake.version(), handshake.clockOffsetMicros());
            decoder.setMaxFrameLength(server.maxFrameLength());
        }
        ctx.writeAndFlush(reply);
        if (streams != null) {
            LOG.info(() -> "session " + sessionId + " authenticated from " + peerName);
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        Throwable c = cause instanceof DecoderException && cause.getCause() != null ? cause.getCause() : cause;
        if (c instanceof ProtocolException pe) {
            reject(pe);
            return;
        }
        if (c instanceof SSLException || c instanceof IOException) {
            LOG.fine(() -> peerName + ": " + c);
            ctx.close();
            return;
        }
        LOG.log(Level.WARNING, "unexpected error on session with " + peerName + "; closing it", c);
        server.stats().rejected(ErrorCode.INTERNAL);
        sendError(ErrorCode.INTERNAL, Protocol.NO_HANDLE, 0, "internal error: " + c.getClass().getSimpleName());
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
        if (evt instanceof IdleStateEvent && streams != null && !closing) {
            server.peerStats().idleTimeouts.increment();
            server.peerLog().warn("idle", "authenticated sessions closed: nothing received for "
                    + server.idleTimeoutMillis() / 1000 + " s (a process server sends PING when idle), latest "
                    + peerName);
            closing = true;
            ctx.close();
            return;
        }
        if (evt instanceof IdleStateEvent) {
            return; // before AUTH_OK the handshake timer decides
        }
        super.userEventTriggered(ctx, evt);
    }

    // ---------------------------------------------------------------- errors and shutdown

    private void reject(ProtocolException e) {
        server.stats().rejected(e.code());
        // Framing errors are the connection's, never a handle's (SPEC.md §3).
        boolean framing = e.code() == ErrorCode.MALFORMED_FRAME || e.code() == ErrorCode.FRAME_TOO_LARGE
                || e.code() == ErrorCode.UNKNOWN_FRAME_TYPE;
        sendError(e.code(), framing ? Protocol.NO_HANDLE : e.handle(), framing ? 0 : e.seq(), e.getMessage());
    }

    @Override
    public void sendError(ErrorCode code, int handle, long seq, String message) {
        if (closing) {
            return;
        }
        Frames.Error err = Frames.Error.of(code, handle, seq, message);
        if (code.fatal()) {
            closing = true;
            ctx.writeAndFlush(err).addListener(f -> lingerClose());
        } else {
            ctx.writeAndFlush(err);
        }
    }

    /**
     * Closes after a fatal ERROR without losing it (SPEC.md §3, §6.8): the ERROR is the last frame; then TLS
     * close_notify and a half-close (FIN), and the input is read and discarded until the peer closes or
     * {@link DataServer#LINGER_MILLIS} pass. Closing at once with unread input would make the kernel reset the
     * connection and drop whatever of the ERROR was still unsent.
     */
    private void lingerClose() {
        ChannelPipeline p = ctx.pipeline();
        if (p.get("frames") != null) {
            p.replace("frames", "discard", new DiscardInbound());
        }
        ctx.channel().config().setAutoRead(true);
        ctx.executor().schedule(() -> ctx.close(), DataServer.LINGER_MILLIS, TimeUnit.MILLISECONDS);
        SslHandler tls = p.get(SslHandler.class);
        if (tls != null) {
            tls.closeOutbound().addListener(f -> shutdownOutput());
        } else {
            shutdownOutput();
        }
    }

    private void shutdownOutput() {
        if (ctx.channel() instanceof DuplexChannel duplex) {
            duplex.shutdownOutput();
        } else {
            ctx.close();
        }
    }

    /** Releases whatever arrives after a fatal ERROR. */
    private static final class DiscardInbound extends ChannelInboundHandlerAdapter {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ReferenceCountUtil.release(msg);
        }
    }

    /** Clean shutdown, on the event loop: acks were already flushed by the caller; say goodbye and close. */
    void shutdown() {
        loop.execute(() -> {
            if (streams != null) {
                streams.flushAcks();
            }
            sendError(ErrorCode.SHUTTING_DOWN, Protocol.NO_HANDLE, 0, "agent is shutting down; reconnect and resume later");
        });
    }

    /** Stops reading from the socket (shutdown and the global cache cap); thread-safe. */
    void setReading(boolean reading) {
        ctx.channel().config().setAutoRead(reading);
    }

    // ---------------------------------------------------------------- SessionOutput, for the stream logic

    @Override
    public void write(Frame frame) {
        ctx.write(frame);
    }

    @Override
    public void flush() {
        ctx.flush();
    }

    @Override
    public void send(Frame frame) {
        ctx.writeAndFlush(frame);
    }

    @Override
    public boolean closing() {
        return closing;
    }

    @Override
    public Executor loop() {
        return loop;
    }

    @Override
    public boolean writable() {
        return ctx.channel().isWritable();
    }

    @Override
    public boolean active() {
        return ctx.channel().isActive();
    }

    @Override
    public void parkReading() {
        server.cacheBudget().park(this);
    }
}
