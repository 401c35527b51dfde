package io.mtagent.agent.control;

import static org.awaitility.Awaitility.await;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import io.mtagent.agent.Agent;
import io.mtagent.agent.TestAgents;
import io.mtagent.agent.config.AgentConfig;
import io.mtagent.protocol.client.DiskStream;
import io.mtagent.protocol.client.ReplicationClient;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The control server over real TLS on an ephemeral port: every endpoint, authentication, refusals, disks at run time. */
class ControlServerTest {
    @TempDir
    Path dir;

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
