package io.mtagent.agent.control;

import static org.awaitility.Awaitility.await;
import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicReference;
import com.fasterxml.jackson.databind.JsonNode;
import io.mtagent.agent.Agent;
import io.mtagent.agent.TestAgents;
import io.mtagent.protocol.ResyncFrames;
import io.mtagent.protocol.client.DiskStream;
import io.mtagent.protocol.client.ReplicationClient;
import io.mtagent.protocol.client.Resync;
import io.mtagent.protocol.client.SourceDevice;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The operator's side of resync through the control API: pause/resume and a resync request change the persisted
 * state with its reason, and a running resync shows its progress (bytes hashed, chunks differing, ETA) in /status.
 */
class ResyncControlTest {
    private static final long SIZE = 8L << 20;

    @TempDir
    Path dir;

    @Test
    void operatorSwitchesAndResyncProgressInStatus() throws Exception {
        Map<String, String> s = TestAgents.settingsWithRetention(dir, 1, SIZE);
        Path source = dir.resolve("source.img");
        byte[] content = new byte[(int) SIZE];
        new SplittableRandom(41).nextBytes(content);
        Files.write(source, content);
        try (Agent agent = TestAgents.start(io.mtagent.agent.config.AgentConfig.of(s),
                new io.micrometer.prometheusmetrics.PrometheusMeterRegistry(
                        io.micrometer.prometheusmetrics.PrometheusConfig.DEFAULT))) {
            ControlHttp c = new ControlHttp(agent);
            assertThat(ControlHttp.json(c.post("/v1/disks/disk-0/pause")).path("state").asText()).isEqualTo("paused");
            assertThat(disk(c).path("state").asText()).isEqualTo("paused");
            assertThat(ControlHttp.json(c.post("/v1/disks/disk-0/resume")).path("state").asText()).isEqualTo("protected");
            JsonNode r = ControlHttp.json(c.post("/v1/disks/disk-0/request-resync"));
            assertThat(r.path("state").asText()).isEqualTo("needs-resync");
            assertThat(disk(c).path("reason").asText()).contains("operator request");
            JsonNode health = ControlHttp.json(c.get("/status")).path("health");
            assertThat(health.toString()).contains("MT-1004");
            assertThat(c.post("/v1/disks/nope/pause").statusCode()).isEqualTo(404);

            try (ReplicationClient client = ReplicationClient.connect(TestAgents.client(agent)
                    .pinnedFingerprint(agent.identity().fingerprintText()).build());
                 SourceDevice src = SourceDevice.open(source)) {
                DiskStream stream = client.openDisk("disk-0", 1);
                // 4 MiB/s over an 8 MiB disk that differs entirely: about 2 s, long enough to watch.
                CompletableFuture<Resync.Result> run = CompletableFuture.supplyAsync(() -> {
                    try {
                        return stream.resync(src, Resync.Options.defaults().withChunkSize(ResyncFrames.MIN_CHUNK_SIZE)
                                .withRate(4L << 20));
                    } catch (Exception e) {
                        throw new IllegalStateException(e);
                    }
                });
                AtomicReference<JsonNode> seenNow = new AtomicReference<>();
                await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(50)).until(() -> {
                    JsonNode d = disk(c);
                    if (d.path("resync").path("chunksDiffering").asLong() > 4) {
                        seenNow.set(d);
                        return true;
                    }
                    return run.isDone();
                });
                JsonNode seen = seenNow.get();
                assertThat(seen).as("a resync in progress shows in /status").isNotNull();
                assertThat(seen.path("state").asText()).isIn("resyncing", "initial-sync");
                JsonNode rs = seen.path("resync");
                assertThat(rs.path("mode").asText()).isEqualTo("differential");
                assertThat(rs.path("bytesHashed").asLong()).isGreaterThan(0);
                assertThat(rs.path("rangeBytes").asLong()).isEqualTo(SIZE);
                assertThat(rs.has("etaSeconds")).isTrue();
                assertThat(metric(c, "mtagent_disk_resync_remaining_bytes")).as("remaining, mid-resync")
                        .isGreaterThan(0).isLessThanOrEqualTo(SIZE);
                run.get();
                assertThat(disk(c).path("state").asText()).isEqualTo("protected");
                // Every chunk differed: all of the disk was re-sent and hashed; nothing remains.
                assertThat(metric(c, "mtagent_disk_resync_resent_bytes_total")).isEqualTo(SIZE);
                assertThat(metric(c, "mtagent_disk_resync_hashed_bytes_total")).isGreaterThanOrEqualTo(SIZE);
                assertThat(metric(c, "mtagent_disk_resync_remaining_bytes")).isZero();
                assertThat(c.get("/metrics").body()).as("protected")
                        .contains("mtagent_disk_state{disk=\"disk-0\",state=\"protected\"} 1.0");
            }
        }
    }

    /** The value of disk-0's sample of {@code name} in the Prometheus exposition at /metrics. */
    private static long metric(ControlHttp c, String name) throws Exception {
        var r = c.get("/metrics");
        assertThat(r.statusCode()).as("GET /metrics: %s", r.body()).isEqualTo(200);
        String body = r.body();
        return body.lines().filter(l -> l.startsWith(name + "{") && l.contains("disk=\"disk-0\""))
                .map(l -> (long) Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1))).findFirst()
                .orElseThrow(() -> new AssertionError("no " + name + " for disk-0 in /metrics:\n" + body.lines()
                        .filter(l -> l.contains("disk-0")).collect(java.util.stream.Collectors.joining("\n"))));
    }

    private static JsonNode disk(ControlHttp c) throws Exception {
        return ControlHttp.json(c.get("/status")).path("disks").get(0);
    }
}
