package io.mtagent.agent.control;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.mtagent.agent.disk.DiskStats;
import io.mtagent.agent.disk.ReplicatedDisk;
import io.mtagent.agent.security.ConnectionAdmission;
import io.mtagent.agent.security.ControlToken;
import io.mtagent.agent.security.PeerStats;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpServerCodec;
import io.mtagent.agent.security.RateLimitedLog;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.logging.Logger;

/**
 * The HTTPS control server (default 127.0.0.1:9444): Netty's HTTP/1.1 codec over TLS with the agent's
 * certificate, pipeline {@code tls → http → metrics → gate → aggregate (8 KiB cap: larger bodies get 413) →
 * control}. The gate ({@link RequestGate}) authenticates on the request line and headers before any body is read
 * and enforces a fixed header deadline; {@link ConnectionAdmission} caps the connections. Its own event-loop thread,
 * heap-only allocator and worker threads keep it from taking memory or threads from replication. Requests are
 * handled on a small worker pool, never on the event loop, because releasing a disk waits for its applier;
 * {@code /health} has a thread of its own.
 * A sampler thread records the disks' byte counters once a second for the rates and forecasts, and refreshes
 * which per-disk series {@link AgentMetrics} exports.
 *
 * <p>Lifecycle: {@link #start()} binds, {@link #close()} stops everything. Thread-safe.
 */
