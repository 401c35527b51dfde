package io.mtagent.agent.recovery;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
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
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.ssl.SslContext;
import java.io.Closeable;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.logging.Logger;

/**
 * A read-only NBD server (NetworkBlockDevice/nbd {@code doc/proto.md}) for point-in-time views: the
 * non-disruptive test failover. {@code qemu-img convert -f raw nbd://127.0.0.1:10809/disk-0@seq:1234 out.raw},
 * {@code nbdcopy} or {@code nbd-client} read a view while replication carries on.
 *
 * <p>Protocol subset: fixed newstyle negotiation (flags FIXED_NEWSTYLE | NO_ZEROES); options
 * {@code NBD_OPT_GO}, {@code NBD_OPT_INFO} (NBD_INFO_EXPORT with HAS_FLAGS | READ_ONLY | SEND_FLUSH |
 * CAN_MULTI_CONN, NBD_INFO_BLOCK_SIZE 512 / 4096 / 32 MiB, NAME and DESCRIPTION on request),
 * {@code NBD_OPT_LIST}, {@code NBD_OPT_ABORT}, {@code NBD_OPT_EXPORT_NAME}, {@code NBD_OPT_STARTTLS}; every
 * other option gets NBD_REP_ERR_UNSUP (so no structured replies: simple replies only). Commands: READ (any
 * alignment, at most 32 MiB, inside the export, else EINVAL), FLUSH and CACHE (no-ops), DISC; WRITE, TRIM and
 * WRITE_ZEROES get EPERM. The empty export name selects the only export when there is exactly one.
 *
 * <p>Security: plain NBD only on a loopback address. On any other address {@link #start} refuses unless a TLS
 * context is given, and then every client must upgrade with NBD_OPT_STARTTLS before any other option
 * (FORCEDTLS mode). On loopback a configured TLS context is offered but not required. TLS here authenticates
 * the server only: anyone who can reach a non-loopback port can read the exports.
 *
 * <p>Thread-safety: exports may be added and removed from any thread; a removed export stays readable by the
 * connections already reading it until they disconnect (their leases keep the view open).
 */
public final class NbdServer implements Closeable {
    private static final Logger LOG = Logger.getLogger(NbdServer.class.getName());
    /** Bytes of read buffers all connections may hold together (each read takes up to 32 MiB + alignment). */
    static final int READ_BUDGET_BYTES = 96 << 20;

    private final InetSocketAddress listen;
    private final SslContext tls;
    private final int maxConnections;
    private final Map<String, NbdExport> exports = new ConcurrentHashMap<>();
    private final Set<NbdSession> sessions = ConcurrentHashMap.newKeySet();
    private final AtomicInteger connections = new AtomicInteger();
    private final Semaphore readBudget = new Semaphore(READ_BUDGET_BYTES);
    private EventLoopGroup group;
    private ExecutorService readExecutor;
    private Channel serverChannel;

    /**
     * @param listen where to listen (port 0 picks a free port)
     * @param tls the server TLS context ({@code AgentIdentity.serverSslContext()}), or null for plain NBD, which
     *            is only allowed on a loopback address
     * @param maxConnections connections served at once; more are closed at once
     */
    public NbdServer(InetSocketAddress listen, SslContext tls, int maxConnections) {
        this.listen = listen;
        this.tls = tls;
        this.maxConnections = maxConnections;
    }

    /** Binds; refuses a non-loopback address without TLS. */
    public synchronized NbdServer start() throws InterruptedException {
        if (listen.isUnresolved()) {
            throw new IllegalStateException("nbd.listen: cannot resolve host '" + listen.getHostString() + "'");
        }
        boolean loopback = listen.getAddress().isLoopbackAddress();
        if (!loopback && tls == null) {
            throw new IllegalStateException("nbd.listen=" + listen.getHostString() + ":" + listen.getPort()
                    + " is not a loopback address and no TLS context is configured: plain NBD would send disk"
                    + " contents in clear to anyone on the network. Use nbd.listen=127.0.0.1:10809 (reach it"
                    + " remotely through an SSH tunnel) or run the server with TLS.");
        }
        boolean tlsRequired = !loopback;
        boolean epoll = Epoll.isAvailable();
        IoHandlerFactory factory = epoll ? EpollIoHandler.newFactory() : NioIoHandler.newFactory();
        Class<? extends ServerChannel> channelClass = epoll ? EpollServerSocketChannel.class
                : NioServerSocketChannel.class;
        group = new MultiThreadIoEventLoopGroup(1, factory);
        AtomicInteger threads = new AtomicInteger();
        readExecutor = Executors.newFixedThreadPool(4, r -> {
            Thread t = new Thread(r, "nbd-read-" + threads.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        ServerBootstrap b = new ServerBootstrap().group(group).channel(channelClass)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        if (connections.incrementAndGet() > maxConnections) {
                            connections.decrementAndGet();
                            LOG.warning(() -> "NBD: refusing " + ch.remoteAddress() + ": " + maxConnections
                                    + " connections are open already");
                            ch.close();
                            return;
                        }
                        NbdDecoder decoder = new NbdDecoder();
                        NbdSession session = new NbdSession(NbdServer.this, decoder, tls, tlsRequired, readExecutor,
                                readBudget);
                        sessions.add(session);
                        ch.pipeline().addLast("nbd-decoder", decoder).addLast("nbd-session", session);
                    }
                });
        try {
            serverChannel = b.bind(listen).sync().channel();
        } catch (RuntimeException | InterruptedException e) {
            close();
            throw e;
        }
        LOG.info(() -> "NBD server (read-only) listening on " + address() + (tls == null ? ", plain (loopback)"
                : tlsRequired ? ", STARTTLS required" : ", STARTTLS offered"));
        return this;
    }

    /** The bound address (with the real port when 0 was asked for). */
    public InetSocketAddress address() {
        return (InetSocketAddress) serverChannel.localAddress();
    }

    /** Adds (or replaces) an export under its name. */
    public void addExport(NbdExport export) {
        exports.put(export.name(), export);
    }

    /** Removes an export for new clients; connected clients keep reading it until they disconnect. */
    public NbdExport removeExport(String name) {
        return exports.remove(name);
    }

    /** Current exports (a copy). */
    public List<NbdExport> exports() {
        return new ArrayList<>(exports.values());
    }

    /** How many connections are reading {@code exportName} right now (it is pinned while this is above 0). */
    public int readers(String exportName) {
        int n = 0;
        for (NbdSession s : sessions) {
            NbdExport e = s.export();
            if (e != null && e.name().equals(exportName)) {
                n++;
            }
        }
        return n;
    }

    /** The export for a client's name; "" selects the only export when there is exactly one. */
    NbdExport find(String name) {
        if (name.isEmpty()) {
            List<NbdExport> all = exports();
            return all.size() == 1 ? all.get(0) : null;
        }
        return exports.get(name);
    }

    void sessionClosed(NbdSession session) {
        if (sessions.remove(session)) {
            connections.decrementAndGet();
        }
    }

    /** Closes the listening socket and every connection (their leases are released). */
    @Override
    public synchronized void close() {
        if (serverChannel != null) {
            serverChannel.close().syncUninterruptibly();
        }
        if (group != null) {
            group.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
        }
        if (readExecutor != null) {
            readExecutor.shutdown();
        }
    }
}
