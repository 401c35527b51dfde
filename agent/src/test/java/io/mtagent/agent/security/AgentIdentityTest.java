package io.mtagent.agent.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mtagent.protocol.HandshakeCrypto;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.ssl.SslContext;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.Collection;
import java.util.List;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLHandshakeException;
import javax.net.ssl.SSLSession;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AgentIdentityTest {
    private static EventLoopGroup group;

    @TempDir
    Path stateDir;

    @BeforeAll
    static void startGroup() {
        group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    }

    @AfterAll
    static void stopGroup() {
        group.shutdownGracefully(0, 1, java.util.concurrent.TimeUnit.SECONDS).syncUninterruptibly();
    }

    @Test
    void firstStartCreatesOwnerOnlyKeyAndReadableCertificate() throws Exception {
        AgentIdentity identity = AgentIdentity.loadOrCreate(stateDir, "target01.example");

        Path key = stateDir.resolve(AgentIdentity.KEY_FILE);
        Path cert = stateDir.resolve(AgentIdentity.CERT_FILE);
        assertThat(Files.readString(key)).startsWith("-----BEGIN PRIVATE KEY-----");
        assertThat(Files.readString(cert)).startsWith("-----BEGIN CERTIFICATE-----");
        if (SecureFiles.isPosix(stateDir)) {
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(key))).isEqualTo("rw-------");
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(cert))).isEqualTo("rw-r--r--");
        }
        assertThat(stateDir.resolve(AgentIdentity.KEY_FILE + ".tmp")).doesNotExist();

        X509Certificate certificate = identity.certificate();
        assertThat(certificate.getSubjectX500Principal().getName()).isEqualTo("CN=mtagent on target01.example");
        assertThat(certificate.getPublicKey().getAlgorithm()).isEqualTo("EC");
        assertThat(certificate.getSigAlgName()).isEqualTo("SHA256withECDSA");
        assertThat(certificate.getVersion()).isEqualTo(3);
        assertThat(certificate.getBasicConstraints()).isEqualTo(-1);
        assertThat(sans(certificate)).containsExactlyInAnyOrder("target01.example", "localhost", "127.0.0.1");
        long years = java.time.Duration.between(certificate.getNotBefore().toInstant(),
                certificate.getNotAfter().toInstant()).toDays() / 365;
        assertThat(years).isEqualTo(10);
        certificate.verify(certificate.getPublicKey());

        byte[] expected = MessageDigest.getInstance("SHA-256").digest(certificate.getEncoded());
        assertThat(identity.fingerprint()).isEqualTo(expected);
        assertThat(identity.fingerprintText()).isEqualTo(HandshakeCrypto.formatFingerprint(expected));
    }

    @Test
    void reloadKeepsTheIdentity() {
        AgentIdentity first = AgentIdentity.loadOrCreate(stateDir, "a");
        AgentIdentity second = AgentIdentity.loadOrCreate(stateDir, "another-name-is-ignored");

        assertThat(second.fingerprint()).isEqualTo(first.fingerprint());
        assertThat(second.privateKey().getEncoded()).isEqualTo(first.privateKey().getEncoded());
    }

    @Test
    void twoAgentsGetDifferentIdentities(@TempDir Path otherDir) {
        AgentIdentity a = AgentIdentity.loadOrCreate(stateDir, "h");
        AgentIdentity b = AgentIdentity.loadOrCreate(otherDir, "h");

        assertThat(a.fingerprint()).isNotEqualTo(b.fingerprint());
        assertThat(a.certificate().getSerialNumber()).isNotEqualTo(b.certificate().getSerialNumber());
    }

    @Test
    void groupReadableKeyIsTightenedOnLoad() throws Exception {
        AgentIdentity.loadOrCreate(stateDir, "h");
        Path key = stateDir.resolve(AgentIdentity.KEY_FILE);
        org.junit.jupiter.api.Assumptions.assumeTrue(SecureFiles.isPosix(stateDir), "POSIX permissions only");
        Files.setPosixFilePermissions(key, PosixFilePermissions.fromString("rw-r--r--"));

        AgentIdentity.loadOrCreate(stateDir, "h");

        assertThat(Files.getPosixFilePermissions(key)).containsExactlyInAnyOrder(
                PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE);
    }

    @Test
    void corruptKeyFileFailsWithTheFileAndTheRemedy() throws Exception {
        AgentIdentity.loadOrCreate(stateDir, "h");
        Path key = stateDir.resolve(AgentIdentity.KEY_FILE);
        Files.writeString(key, "-----BEGIN PRIVATE KEY-----\nAAAAnot-a-key\n-----END PRIVATE KEY-----\n");

        assertThatThrownBy(() -> AgentIdentity.loadOrCreate(stateDir, "h"))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining(key.toString())
                .hasMessageContaining("delete both")
                .hasMessageContaining("re-pin");
    }

    @Test
    void garbageCertificateFailsWithTheFile() throws Exception {
        AgentIdentity.loadOrCreate(stateDir, "h");
        Path cert = stateDir.resolve(AgentIdentity.CERT_FILE);
        Files.writeString(cert, "garbage");

        assertThatThrownBy(() -> AgentIdentity.loadOrCreate(stateDir, "h"))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("cannot use " + cert)
                .hasMessageContaining("delete both");
    }

    @Test
    void certificateOfAnotherKeyIsRefused(@TempDir Path otherDir) throws Exception {
        AgentIdentity.loadOrCreate(stateDir, "h");
        AgentIdentity.loadOrCreate(otherDir, "h");
        Files.copy(otherDir.resolve(AgentIdentity.CERT_FILE), stateDir.resolve(AgentIdentity.CERT_FILE),
                java.nio.file.StandardCopyOption.REPLACE_EXISTING);

        assertThatThrownBy(() -> AgentIdentity.loadOrCreate(stateDir, "h"))
                .hasMessageContaining("does not match the private key");
    }

    @Test
    void keyWithoutCertificateIsRefusedButCertificateWithoutKeyRegenerates() throws Exception {
        AgentIdentity original = AgentIdentity.loadOrCreate(stateDir, "h");
        Files.delete(stateDir.resolve(AgentIdentity.CERT_FILE));
        assertThatThrownBy(() -> AgentIdentity.loadOrCreate(stateDir, "h"))
                .hasMessageContaining("certificate")
                .hasMessageContaining("is missing");

        Files.delete(stateDir.resolve(AgentIdentity.KEY_FILE));
        Files.writeString(stateDir.resolve(AgentIdentity.CERT_FILE), "stale");
        AgentIdentity regenerated = AgentIdentity.loadOrCreate(stateDir, "h");
        assertThat(regenerated.fingerprint()).isNotEqualTo(original.fingerprint());
        assertThat(AgentIdentity.loadOrCreate(stateDir, "h").fingerprint()).isEqualTo(regenerated.fingerprint());
    }

    @Test
    void tls13HandshakeOnLoopbackUsesAesGcmAndPresentsThePinnedCertificate() throws Exception {
        AgentIdentity identity = AgentIdentity.loadOrCreate(stateDir, "localhost");
        Channel server = startEchoServer(identity.serverSslContext());
        try (SSLSocket socket = connect(server, identity.fingerprint(), "TLSv1.3", null)) {
            SSLSession session = socket.getSession();
            assertThat(session.getProtocol()).isEqualTo("TLSv1.3");
            assertThat(session.getCipherSuite()).isIn(AgentIdentity.CIPHER_SUITES).contains("_GCM_");
            assertEcho(socket);
        } finally {
            server.close().syncUninterruptibly();
        }
    }

    @Test
    void tls12HandshakeUsesEcdheEcdsaAesGcm() throws Exception {
        AgentIdentity identity = AgentIdentity.loadOrCreate(stateDir, "localhost");
        Channel server = startEchoServer(identity.serverSslContext());
        try (SSLSocket socket = connect(server, identity.fingerprint(), "TLSv1.2", null)) {
            assertThat(socket.getSession().getProtocol()).isEqualTo("TLSv1.2");
            assertThat(socket.getSession().getCipherSuite()).startsWith("TLS_ECDHE_ECDSA_WITH_AES_").endsWith("_GCM_SHA256")
                    .isIn(AgentIdentity.CIPHER_SUITES);
            assertEcho(socket);
        } finally {
            server.close().syncUninterruptibly();
        }
    }

    @Test
    void theServersUseBoringSslWhereItLoads() {
        assertThat(io.netty.handler.ssl.OpenSsl.isAvailable()).as("netty-tcnative-boringssl-static loads here: "
                + io.netty.handler.ssl.OpenSsl.unavailabilityCause()).isTrue();
        assertThat(AgentIdentity.tlsProvider()).isEqualTo(io.netty.handler.ssl.SslProvider.OPENSSL);
    }

    /** BoringSSL: TLS 1.3 with ChaCha20 is fast there and accepted; TLS 1.1 is refused as on the JDK. */
    @Test
    void onBoringSslChaCha20IsAcceptedAndOldProtocolsAreRefused() throws Exception {
        AgentIdentity identity = AgentIdentity.loadOrCreate(stateDir, "localhost");
        Channel server = startEchoServer(identity.serverSslContext(io.netty.handler.ssl.SslProvider.OPENSSL));
        try {
            connect(server, identity.fingerprint(), "TLSv1.3", "TLS_CHACHA20_POLY1305_SHA256").close();
            assertThatThrownBy(() -> connect(server, identity.fingerprint(), "TLSv1.1", null).close())
                    .isInstanceOf(javax.net.ssl.SSLException.class);
        } finally {
            server.close().syncUninterruptibly();
        }
    }

    @Test
    void onTheJdkProviderAClientOfferingOnlyChaCha20OrOldProtocolsIsRefused() throws Exception {
        AgentIdentity identity = AgentIdentity.loadOrCreate(stateDir, "localhost");
        Channel server = startEchoServer(identity.serverSslContext(io.netty.handler.ssl.SslProvider.JDK));
        try {
            assertThatThrownBy(() -> connect(server, identity.fingerprint(), "TLSv1.3",
                    "TLS_CHACHA20_POLY1305_SHA256").close()).isInstanceOf(SSLHandshakeException.class);
            assertThatThrownBy(() -> connect(server, identity.fingerprint(), "TLSv1.1", null).close())
                    .isInstanceOf(javax.net.ssl.SSLException.class);
        } finally {
            server.close().syncUninterruptibly();
        }
    }

    private static List<String> sans(X509Certificate certificate) throws Exception {
        Collection<List<?>> names = certificate.getSubjectAlternativeNames();
        return names.stream().map(entry -> (String) entry.get(1)).toList();
    }

    private static Channel startEchoServer(SslContext sslContext) throws InterruptedException {
        return new ServerBootstrap()
                .group(group)
                .channel(NioServerSocketChannel.class)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        ch.pipeline().addLast(sslContext.newHandler(ch.alloc()));
                        ch.pipeline().addLast(new ChannelInboundHandlerAdapter() {
                            @Override
                            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                                ctx.writeAndFlush((ByteBuf) msg);
                            }

                            @Override
                            public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                                ctx.close(); // refused handshakes are expected in some tests
                            }
                        });
                    }
                })
                .bind("127.0.0.1", 0).sync().channel();
    }

    /** A JDK client that trusts exactly the pinned fingerprint, as a process server does. */
    private static SSLSocket connect(Channel server, byte[] pinned, String protocol, String onlySuite)
            throws Exception {
        SSLContext context = SSLContext.getInstance("TLS");
        context.init(null, new TrustManager[] {new PinningTrustManager(pinned)}, null);
        InetSocketAddress address = (InetSocketAddress) server.localAddress();
        SSLSocket socket = (SSLSocket) context.getSocketFactory().createSocket("127.0.0.1", address.getPort());
        try {
            socket.setSoTimeout(10_000);
            socket.setEnabledProtocols(new String[] {protocol});
            if (onlySuite != null) {
                socket.setEnabledCipherSuites(new String[] {onlySuite});
            }
            socket.startHandshake();
            return socket;
        } catch (Exception e) {
            socket.close();
            throw e;
        }
    }

    private static void assertEcho(SSLSocket socket) throws Exception {
        byte[] hello = "hello over tls".getBytes(StandardCharsets.US_ASCII);
        OutputStream out = socket.getOutputStream();
        out.write(hello);
        out.flush();
        InputStream in = socket.getInputStream();
        assertThat(in.readNBytes(hello.length)).isEqualTo(hello);
    }

    private static final class PinningTrustManager implements X509TrustManager {
        private final byte[] pinned;

        PinningTrustManager(byte[] pinned) {
            this.pinned = pinned;
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
            if (!MessageDigest.isEqual(HandshakeCrypto.fingerprint(chain[0].getEncoded()), pinned)) {
                throw new CertificateException("fingerprint mismatch");
            }
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
            throw new CertificateException("client side only");
        }

        @Override
        public X509Certificate[] getAcceptedIssuers() {
            return new X509Certificate[0];
        }
    }
}
