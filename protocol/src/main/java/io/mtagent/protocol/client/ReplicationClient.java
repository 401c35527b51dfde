package io.mtagent.protocol.client;

import io.mtagent.protocol.ErrorCode;
import io.mtagent.protocol.Frame;
import io.mtagent.protocol.FrameDecoder;
import io.mtagent.protocol.FrameEncoder;
import io.mtagent.protocol.Frames;
import io.mtagent.protocol.HandshakeCrypto;
import io.mtagent.protocol.Protocol;
import io.mtagent.protocol.ResyncFrames;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.flush.FlushConsolidationHandler;
import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslProvider;
import io.netty.handler.ssl.util.InsecureTrustManagerFactory;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.handler.timeout.IdleStateHandler;
import java.io.Closeable;
import java.security.SecureRandom;
import java.security.cert.Certificate;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.SSLException;

/**
 * The process-server side of the 9443 protocol: connects over TLS, proves the passphrase (SPEC.md §4), opens
 * disk streams under a stream epoch, pipelines writes and tags within each disk's credit window, tracks acks,
 * and after {@link #reconnect()} resumes every disk from the agent's durable point by re-sending what was not
 * acknowledged.
 *
 * <p>Thread-safe. One I/O thread per client; application threads block only for credit or acks.
 */
public final class ReplicationClient implements Closeable {
    private static final SecureRandom RANDOM = new SecureRandom();

    private final ClientOptions options;
    private final EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    private final SslContext sslContext;
    private final Map<Integer, DiskStream> streams = new ConcurrentHashMap<>();
    private final Map<Integer, CompletableFuture<Frame>> pendingOpens = new ConcurrentHashMap<>();
    private final AtomicInteger nextHandle = new AtomicInteger(1);
    private final Object keyLock = new Object();
    private byte[] cachedKeySalt;
    private int cachedKeyIterations;
    private byte[] cachedKey;

    private volatile Connection connection;
    private volatile boolean closed;

