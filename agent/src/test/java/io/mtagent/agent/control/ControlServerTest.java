package io.mtagent.agent.control;

import static org.awaitility.Awaitility.await;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.mtagent.agent.Agent;
import io.mtagent.agent.TestAgents;
import io.mtagent.agent.config.AgentConfig;
import io.mtagent.protocol.client.DiskStream;
import io.mtagent.protocol.client.ReplicationClient;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The control server over real TLS on an ephemeral port: every endpoint, authentication, refusals, disks at run time. */
class ControlServerTest {
    @TempDir
    Path dir;

    @Test
    void endpointsAuthenticationAndRefusals() throws Exception {
        AgentConfig config = AgentConfig.of(TestAgents.settings(dir, 1, 4L << 20)); // no journal
        try (Agent agent = TestAgents.start(config, new PrometheusMeterRegistry(PrometheusConfig.DEFAULT))) {
            ControlHttp c = new ControlHttp(agent);
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(config.controlTokenFile())))
                    .isEqualTo("rw-------");
            assertThat(c.token).hasSize(43);

            HttpResponse<String> health = c.send("GET", "/health", null, null);
            assertThat(health.statusCode()).isEqualTo(200);
            // Without a retention journal the one finding is MT-1005: point-in-time recovery is off.
            assertThat(ControlHttp.json(health).path("status").asText()).isEqualTo("warning");
            assertThat(ControlHttp.json(health).path("rules").findValuesAsText("code")).containsExactly("MT-1005");

            HttpResponse<String> noToken = c.send("GET", "/status", null, null);
            assertThat(noToken.statusCode()).isEqualTo(401);
            assertThat(noToken.headers().firstValue("WWW-Authenticate")).hasValueSatisfying(v -> assertThat(v).startsWith("Bearer"));
            assertThat(c.send("GET", "/status", "Bearer " + c.token.substring(1) + "x", null).statusCode()).isEqualTo(401);
            assertThat(c.send("GET", "/v1/disks", null, null).statusCode()).isEqualTo(401);
            assertThat(c.send("POST", "/v1/disks/disk-0/release", "Basic abc", null).statusCode()).isEqualTo(401);

            HttpResponse<String> status = c.get("/status");
            assertThat(status.statusCode()).isEqualTo(200);
            JsonNode s = ControlHttp.json(status);
            assertThat(s.path("agent").path("version").asText()).isNotEmpty();
            assertThat(s.path("dataServer").path("listening").asBoolean()).isTrue();
            assertThat(s.path("disks").get(0).path("id").asText()).isEqualTo("disk-0");
            assertThat(s.path("disks").get(0).path("state").asText()).isEqualTo("protected");
            assertThat(s.path("disks").get(0).has("rpoSeconds")).isTrue();
            assertThat(s.path("disks").get(0).path("rpoSeconds").isNull()).isTrue(); // nothing received yet
            assertThat(s.path("retentionVolume").path("state").asText()).isEqualTo("not configured");
            assertThat(s.path("pointInTimeRecovery").path("on").asBoolean()).isFalse();

            HttpResponse<String> metrics = c.send("GET", "/metrics", null, null);
            assertThat(metrics.statusCode()).isEqualTo(200);
            assertThat(metrics.headers().firstValue("Content-Type")).hasValue(ControlHandler.PROMETHEUS);
            assertThat(metrics.body()).contains("mtagent_disk_backlog_bytes{disk=\"disk-0\"}");
            assertThat(metrics.body()).as("the agent-wide memory gauge").contains("mtagent_data_memory_held_bytes 0.0");

            assertThat(ControlHttp.json(c.get("/v1/disks")).path("disks").size()).isEqualTo(1);
            HttpResponse<String> wrongMethod = c.send("POST", "/health", null, null);
            assertThat(wrongMethod.statusCode()).isEqualTo(405);
            assertThat(wrongMethod.headers().firstValue("Allow")).hasValue("GET");
            assertThat(c.get("/v1/disks/disk-0/release").statusCode()).isEqualTo(405);
            assertThat(c.get("/nope").statusCode()).isEqualTo(404);
            assertThat(c.get("/v1/nope").statusCode()).isEqualTo(404);
            assertThat(c.post("/v1/disks/no-such-disk/release").statusCode()).isEqualTo(404);
            assertThat(c.get("/v1/points").statusCode()).isEqualTo(400); // neither disk nor group
            HttpResponse<String> points = c.get("/v1/points?disk=disk-0");
            assertThat(points.statusCode()).isEqualTo(409); // no retention journal configured
            assertThat(ControlHttp.json(points).path("error").asText()).contains("retention.dir");
            assertThat(c.post("/v1/disks/rescan").statusCode()).isEqualTo(409); // started without a file