public final class ControlServer implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(ControlServer.class.getName());
    private static final RateLimitedLog PLAINTEXT_LOG = new RateLimitedLog(System.getLogger(ControlServer.class.getName()));
    /** Largest request body: control calls are small JSON documents (a few hundred bytes). */
    static final int MAX_CONTENT_LENGTH = 8 * 1024;
    /** Request headers (TLS included) must arrive within this of the accept, or of the previous response. */
    static final long HEADER_DEADLINE_MILLIS = 10_000;
    static final int MAX_OPEN_CONNECTIONS = 256;
    static final int MAX_PENDING_CONNECTIONS = 64;
    static final int MAX_PENDING_PER_ADDRESS = 32;
    /**
     * Heap buffers, unpooled: the control plane's memory is bounded by its caps (connections, headers, 8 KiB
     * bodies) and never draws on the direct memory and pooled arenas replication uses.
     */
    private static final ByteBufAllocator ALLOCATOR = new UnpooledByteBufAllocator(false);

    private final InetSocketAddress listen;
    private final SslContext sslContext;
    private final ControlHandler.Context context;
    private final EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    private final ExecutorService workers = Executors.newFixedThreadPool(2, r -> daemon(r, "control-worker"));
    private final ExecutorService healthWorker = Executors.newSingleThreadExecutor(r -> daemon(r, "control-health"));
    private final PeerStats peerStats = new PeerStats();
    private final ConnectionAdmission admission = new ConnectionAdmission(MAX_OPEN_CONNECTIONS, MAX_OPEN_CONNECTIONS,
            MAX_PENDING_CONNECTIONS, MAX_PENDING_PER_ADDRESS, peerStats);
    private final ControlToken token;
    private final ScheduledExecutorService sampler = Executors.newSingleThreadScheduledExecutor(
            r -> daemon(r, "control-sampler"));
    private final RateTracker rates = new RateTracker(30);
    private final ControlServerStats stats = new ControlServerStats();
    private final AgentMetrics metrics;
    private final ControlledAgent agent;
    private final StatusReport report;
    private final Jobs jobs = new Jobs();
    private final RecoveryApi recovery;
    private Channel channel;

    public ControlServer(ControlledAgent agent, SslContext sslContext, ControlToken token, RuntimeSettings settings,
                         MeterRegistry registry) {
        this.agent = agent;
        this.listen = agent.config().controlListen().toSocketAddress();
        this.sslContext = sslContext;
        this.token = token;
        this.report = new StatusReport(agent, settings, rates, jobs::documents);
        this.recovery = new RecoveryApi(agent, jobs);
        ObjectMapper json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
        this.context = new ControlHandler.Context(agent, report, token, json, workers,
                registry instanceof PrometheusMeterRegistry p ? p : null, agent.config().controlOpenHealth(),
                agent.config().controlOpenMetrics(), recovery, jobs, healthWorker);
        // Before the first scrape can come: every series that is known (the RPO after a restart) is there at once.
        this.metrics = new AgentMetrics(agent, report, jobs, stats, registry);
    }

    private static Thread daemon(Runnable r, String name) {
        Thread t = new Thread(r, name);
        t.setDaemon(true);
        return t;
    }

    public StatusReport report() {
        return report;
    }

    /** Binds; returns the bound address (the real port when 0 was asked for). */
    public InetSocketAddress start() throws InterruptedException {
        ServerBootstrap b = new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
                .option(ChannelOption.SO_REUSEADDR, true)
                .option(ChannelOption.SO_BACKLOG, 128)
                .childOption(ChannelOption.ALLOCATOR, ALLOCATOR)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        InetAddress peer = ch.remoteAddress() != null ? ch.remoteAddress().getAddress()
                                : InetAddress.getLoopbackAddress();
                        if (!admission.admit(ch, peer)) {
                            return;
                        }
                        SslHandler tls = sslContext.newHandler(ch.alloc());
                        stats.watch(tls);
                        ch.pipeline().addLast("https-required", new HttpsRequiredHandler(ch.localAddress().getPort(),
                                () -> PLAINTEXT_LOG.warn("plaintext", "plain-HTTP request(s) on the control port"
                                        + " answered 400 (it speaks HTTPS only); last from " + ch.remoteAddress())));
                        ch.pipeline().addLast("tls", tls);
                        ch.pipeline().addLast("http", new HttpServerCodec(4096, 8192, 8192));
                        ch.pipeline().addLast("metrics", stats.handler()); // connections and 401s
                        // Before the aggregator: decides on the headers, so no unauthenticated body is read.
                        ch.pipeline().addLast("gate", new RequestGate(token, agent.config().controlOpenHealth(),
                                agent.config().controlOpenMetrics(), MAX_CONTENT_LENGTH, HEADER_DEADLINE_MILLIS,
                                admission, peerStats));
                        ch.pipeline().addLast("aggregate", new HttpObjectAggregator(MAX_CONTENT_LENGTH));
                        ch.pipeline().addLast("control", new ControlHandler(context));
                    }
                });
        channel = b.bind(listen).sync().channel();
        sampler.scheduleAtFixedRate(this::sample, 0, 1, TimeUnit.SECONDS);
        InetSocketAddress bound = (InetSocketAddress) channel.localAddress();
        LOG.info(() -> "control server listening on https://" + bound.getHostString() + ":" + bound.getPort());
        return bound;
    }

    /** Once a second: the disks' counters for the rates and forecasts, and which per-disk series exist. */
    private void sample() {
        try {
            long now = System.nanoTime();
            for (ReplicatedDisk d : agent.disks().all()) {
                DiskStats s = d.stats();
                rates.sample(d.id(), now, s.bytesReceived(), s.bytesApplied(), d.backlogBytes());
            }
            metrics.refresh();
        } catch (RuntimeException e) {
            LOG.fine(() -> "rate sampling failed: " + e);
        }
    }

    /** What the control port refused or cut off (caps, header deadlines, unauthenticated requests). */
    public PeerStats peerStats() {
        return peerStats;
    }

    /** Open control connections now (at most {@value #MAX_OPEN_CONNECTIONS}). */
    int openConnections() {
        return admission.open();
    }

    public InetSocketAddress boundAddress() {
        return (InetSocketAddress) channel.localAddress();
    }

    @Override
    public void close() {
        if (channel != null) {
            channel.close().syncUninterruptibly();
        }
        sampler.shutdownNow();
        workers.shutdownNow();
        healthWorker.shutdownNow();
        jobs.close();
        recovery.close();
        metrics.close();
        group.shutdownGracefully(0, 1000, TimeUnit.MILLISECONDS).syncUninterruptibly();
    }
}