    private ReplicationClient(ClientOptions options) throws SSLException {
        this.options = options;
        this.sslContext = options.plaintext ? null : SslContextBuilder.forClient()
                // Agents use self-signed certificates; identity is checked by pinning and by the proofs.
                .trustManager(InsecureTrustManagerFactory.INSTANCE)
                .protocols("TLSv1.3", "TLSv1.2")
                // BoringSSL where netty-tcnative is on the class path (the agent's jar, so demo, bench and send):
                // about half the CPU of the JDK engine per byte; the JDK engine otherwise.
                .sslProvider(OpenSsl.isAvailable() && !"jdk".equalsIgnoreCase(
                        System.getProperty("mtagent.tls.provider")) ? SslProvider.OPENSSL
                        : SslProvider.JDK)
                .ciphers(List.of("TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384",
                        "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
                        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"))
                .build();
    }

    /** Connects and authenticates; throws {@link ReplicationException} with the agent's reason on refusal. */
    public static ReplicationClient connect(ClientOptions options) throws ReplicationException, InterruptedException {
        ReplicationClient c;
        try {
            c = new ReplicationClient(options);
        } catch (SSLException e) {
            throw new ReplicationException("cannot set up TLS", e);
        }
        try {
            c.establish();
            return c;
        } catch (ReplicationException | InterruptedException | RuntimeException e) {
            c.close();
            throw e;
        }
    }

    ClientOptions options() { return options; }

    ByteBufAllocator alloc() { return ByteBufAllocator.DEFAULT; }

    /** Agent clock minus client clock in µs, estimated at the handshake (midpoint of HELLO/CHALLENGE). */
    public long clockOffsetMicros() {
        return connection.clockOffsetMicros;
    }

    /** The largest uncompressed write the agent accepts (from AUTH_OK). */
    public int maxWriteBytes() {
        return connection.maxWriteBytes;
    }

    /** The protocol version negotiated on the current connection (2 enables resync and checksums). */
    public int protocolVersion() {
        return connection.version;
    }

    /** The agent certificate's SHA-256 fingerprint as seen on this connection (zeros without TLS). */
    public byte[] agentFingerprint() {
        return connection.fingerprint.clone();
    }

    public boolean isConnected() {
        Connection c = connection;
        return c != null && c.failure == null && c.channel.isActive();
    }

    /**
     * Opens a disk stream under {@code epoch}. The stream continues at the agent's {@code lastDurableSeq + 1}.
     *
     * @throws ReplicationException UNKNOWN_DISK, STALE_EPOCH, or a connection failure
     */
    public DiskStream openDisk(String diskId, long epoch) throws ReplicationException, InterruptedException {
        DiskStream s = new DiskStream(this, diskId, epoch, nextHandle.getAndIncrement());
        streams.put(s.handle(), s);
        try {
            open(s, connection);
            return s;
        } catch (ReplicationException | InterruptedException | RuntimeException e) {
            streams.remove(s.handle());
            throw e;
        }
    }

    /** Re-opens a stream that the agent stopped (for example after a refused write): resumes from its durable point. */
    public void reopen(DiskStream s) throws ReplicationException, InterruptedException {
        open(s, connection);
    }

    private void open(DiskStream s, Connection c) throws ReplicationException, InterruptedException {
        checkConnected();
        CompletableFuture<Frame> reply = new CompletableFuture<>();
        pendingOpens.put(s.handle(), reply);
        c.channel.writeAndFlush(s.openFrame());
        Frame f = await(reply, options.handshakeTimeout.toMillis(), "DISK_OPENED for " + s.diskId());
        if (f instanceof Frames.Error e) {
            throw new ReplicationException(e.errorCode(), e.message());
        }
        s.opened((Frames.DiskOpened) f, c.channel);
    }

    /**
     * Drops the current connection (if any), connects again, re-opens every stream under its epoch and re-sends
     * every unacknowledged frame after the agent's durable point.
     */
    public void reconnect() throws ReplicationException, InterruptedException {
        Connection old = connection;
        if (old != null) {
            old.channel.close().awaitUninterruptibly();
        }
        establish();
        List<ReplicationException> failures = new ArrayList<>();
        for (DiskStream s : streams.values()) {
            try {
                open(s, connection);
            } catch (ReplicationException e) {
                s.onError(e);
                failures.add(e);
            }
        }
        if (!failures.isEmpty() && failures.size() == streams.size()) {
            throw failures.get(0);
        }
    }

    void checkConnected() throws ReplicationException {
        Connection c = connection;
        if (closed) {
            throw new ReplicationException(null, "client closed");
        }
        if (c == null) {
            throw new ReplicationException(null, "not connected");
        }
        if (c.failure != null) {
            throw c.failure;
        }
    }

    private void establish() throws ReplicationException, InterruptedException {
        Connection c = new Connection();
        Bootstrap b = new Bootstrap().group(group).channel(NioSocketChannel.class)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) options.connectTimeout.toMillis())
                .option(ChannelOption.TCP_NODELAY, true)
                .handler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        if (sslContext != null) {
                            ch.pipeline().addLast("tls", sslContext.newHandler(ch.alloc(), options.host, options.port));
                        }
                        ch.pipeline().addLast("flush", new FlushConsolidationHandler(64, true));
                        // Nothing sent for KEEPALIVE_SECONDS: a PING, so the agent's idle time-out (SPEC.md §5.14)
                        // never closes a quiet but healthy connection.
                        ch.pipeline().addLast("keepalive", new IdleStateHandler(0, Protocol.KEEPALIVE_SECONDS, 0));
                        ch.pipeline().addLast("frames", new FrameDecoder(Protocol.HANDSHAKE_MAX_FRAME_LENGTH));
                        ch.pipeline().addLast("encoder", FrameEncoder.INSTANCE);
                        ch.pipeline().addLast("client", c);
                    }
                });
        ChannelFuture cf = b.connect(options.host, options.port);
        if (!cf.await(options.connectTimeout.toMillis() + 1000)) {
            cf.cancel(true);
            throw new ReplicationException(null, "connect to " + options.host + ":" + options.port + " timed out");
        }
        if (!cf.isSuccess()) {
            throw new ReplicationException("cannot connect to " + options.host + ":" + options.port + ": "
                    + cf.cause().getMessage(), cf.cause());
        }
        c.channel = cf.channel();
        connection = c;
        try {
            await(c.ready, options.handshakeTimeout.toMillis(), "handshake");
        } catch (ReplicationException | InterruptedException e) {
            c.channel.close();
            throw e;
        }
    }

    private <T> T await(CompletableFuture<T> f, long millis, String what) throws ReplicationException, InterruptedException {
        try {
            return f.get(millis, TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof ReplicationException r) {
                throw r;
            }
            throw new ReplicationException(what + " failed: " + e.getCause(), e.getCause());
        } catch (TimeoutException e) {
            throw new ReplicationException(null, what + " timed out after " + millis + " ms");
        }
    }

    private byte[] key(byte[] salt, int iterations) {
        synchronized (keyLock) {
            if (cachedKey == null || cachedKeyIterations != iterations || !Arrays.equals(cachedKeySalt, salt)) {
                cachedKey = HandshakeCrypto.deriveKey(options.passphrase, salt, iterations);
                cachedKeySalt = salt.clone();
                cachedKeyIterations = iterations;
            }
            return cachedKey;
        }
    }

    /** Closes the connection and releases every buffered frame. Unacknowledged writes are not waited for. */
    @Override
    public void close() {
        closed = true;
        Connection c = connection;
        if (c != null && c.channel != null) {
            c.channel.close().awaitUninterruptibly();
        }
        group.shutdownGracefully(0, 2, TimeUnit.SECONDS).awaitUninterruptibly();
        for (DiskStream s : streams.values()) {
            s.releaseAll();
            s.wakeUp();
        }
    }

    /** One TCP/TLS connection and its handshake state; runs on the client's event loop. */
    private final class Connection extends SimpleChannelInboundHandler<Frame> {
        final CompletableFuture<Void> ready = new CompletableFuture<>();
        volatile Channel channel;
        volatile ReplicationException failure;
        volatile long clockOffsetMicros;
        volatile int maxWriteBytes;
        /** DISK_OPENED of a resyncing disk, waiting for its RESYNC_STATE; event loop only. */
        final Map<Integer, Frames.DiskOpened> heldOpens = new HashMap<>();
        /** The version the agent chose in CHALLENGE. */
        volatile int version = Protocol.VERSION_1;
        byte[] fingerprint = new byte[HandshakeCrypto.FINGERPRINT_LENGTH];
        private byte[] clientNonce;
        private byte[] serverNonce;
        private byte[] key;
        private long helloSentMicros;
        private boolean authenticated;

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
            if (evt instanceof IdleStateEvent && authenticated) {
                ctx.writeAndFlush(new Frames.Ping(System.nanoTime()));
                return;
            }
            super.userEventTriggered(ctx, evt);
        }

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            SslHandler tls = ctx.pipeline().get(SslHandler.class);
            if (tls == null) {
                sendHello(ctx);
                return;
            }
            tls.handshakeFuture().addListener(f -> {
                if (!f.isSuccess()) {
                    fail(new ReplicationException("TLS handshake with " + options.host + ":" + options.port
                            + " failed: " + f.cause().getMessage(), f.cause()));
                    ctx.close();
                    return;
                }
                Certificate[] chain = tls.engine().getSession().getPeerCertificates();
                fingerprint = HandshakeCrypto.fingerprint(chain[0].getEncoded());
                if (options.pinnedFingerprint != null
                        && !HandshakeCrypto.constantTimeEquals(options.pinnedFingerprint, fingerprint)) {
                    fail(new ReplicationException(null, "agent certificate fingerprint "
                            + HandshakeCrypto.formatFingerprint(fingerprint) + " does not match the pinned "
                            + HandshakeCrypto.formatFingerprint(options.pinnedFingerprint)
                            + " (if the agent's certificate was regenerated on purpose, pin the new one from 'mtagent cert')"));
                    ctx.close();
                    return;
                }
                sendHello(ctx);
            });
        }

        private void sendHello(ChannelHandlerContext ctx) {
            clientNonce = new byte[HandshakeCrypto.NONCE_LENGTH];
            RANDOM.nextBytes(clientNonce);
            helloSentMicros = System.currentTimeMillis() * 1000;
            ctx.writeAndFlush(new Frames.Hello(Protocol.MAGIC, options.versionRange[0], options.versionRange[1],
                    clientNonce, helloSentMicros, options.clientName));
        }

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, Frame frame) {
            if (frame instanceof Frames.Challenge ch) {
                onChallenge(ctx, ch);
            } else if (frame instanceof Frames.AuthOk ok) {
                onAuthOk(ctx, ok);
            } else if (frame instanceof Frames.Error e) {
                onError(ctx, e);
            } else if (!authenticated) {
                fail(new ReplicationException(ErrorCode.PROTOCOL_VIOLATION, "agent sent " + frame.type() + " before AUTH_OK"));
                ctx.close();
            } else if (frame instanceof Frames.Ack a) {
                DiskStream s = streams.get(a.handle());
                if (s != null) {
                    s.onAck(a.ackedSeq());
                }
            } else if (frame instanceof Frames.Credit cr) {
                DiskStream s = streams.get(cr.handle());
                if (s != null) {
                    s.onCredit(cr.bytes());
                }
            } else if (frame instanceof Frames.DiskOpened o) {
                if (o.state().resyncing() && version >= Protocol.VERSION_2) {
                    heldOpens.put(o.handle(), o); // RESYNC_STATE follows at once (SPEC.md §12.6); complete then
                    return;
                }
                CompletableFuture<Frame> f = pendingOpens.remove(o.handle());
                if (f != null) {
                    f.complete(o);
                }
            } else if (frame instanceof ResyncFrames.ResyncState rs) {
                DiskStream s = streams.get(rs.handle());
                if (s != null) {
                    s.onResyncState(rs);
                }
                Frames.DiskOpened held = heldOpens.remove(rs.handle());
                CompletableFuture<Frame> f = held == null ? null : pendingOpens.remove(rs.handle());
                if (f != null) {
                    f.complete(held);
                }
            } else if (frame instanceof ResyncFrames.Checksums c) {
                DiskStream s = streams.get(c.handle());
                if (s != null) {
                    s.onChecksums(c);
                }
            } else if (frame instanceof Frames.Ping p) {
                ctx.writeAndFlush(new Frames.Pong(p.nonce()));
            }
            // DISK_CLOSED and PONG need no action here.
        }

        private void onChallenge(ChannelHandlerContext ctx, Frames.Challenge ch) {
            long now = System.currentTimeMillis() * 1000;
            clockOffsetMicros = ch.serverTimeMicros() - (helloSentMicros + now) / 2;
            if (ch.version() < options.versionRange[0] || ch.version() > options.versionRange[1]) {
                fail(new ReplicationException(ErrorCode.UNSUPPORTED_VERSION, "agent chose version " + ch.version()));
                ctx.close();
                return;
            }
            if (ch.iterations() < HandshakeCrypto.MIN_ITERATIONS || ch.iterations() > HandshakeCrypto.MAX_ITERATIONS) {
                fail(new ReplicationException(ErrorCode.PROTOCOL_VIOLATION, "agent asked for " + ch.iterations()
                        + " PBKDF2 iterations; allowed " + HandshakeCrypto.MIN_ITERATIONS + ".." + HandshakeCrypto.MAX_ITERATIONS));
                ctx.close();
                return;
            }
            version = ch.version();
            ctx.pipeline().get(FrameDecoder.class).setVersion(version);
            serverNonce = ch.serverNonce();
            key = key(ch.salt(), ch.iterations());
            ctx.writeAndFlush(new Frames.AuthProof(HandshakeCrypto.clientProof(key, clientNonce, serverNonce, fingerprint)));
        }

        private void onAuthOk(ChannelHandlerContext ctx, Frames.AuthOk ok) {
            byte[] expected = HandshakeCrypto.serverProof(key, clientNonce, serverNonce, fingerprint);
            if (key == null || !HandshakeCrypto.constantTimeEquals(expected, ok.serverProof())) {
                fail(new ReplicationException(ErrorCode.AUTH_FAILED, "the agent's proof does not verify: it does not"
                        + " know the passphrase, or a relay sits between us"));
                ctx.close();
                return;
            }
            maxWriteBytes = ok.maxWriteBytes();
            ctx.pipeline().get(FrameDecoder.class).setMaxFrameLength(Math.max(ok.maxFrameLength(), 4096));
            authenticated = true;
            ready.complete(null);
        }

        private void onError(ChannelHandlerContext ctx, Frames.Error e) {
            ErrorCode code = e.errorCode();
            ReplicationException ex = new ReplicationException(code, e.message());
            CompletableFuture<Frame> open = e.handle() == Protocol.NO_HANDLE ? null : pendingOpens.remove(e.handle());
            if (open != null) {
                open.complete(e);
            }
            if (e.fatal() || code == null || e.handle() == Protocol.NO_HANDLE) {
                fail(ex);
                ctx.close();
                return;
            }
            DiskStream s = streams.get(e.handle());
            if (s != null) {
                s.onError(ex);
            }
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            fail(new ReplicationException(null, "connection to " + options.host + ":" + options.port + " closed"));
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            fail(new ReplicationException("connection error: " + cause.getMessage(), cause));
            ctx.close();
        }

        private void fail(ReplicationException e) {
            if (failure == null) {
                failure = e;
            }
            ready.completeExceptionally(failure);
            for (CompletableFuture<Frame> f : pendingOpens.values()) {
                f.completeExceptionally(failure);
            }
            for (DiskStream s : streams.values()) {
                s.wakeUp();
            }
        }
    }
}
