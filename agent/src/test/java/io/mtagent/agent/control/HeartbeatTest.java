package io.mtagent.agent.control;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import io.mtagent.agent.Agent;
import io.mtagent.agent.TestAgents;
import io.mtagent.agent.security.AgentIdentity;
import io.mtagent.protocol.client.DiskStream;
import io.mtagent.protocol.client.ReplicationClient;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A fake configuration server (real HTTPS, JDK HttpsServer) receives the registration and heartbeats, sends a
 * setting back that takes effect, goes down and comes back: heartbeats resume and replication never pauses.
 */
class HeartbeatTest {
    @TempDir
    Path dir;

    /** The fake server: records every request body by path. */
    static final class FakeConfigServer {
        final List<JsonNode> registrations = new CopyOnWriteArrayList<>();
        final List<JsonNode> heartbeats = new CopyOnWriteArrayList<>();
        final AtomicBoolean settingSent = new AtomicBoolean();
        final SSLContext tls;
        HttpsServer server;

        FakeConfigServer(SSLContext tls) {
            this.tls = tls;
        }

        void start(int port) throws Exception {
            server = HttpsServer.create(new InetSocketAddress("127.0.0.1", port), 16);
            server.setHttpsConfigurator(new HttpsConfigurator(tls));
            server.createContext("/v1/agents/", this::handle);
            server.start();
        }

        int port() {
            return server.getAddress().getPort();
        }

        void handle(HttpExchange ex) throws java.io.IOException {
            JsonNode body = ControlHttp.JSON.readTree(ex.getRequestBody().readAllBytes());
            String answer = "{}";
            if (ex.getRequestURI().getPath().endsWith("/register")) {
                registrations.add(body);
            } else {
                heartbeats.add(body);
                if (settingSent.compareAndSet(false, true)) {
                    answer = "{\"settings\": {\"health.rpo.threshold\": \"5min\", \"data.listen\": \"0.0.0.0:1\"}}";
                }
            }
            byte[] b = answer.getBytes(StandardCharsets.UTF_8);
            ex.getResponseHeaders().set("Content-Type", "application/json");
            ex.sendResponseHeaders(200, b.length);
            ex.getResponseBody().write(b);
            ex.close();
        }

        void stop() {
            server.stop(0);
        }
    }

    static SSLContext serverTls(AgentIdentity id) throws Exception {
        KeyStore ks = KeyStore.getInstance("PKCS12");
        ks.load(null, null);
        ks.setKeyEntry("server", id.privateKey(), new char[0], new Certificate[] {id.certificate()});
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(ks, new char[0]);
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(kmf.getKeyManagers(), null, null);
        return ctx;
    }

    @Test
    void registersSendsHeartbeatsAppliesSettingsAndSurvivesAnOutage() throws Exception {
        AgentIdentity serverId = AgentIdentity.loadOrCreate(dir.resolve("configserver"), "localhost");
        FakeConfigServer fake = new FakeConfigServer(serverTls(serverId));
        fake.start(0);
        int port = fake.port();
        Map<String, String> settings = TestAgents.settings(dir, 1, 4L << 20);
        settings.put("configserver.url", "https://127.0.0.1:" + port);
        settings.put("configserver.fingerprint", serverId.fingerprintText());
        settings.put("heartbeat.interval", "200ms");
        try (Agent agent = TestAgents.start(settings);
             ReplicationClient client = ReplicationClient.connect(TestAgents.client(agent).build())) {
            ControlHttp c = new ControlHttp(agent);
            // Replication runs all along; every write must be acknowledged promptly, outage or not.
            DiskStream d = client.openDisk("disk-0", 1);
            AtomicLong acked = new AtomicLong();
            AtomicLong slowestAckMillis = new AtomicLong();
            AtomicReference<Throwable> error = new AtomicReference<>();
            Thread writer = new Thread(() -> {
                try {
                    for (int i = 0; !Thread.currentThread().isInterrupted(); i++) {
                        long t0 = System.nanoTime();
                        long seq = d.write((i % 512) * 4096L, new byte[4096]);
                        d.awaitAcked(seq, Duration.ofSeconds(10));
                        slowestAckMillis.accumulateAndGet((System.nanoTime() - t0) / 1_000_000, Math::max);
                        acked.set(seq);
                        Thread.sleep(5); // the stimulus: a steady trickle of writes while heartbeats go out
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                } catch (Throwable t) {
                    error.set(t);
                }
            }, "writer");
            writer.start();

            await().atMost(Duration.ofSeconds(15)).until(() -> fake.heartbeats.size() >= 3);
            JsonNode reg = fake.registrations.get(0);
            assertThat(reg.path("certificateFingerprint").asText()).isEqualTo(agent.identity().fingerprintText());
            assertThat(reg.path("disks").get(0).path("id").asText()).isEqualTo("disk-0");
            assertThat(reg.path("os").asText()).isNotEmpty();
            assertThat(reg.path("version").asText()).isNotEmpty();
            // The setting took effect (visible in /status) and the result was reported back.
            assertThat(ControlHttp.json(c.get("/status")).path("policy").path("rpoThresholdSeconds").asLong())
                    .isEqualTo(300);
            await().atMost(Duration.ofSeconds(5)).until(() -> fake.heartbeats.stream().anyMatch(
                    h -> h.path("settingsResult").path("applied").has("health.rpo.threshold")
                            && h.path("settingsResult").path("refused").has("data.listen")));
            assertThat(fake.heartbeats.get(0).path("status").path("disks").get(0).path("id").asText())
                    .isEqualTo("disk-0");

            fake.stop();
            long ackedBeforeOutage = acked.get();
            long failuresBefore = agent.heartbeat().failures();
            await().atMost(Duration.ofSeconds(10)).until(() -> agent.heartbeat().failures() > failuresBefore + 1);
            assertThat(acked.get()).as("replication continues while the configuration server is down")
                    .isGreaterThan(ackedBeforeOutage);

            int beats = fake.heartbeats.size();
            FakeConfigServer back = new FakeConfigServer(serverTls(serverId));
            back.start(port);
            try {
                await().atMost(Duration.ofSeconds(20)).until(() -> back.heartbeats.size() >= 2);
                assertThat(back.registrations).as("registers again after the outage").isNotEmpty();
            } finally {
                back.stop();
            }
            assertThat(fake.heartbeats.size()).isEqualTo(beats);
            writer.interrupt();
            writer.join(10_000);
            assertThat(error.get()).isNull();
            assertThat(slowestAckMillis.get()).as("no write waited on the heartbeat").isLessThan(5_000);
        }
    }
}
