package io.mtagent.agent.recovery;

import io.mtagent.agent.security.ConnectionAdmission;
import io.mtagent.agent.security.PeerStats;
import io.mtagent.agent.security.RateLimitedLog;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollDomainSocketChannel;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerDomainSocketChannel;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerDomainSocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.unix.DomainSocketAddress;
import io.netty.handler.ssl.SslContext;
import java.io.Closeable;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.UnixDomainSocketAddress;
import java.nio.file.Path;
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
 * non-disruptive test failover. {@code qemu-img convert -f raw 'nbd+unix:///disk-0@seq:1234?socket=/var/lib/mtagent/nbd.sock'
 * out.raw}, {@code nbdcopy} or {@code nbd-client} read a view while replication carries on.
 *
 * <p>Protocol subset: fixed newstyle negotiation (flags FIXED_NEWSTYLE | NO_ZEROES); options
 * {@code NBD_OPT_GO}, {@code NBD_OPT_INFO} (NBD_INFO_EXPORT with HAS_FLAGS | READ_ONLY | SEND_FLUSH |
 * CAN_MULTI_CONN, NBD_INFO_BLOCK_SIZE 512 / 4096 / 32 MiB, NAME and DESCRIPTION on request),
 * {@code NBD_OPT_LIST}, {@code NBD_OPT_ABORT}, {@code NBD_OPT_EXPORT_NAME}, {@code NBD_OPT_STARTTLS}; every
 * other option gets NBD_REP_ERR_UNSUP (so no structured replies: simple replies only). Commands: READ (any
 * alignment, at most 32 MiB, inside the export, else EINVAL), FLUSH and CACHE (no-ops), DISC; WRITE, TRIM and
 * WRITE_ZEROES get EPERM. The empty export name selects the only export when there is exactly one.
 *
 * <p>Security (docs/ARCHITECTURE.md, "Hostile neighbours"): readers are authenticated by the way in ({@link NbdListener}): a
 * Unix socket only the agent's user (or a configured group) may connect to, a TCP port where every client must
 * upgrade with NBD_OPT_STARTTLS (FORCEDTLS) and present a client certificate the TLS context trusts, or, only when
 * explicitly configured, plain NBD on a loopback address. Every connection must finish its handshake within a
 * fixed deadline and is closed after an idle time-out ({@link NbdConnectionGuard}); {@link ConnectionAdmission}
 * caps the connections overall and per peer and evicts the oldest pending handshake first, so idle connections
 * cannot keep a real reader out.
 *
 * <p>Thread-safety: exports may be added and removed from any thread; a removed export stays readable by the
 * connections already reading it until they disconnect (their leases keep the view open).
 */
public final class NbdServer implements Closeable {
    private static final Logger LOG = Logger.getLogger(NbdServer.class.getName());
    /** Bytes of read buffers all connections may hold together (each read takes up to 32 MiB + alignment). */
    static final int READ_BUDGET_BYTES = 96 << 20;

    private final List<NbdListener> listeners;
    private final NbdLimits limits;
    private final Map<String, NbdExport> exports = new ConcurrentHashMap<>();
    private final Set<NbdSession> sessions = ConcurrentHashMap.newKeySet();
    private final Semaphore readBudget = new Semaphore(READ_BUDGET_BYTES);
    private final PeerStats peerStats = new PeerStats();
    private final RateLimitedLog peerLog = new RateLimitedLog(System.getLogger(NbdServer.class.getName()));
    private final ConnectionAdmission admission;
    private final List<Channel> serverChannels = new ArrayList<>();
    private final List<NbdEndpoint> endpoints = new ArrayList<>();
    private EventLoopGroup group;
    private ExecutorService readExecutor;

    /** Where a listener ended up: the kind and the bound address (the real port when 0 was asked for). */
    public record NbdEndpoint(NbdListener.Kind kind, InetSocketAddress address, Path socket) {
    }

