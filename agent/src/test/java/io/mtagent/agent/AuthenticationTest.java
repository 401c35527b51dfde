package io.mtagent.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mtagent.agent.security.AgentIdentity;
import io.mtagent.protocol.ErrorCode;
import io.mtagent.protocol.client.ReplicationClient;
import io.mtagent.protocol.client.ReplicationException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Wrong passphrase, rate limiting, no TLS, old version, relaying proxy: refused with a clear error, nothing written. */
class AuthenticationTest {
    @TempDir
    Path dir;
    Agent agent;

    @BeforeEach
    void start() throws Exception {
        agent = TestAgents.start(TestAgents.settings(dir, 1, 1 << 20));
    }

    @AfterEach
    void stop() {
        assertThat(agent.disks().byId("disk-0").lastAcceptedSeq()).as("nothing written").isZero();
        agent.close();
    }

    @Test
    void wrongPassphraseIsRefusedCountedAndRateLimited() {
        var wrong = TestAgents.client(agent).passphrase("not the passphrase at all".toCharArray()).build();
        for (int i = 0; i < 4; i++) {
            assertThatThrownBy(() -> ReplicationClient.connect(wrong))
                    .isInstanceOfSatisfying(ReplicationException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.AUTH_FAILED));
        }
        assertThat(agent.dataStats().authFailures()).isEqualTo(4);
        // The fourth failure locked 127.0.0.1: even the right passphrase is refused until the lockout ends.
        assertThatThrownBy(() -> ReplicationClient.connect(TestAgents.client(agent).build()))
                .isInstanceOfSatisfying(ReplicationException.class,
                        e -> assertThat(e.code()).isEqualTo(ErrorCode.AUTH_RATE_LIMITED));
    }

    @Test
    void plaintextClientIsToldThatTlsIsRequired() {
        assertThatThrownBy(() -> ReplicationClient.connect(TestAgents.client(agent).plaintext(true).build()))
                .isInstanceOf(ReplicationException.class).hasMessageContaining("requires TLS");
    }

    @Test
    void oldProtocolVersionIsRefused() {
        assertThatThrownBy(() -> ReplicationClient.connect(TestAgents.client(agent).versionRange(0, 0).build()))
                .isInstanceOfSatisfying(ReplicationException.class,
                        e -> assertThat(e.code()).isEqualTo(ErrorCode.UNSUPPORTED_VERSION));
    }

    @Test
    void pinnedFingerprintMismatchIsRefusedBeforeAnyProof() {
        String other = "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF";
        assertThatThrownBy(() -> ReplicationClient.connect(TestAgents.client(agent).pinnedFingerprint(other).build()))
                .isInstanceOf(ReplicationException.class).hasMessageContaining("does not match the pinned");
        assertThat(agent.dataStats().authFailures()).isZero();
    }

    @Test
    void relayingProxyWithItsOwnCertificateCannotPassTheProofOn() throws Exception {
        AgentIdentity proxyIdentity = AgentIdentity.loadOrCreate(dir.resolve("proxy"), "proxy");
        try (TlsRelay relay = new TlsRelay(proxyIdentity, agent.dataAddress().getPort())) {
            var viaProxy = io.mtagent.protocol.client.ClientOptions.builder("127.0.0.1", relay.port())
                    .passphrase(TestAgents.PASSPHRASE.toCharArray()).build();
            assertThatThrownBy(() -> ReplicationClient.connect(viaProxy))
                    .isInstanceOfSatisfying(ReplicationException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.AUTH_FAILED));
            assertThat(relay.relayedBytes()).as("the relay really carried the handshake").isPositive();
        }
        assertThat(agent.dataStats().authFailures()).isEqualTo(1);
    }

    /** A man in the middle: terminates the client's TLS with its own certificate and opens its own TLS to the agent. */
    private static final class TlsRelay implements AutoCloseable {
        private final SSLServerSocket server;
        private final Thread acceptor;
        private final java.util.concurrent.atomic.AtomicLong relayed = new java.util.concurrent.atomic.AtomicLong();

        TlsRelay(AgentIdentity identity, int agentPort) throws Exception {
            KeyStore ks = KeyStore.getInstance("PKCS12");
            ks.load(null, null);
            ks.setKeyEntry("proxy", identity.privateKey(), new char[0], new Certificate[] {identity.certificate()});
            KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            kmf.init(ks, new char[0]);
            SSLContext serverCtx = SSLContext.getInstance("TLS");
            serverCtx.init(kmf.getKeyManagers(), null, null);
            SSLContext clientCtx = SSLContext.getInstance("TLS");
            clientCtx.init(null, new TrustManager[] {new X509TrustManager() {
                public void checkClientTrusted(X509Certificate[] c, String a) { }
                public void checkServerTrusted(X509Certificate[] c, String a) { }
                public X509Certificate[] getAcceptedIssuers() { return new X509Certificate[0]; }
            }}, null);
            server = (SSLServerSocket) serverCtx.getServerSocketFactory().createServerSocket(0);
            acceptor = new Thread(() -> {
                try (SSLSocket down = (SSLSocket) server.accept();
                     SSLSocket up = (SSLSocket) clientCtx.getSocketFactory().createSocket("127.0.0.1", agentPort)) {
                    Thread t = pump(up.getInputStream(), down.getOutputStream());
                    pump(down.getInputStream(), up.getOutputStream()).join(20_000);
                    t.join(20_000);
                } catch (Exception ignored) {
                    // the test asserts on the client's view
                }
            }, "relay");
            acceptor.setDaemon(true);
            acceptor.start();
        }

        private Thread pump(InputStream in, OutputStream out) {
            Thread t = new Thread(() -> {
                byte[] buf = new byte[8192];
                try {
                    for (int n; (n = in.read(buf)) > 0; ) {
                        out.write(buf, 0, n);
                        out.flush();
                        relayed.addAndGet(n);
                    }
                } catch (Exception ignored) {
                    // connection closed
                }
                try {
                    out.close();
                } catch (Exception ignored) {
                    // already closed
                }
            });
            t.setDaemon(true);
            t.start();
            return t;
        }

        int port() { return server.getLocalPort(); }
        long relayedBytes() { return relayed.get(); }

        @Override
        public void close() throws Exception {
            server.close();
        }
    }
}