            // Oversize body: 413 from the aggregator, the server keeps serving.
            String big = "x".repeat(ControlServer.MAX_CONTENT_LENGTH + 1000);
            assertThat(c.send("POST", "/v1/disks/rescan", "Bearer " + c.token, big).statusCode()).isEqualTo(413);
            // Malformed request line over raw TLS: refused (400 or closed), the server keeps serving.
            try (SSLSocket socket = (SSLSocket) c.tls.getSocketFactory().createSocket("127.0.0.1",
                    agent.controlAddress().getPort())) {
                socket.setSoTimeout(5000);
                OutputStream out = socket.getOutputStream();
                out.write("\u0001\u0002 GARBAGE\r\nHost: \u0000\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
                out.flush();
                InputStream in = socket.getInputStream();
                String answer = new String(in.readNBytes(12), StandardCharsets.ISO_8859_1);
                assertThat(answer).satisfiesAnyOf(a -> assertThat(a).startsWith("HTTP/1.1 400"), a -> assertThat(a).isEmpty());
            }
            assertThat(c.send("GET", "/health", null, null).statusCode()).isEqualTo(200);
        }
    }

    @Test
    void diskReleasedAndReattachedWhileAnotherStreams() throws Exception {
        try (Agent agent = TestAgents.start(TestAgents.settings(dir, 2, 4L << 20))) {
            ControlHttp c = new ControlHttp(agent);
            try (ReplicationClient client = ReplicationClient.connect(TestAgents.client(agent).build())) {
                DiskStream d0 = client.openDisk("disk-0", 7);
                DiskStream d1 = client.openDisk("disk-1", 7);
                AtomicLong acked1 = new AtomicLong();
                AtomicReference<Throwable> streamError = new AtomicReference<>();
                Thread other = new Thread(() -> {
                    byte[] block = new byte[4096];
                    try {
                        for (int i = 0; !Thread.currentThread().isInterrupted(); i++) {
                            block[0] = (byte) i;
                            long seq = d1.write((i % 256) * 4096L, block);
                            d1.awaitAcked(seq, Duration.ofSeconds(10));
                            acked1.set(seq);
                            Thread.sleep(2); // the stimulus: a steady trickle of writes beside the control calls
                        }
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    } catch (Throwable t) {
                        streamError.set(t);
                    }
                }, "disk-1-writer");
                other.start();
                long seq = 0;
                for (int i = 0; i < 50; i++) {
                    seq = d0.write(i * 4096L, new byte[4096]);
                }
                d0.awaitAcked(seq, Duration.ofSeconds(10));

                long before = acked1.get();
                HttpResponse<String> released = c.post("/v1/disks/disk-0/release");
                assertThat(released.statusCode()).as(released.body()).isEqualTo(202);
                DiskControlTest.awaitJob(c, ControlHttp.json(released).path("job").asText(), "done");
                assertThat(agent.disks().byId("disk-0")).isNull();
                JsonNode disks = ControlHttp.json(c.get("/v1/disks")).path("disks");
                assertThat(disks.get(0).path("state").asText()).isEqualTo("released");
                // Everything acknowledged is on the target before the device is let go.
                assertThat(Files.size(TestAgents.target(dir, 0))).isEqualTo(4L << 20);
                assertThatThrownBy(() -> client.openDisk("disk-0", 8)).hasMessageContaining("released");

                HttpResponse<String> attached = c.send("POST", "/v1/disks/disk-0/attach", "Bearer " + c.token,
                        "{\"written\": false}");
                assertThat(attached.statusCode()).as(attached.body()).isEqualTo(200);
                DiskStream again = client.openDisk("disk-0", 9);
                long s2 = again.write(0, new byte[4096]);
                again.awaitAcked(s2, Duration.ofSeconds(10));
                assertThat(s2).isGreaterThan(seq);

                long ackedNow = acked1.get();
                await("the other disk keeps replicating").atMost(Duration.ofSeconds(10))
                        .until(() -> acked1.get() > ackedNow);
                other.interrupt();
                other.join(10_000);
                assertThat(streamError.get()).isNull();
                assertThat(acked1.get()).isGreaterThan(before);
            }
        }
    }

    @Test
    void rescanAddsDisksDeclaredInTheFileAtRunTime() throws Exception {
        Map<String, String> settings = TestAgents.settings(dir, 1, 4L << 20);
        Path file = ControlHttp.writeProperties(dir.resolve("mtagent.properties"), settings);
        try (Agent agent = TestAgents.start(AgentConfig.load(file, Map.of()),
                new io.micrometer.core.instrument.simple.SimpleMeterRegistry())) {
            ControlHttp c = new ControlHttp(agent);
            ControlHttp.writeProperties(file, TestAgents.settings(dir, 2, 4L << 20));
            HttpResponse<String> r = c.post("/v1/disks/rescan");
            assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
            assertThat(ControlHttp.json(r).path("added").toString()).isEqualTo("[\"disk-1\"]");
            assertThat(ControlHttp.json(c.post("/v1/disks/rescan")).path("added").size()).isZero();
            try (ReplicationClient client = ReplicationClient.connect(TestAgents.client(agent).build())) {
                DiskStream d1 = client.openDisk("disk-1", 1);
                d1.awaitAcked(d1.write(0, new byte[4096]), Duration.ofSeconds(10));
            }
        }
    }
}