    /**
     * @param listeners the ways in (none: the server serves nobody)
     * @param limits    deadlines and connection caps
     */
    public NbdServer(List<NbdListener> listeners, NbdLimits limits) {
        this.listeners = List.copyOf(listeners);
        this.limits = limits;
        this.admission = new ConnectionAdmission(limits.maxOpen(), limits.maxOpenPerPeer(), limits.maxPending(),
                limits.maxPendingPerPeer(), peerStats);
    }

    /**
     * One TCP listener with the default limits: plain NBD when {@code tls} is null (loopback only), else STARTTLS
     * required with {@code tls} (which decides whether client certificates are required).
     *
     * @param maxConnections connections served at once; more are closed at once
     */
    public NbdServer(InetSocketAddress listen, SslContext tls, int maxConnections) {
        this(List.of(tls == null ? NbdListener.plain(listen) : NbdListener.tls(listen, tls)),
                NbdLimits.defaults().withMaxOpen(maxConnections));
    }

    /** Binds every listener; refuses plain NBD off loopback. */
    public synchronized NbdServer start() throws InterruptedException, IOException {
        boolean epoll = Epoll.isAvailable();
        IoHandlerFactory factory = epoll ? EpollIoHandler.newFactory() : NioIoHandler.newFactory();
        group = new MultiThreadIoEventLoopGroup(1, factory);
        AtomicInteger threads = new AtomicInteger();
        readExecutor = Executors.newFixedThreadPool(4, r -> {
            Thread t = new Thread(r, "nbd-read-" + threads.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        try {
            for (NbdListener listener : listeners) {
                bind(listener, epoll);
            }
        } catch (RuntimeException | InterruptedException | IOException e) {
            close();
            throw e;
        }
        return this;
    }

    private void bind(NbdListener listener, boolean epoll) throws InterruptedException, IOException {
        ServerBootstrap b = new ServerBootstrap().group(group).childHandler(new ChannelInitializer<Channel>() {
            @Override
            protected void initChannel(Channel ch) {
                accept(ch, listener);
            }
        });
        if (listener.kind() == NbdListener.Kind.UNIX) {
            NbdUnixSocket.prepare(listener.socket());
            b.channel(epoll ? EpollServerDomainSocketChannel.class : NioServerDomainSocketChannel.class);
            SocketAddress address = epoll ? new DomainSocketAddress(listener.socket().toFile())
                    : UnixDomainSocketAddress.of(listener.socket());
            Channel bound = b.bind(address).sync().channel();
            serverChannels.add(bound);
            NbdUnixSocket.restrict(listener.socket(), listener.socketGroup());
            endpoints.add(new NbdEndpoint(NbdListener.Kind.UNIX, null, listener.socket()));
            LOG.info(() -> "NBD server (read-only) listening on the Unix socket " + listener.socket() + " (mode "
                    + (listener.socketGroup().isPresent() ? "0660, group " + listener.socketGroup().get() : "0600")
                    + ")");
            return;
        }
        InetSocketAddress listen = listener.address();
        if (listen.isUnresolved()) {
            throw new IllegalStateException("nbd.listen: cannot resolve host '" + listen.getHostString() + "'");
        }
        if (listener.kind() == NbdListener.Kind.PLAIN && !listen.getAddress().isLoopbackAddress()) {
            throw new IllegalStateException("nbd.listen=" + listen.getHostString() + ":" + listen.getPort()
                    + " is not a loopback address and nbd.insecure.plaintext=true: plain NBD would send disk"
                    + " contents in clear to anyone on the network. Remove nbd.insecure.plaintext (readers then"
                    + " need TLS client certificates: mtagent nbd client-cert) or listen on 127.0.0.1.");
        }
        b.channel(epoll ? EpollServerSocketChannel.class : NioServerSocketChannel.class)
                .childOption(ChannelOption.TCP_NODELAY, true);
        Channel bound = b.bind(listen).sync().channel();
        serverChannels.add(bound);
        InetSocketAddress at = (InetSocketAddress) bound.localAddress();
        endpoints.add(new NbdEndpoint(listener.kind(), at, null));
        if (listener.kind() == NbdListener.Kind.PLAIN) {
            LOG.warning(() -> "NBD server (read-only) listening on " + at + " in PLAIN NBD (nbd.insecure.plaintext"
                    + "=true): every local user can read every served point; use nbd.socket or TLS client"
                    + " certificates instead");
        } else {
            LOG.info(() -> "NBD server (read-only) listening on " + at + ", TLS with client certificates required");
        }
    }

    private void accept(Channel ch, NbdListener listener) {
        if (!admission.admit(ch, peerOf(ch))) {
            peerLog.warn("nbd-refused", "NBD: refusing " + describe(ch) + ": " + admission.open()
                    + " connections are open already (at most " + limits.maxOpen() + ", " + limits.maxOpenPerPeer()
                    + " per peer)");
            return;
        }
        NbdDecoder decoder = new NbdDecoder();
        NbdSession session = new NbdSession(this, decoder, listener.tls(), listener.kind() == NbdListener.Kind.TLS,
                readExecutor, readBudget);
        sessions.add(session);
        ch.closeFuture().addListener(f -> sessions.remove(session));
        ch.pipeline().addLast(NbdConnectionGuard.NAME, new NbdConnectionGuard(limits.handshakeTimeout().toMillis(),
                        limits.idleTimeout().toMillis(), peerStats, peerLog))
                .addLast("nbd-decoder", decoder).addLast("nbd-session", session);
    }

    /** The remote IP address, or on the Unix socket the connecting user (where the epoll transport tells it). */
    private static Object peerOf(Channel ch) {
        if (ch.remoteAddress() instanceof InetSocketAddress inet) {
            return inet.getAddress();
        }
        if (ch instanceof EpollDomainSocketChannel domain) {
            try {
                return "uid " + domain.peerCredentials().uid();
            } catch (IOException e) {
                return "local";
            }
        }
        return "local";
    }

    static String describe(Channel ch) {
        Object peer = peerOf(ch);
        return peer instanceof InetAddress ? String.valueOf(ch.remoteAddress()) : "local " + peer;
    }

    /** The client of {@code ch} chose an export: its handshake deadline is off and it cannot be evicted. */
    void transmissionStarted(Channel ch) {
        admission.handshakeComplete(ch);
        NbdConnectionGuard guard = ch.pipeline().get(NbdConnectionGuard.class);
        if (guard != null) {
            guard.transmissionStarted();
        }
    }

    /** The bound address of the first TCP listener, or null when there is none. */
    public InetSocketAddress address() {
        return endpoints().stream().filter(e -> e.address() != null).map(NbdEndpoint::address).findFirst()
                .orElse(null);
    }

    /** Where the listeners are bound, in the order they were given. */
    public synchronized List<NbdEndpoint> endpoints() {
        return List.copyOf(endpoints);
    }

    /** What the NBD ports refused or cut off (caps, handshake deadlines, idle time-outs). */
    public PeerStats peerStats() {
        return peerStats;
    }

    /** Throttled log lines about peers (refusals, deadlines, disconnects). */
    RateLimitedLog peerLog() {
        return peerLog;
    }

    /** Connections open right now, all listeners together. */
    public int openConnections() {
        return admission.open();
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
        sessions.remove(session);
    }

    /** Closes the listening socket and every connection (their leases are released). */
    @Override
    public synchronized void close() {
        for (Channel c : serverChannels) {
            c.close().syncUninterruptibly();
        }
        serverChannels.clear();
        for (NbdEndpoint e : endpoints) {
            if (e.socket() != null) {
                NbdUnixSocket.remove(e.socket());
            }
        }
        if (group != null) {
            group.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
        }
        if (readExecutor != null) {
            readExecutor.shutdown();
        }
    }
}
