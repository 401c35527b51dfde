package io.mtagent.agent.server;

import io.mtagent.agent.disk.CacheBudget;
import io.mtagent.agent.disk.DiskRegistry;
import io.mtagent.agent.security.AuthFailureLimiter;
import io.mtagent.agent.security.PassphraseStore;
import io.mtagent.agent.security.PeerStats;
import io.mtagent.protocol.FrameDecoder;
import io.mtagent.protocol.FrameEncoder;
import io.mtagent.protocol.Protocol;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.flush.FlushConsolidationHandler;
import io.netty.handler.ssl.ReferenceCountedOpenSslContext;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.timeout.IdleStateHandler;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.logging.Logger;

/**
 * The 9443 data server: Netty (epoll where it loads, NIO otherwise) with the named pipeline
 * {@code tls-detect/tls → flush → frames → encoder → session}. The frame decoder's cap is 1 KiB until a session
 * authenticates (SPEC.md §3), so unauthenticated peers cannot make the agent buffer more than that.
 *
 * <p>Lifecycle: {@link #start()} binds; {@link #stopAccepting()} closes the listening socket and pauses reads;
 * {@link #closeSessions()} says SHUTTING_DOWN to every session after the caller made all accepted data durable.
 * Thread-safe.
 */
public final class DataServer implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(DataServer.class.getName());

    private final InetSocketAddress listen;
    private final SslContext sslContext;
    private final DataServerContext context;
    private final EventLoopGroup boss;
    private final EventLoopGroup workers;
    private final Class<? extends ServerChannel> channelClass;
    private Channel serverChannel;

    /**
     * @param sslContext the server TLS context, or null for the explicit insecure plaintext test mode
     * @param fingerprint SHA-256 of our certificate (ignored in plaintext mode, where 32 zero bytes are used)
     */
    public DataServer(InetSocketAddress listen, SslContext sslContext, byte[] fingerprint, String agentName,
                      PassphraseStore passphrase, AuthFailureLimiter limiter, DiskRegistry disks, CacheBudget cacheBudget,
                      int maxWriteBytes, int creditWindow, DataServerStats stats, int ioThreads) {
        this.listen = listen;
        this.sslContext = sslContext;
        this.context = new DataServerContext(agentName, sslContext == null ? new byte[32] : fingerprint, passphrase,
                limiter, disks, cacheBudget, maxWriteBytes, creditWindow, 10_000, stats);
        boolean epoll = Epoll.isAvailable();
        IoHandlerFactory factory = epoll ? EpollIoHandler.newFactory() : NioIoHandler.newFactory();
        this.channelClass = epoll ? EpollServerSocketChannel.class : NioServerSocketChannel.class;
        this.boss = new MultiThreadIoEventLoopGroup(1, factory);
        this.workers = new MultiThreadIoEventLoopGroup(ioThreads, factory);
        cacheBudget.bind(s -> ((ServerSession) s).setReading(false), s -> ((ServerSession) s).setReading(true));
        LOG.fine(() -> "data server transport: " + (epoll ? "epoll" : "nio"));
    }

    /** Binds the listening socket; returns the bound address (the real port when 0 was asked for). */
    public InetSocketAddress start() throws InterruptedException {
        ServerBootstrap b = new ServerBootstrap().group(boss, workers).channel(channelClass)
                .option(ChannelOption.SO_BACKLOG, 256)
                .option(ChannelOption.SO_REUSEADDR, true)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        if (sslContext != null) {
                            ch.pipeline().addLast("tls-detect", new TlsRequiredHandler(sslContext,
                                    context.stats().plaintextRefused::increment,
                                    context.stats().handshakeFailures::increment));
                        }
                        ch.pipeline().addLast("flush", new FlushConsolidationHandler(256, true));
                        ch.pipeline().addLast("idle", new IdleStateHandler(context.idleTimeoutMillis(), 0, 0,
                                TimeUnit.MILLISECONDS));
                        ch.pipeline().addLast("frames", new FrameDecoder(Protocol.HANDSHAKE_MAX_FRAME_LENGTH));
                        ch.pipeline().addLast("encoder", FrameEncoder.INSTANCE);
                        ch.pipeline().addLast("session", new ServerSession(context));
                    }
                });
        serverChannel = b.bind(listen).sync().channel();
        InetSocketAddress bound = (InetSocketAddress) serverChannel.localAddress();
        String tls = sslContext instanceof ReferenceCountedOpenSslContext ? "BoringSSL" : "JDK";
        LOG.info(() -> "data server listening on " + bound + (sslContext == null
                ? " WITHOUT TLS (data.insecure.plaintext=true: test use only)" : " (TLS, " + tls + ")"));
        return bound;
    }

    public InetSocketAddress boundAddress() {
        return (InetSocketAddress) serverChannel.localAddress();
    }

    public boolean isListening() {
        return serverChannel != null && serverChannel.isActive();
    }

    public DataServerStats stats() {
        return context.stats();
    }

    /** What this port refused or cut off (connection caps, handshake time-outs, proofs refused unchecked). */
    public PeerStats peerStats() {
        return context.peerStats();
    }

    public int sessionCount() {
        return context.sessions().size();
    }

    /** A session handler sharing this server's context, for in-memory channels (the pipeline fuzz test). */
    public ChannelHandler newSessionHandler() {
        return new ServerSession(context);
    }

    /**
     * A session handler sharing this server's context whose disk and hash-worker callbacks run on {@code loop}
     * instead of the channel's event loop: an in-memory channel's event loop is not thread-safe, so a test runs
     * those tasks on its own thread.
     */
    ChannelHandler newSessionHandler(Executor loop) {
        return new ServerSession(context, loop);
    }

    /** Shutdown step 1: no new connections, no more frames read from existing ones. */
    public void stopAccepting() {
        if (serverChannel != null) {
            serverChannel.close().syncUninterruptibly();
        }
        for (ServerSession s : context.sessions()) {
            s.setReading(false);
        }
    }

    /**
     * Shutdown step 3 (after the ingest logs are flushed): final ACKs, SHUTTING_DOWN, close. Waits up to
     * {@link #LINGER_MILLIS} for the sessions to end, because each one half-closes and drains its input before it
     * closes (a close with unread input would reset the connection and drop the unsent SHUTTING_DOWN).
     */
    public void closeSessions() {
        for (ServerSession s : context.sessions()) {
            s.shutdown();
        }
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(LINGER_MILLIS + 500);
        while (!context.sessions().isEmpty() && System.nanoTime() < deadline) {
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    /**
     * How long a session that sent a fatal ERROR keeps reading (and discarding) before it closes, so the ERROR is
     * delivered (SPEC.md §6.8). The peer normally closes first, on reading the ERROR.
     */
    static final long LINGER_MILLIS = 2_000;

    /** Closes authenticated sessions that received nothing for {@code timeout} (SPEC.md §5.14); before start. */
    public void idleTimeout(Duration timeout) {
        context.idleTimeoutMillis(timeout.toMillis());
    }

    /**
     * Uses {@code service} for CHECKSUM_REQUESTs (its worker count and rate come from the configuration, keys
     * {@code resync.hash.*}); call before {@link #start}. The server closes it.
     */
    public void useChecksumService(ChecksumService service) {
        context.checksums(service);
    }

    @Override
    public void close() {
        context.checksums().close();
        stopAccepting();
        workers.shutdownGracefully(100, 2000, TimeUnit.MILLISECONDS).syncUninterruptibly();
        boss.shutdownGracefully(0, 1000, TimeUnit.MILLISECONDS).syncUninterruptibly();
    }
}
