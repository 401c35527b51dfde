package io.mtagent.agent.control;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.mtagent.agent.Agent;
import io.mtagent.agent.TestAgents;
import io.mtagent.agent.config.AgentConfig;
import io.mtagent.protocol.client.DiskStream;
import io.mtagent.protocol.client.ReplicationClient;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code mtagent_apply_stage_time_seconds_total{disk,stage}} through the real HTTPS /metrics: with retention on,
 * every stage of the capture and of the target's writes has time, and the capture's parts never add up to more
 * than the capture (they run inside it on the same thread); with retention off, the journal's stages stay at zero.
 */
class ApplyStageMetricsTest {
    private static final long DISK = 8L << 20;

    @TempDir
    Path dir;

    @Test
    void withRetentionEveryStageHasTimeAndTheCaptureHoldsItsParts() throws Exception {
        Map<String, String> s = TestAgents.settingsWithRetention(dir, 1, DISK);
        long start = System.nanoTime();
        String metrics = streamAndScrape(s);
        double wallSeconds = (System.nanoTime() - start) / 1e9;
        double capture = stage(metrics, "capture");
        double parts = 0;
        for (String part : new String[] {"before_image_wait", "journal_append", "journal_sync"}) {
            assertThat(stage(metrics, part)).as(part).isPositive();
            parts += stage(metrics, part);
        }
        assertThat(capture).as("capture holds its parts").isGreaterThanOrEqualTo(parts);
        assertThat(stage(metrics, "target_write")).as("target_write").isPositive();
        assertThat(stage(metrics, "target_flush")).as("target_flush").isPositive();
        // The applier waits for every batch in flight (its target writes and flush) at least once, before it goes
        // idle; capture and that wait run on the applier's one thread, so together they fit in the wall time.
        assertThat(stage(metrics, "target_wait")).as("target_wait").isPositive();
        assertThat(capture + stage(metrics, "target_wait")).as("one thread's stages fit in the wall time")
                .isLessThanOrEqualTo(wallSeconds);
    }

    @Test
    void withoutRetentionTheJournalStagesStayAtZero() throws Exception {
        long start = System.nanoTime();
        String metrics = streamAndScrape(TestAgents.settings(dir, 1, DISK));
        double wallSeconds = (System.nanoTime() - start) / 1e9;
        assertThat(stage(metrics, "capture") + stage(metrics, "target_wait")).as("one thread's stages fit in the wall"
                + " time").isLessThanOrEqualTo(wallSeconds);
        assertThat(stage(metrics, "target_wait")).as("target_wait").isPositive();
        for (String part : new String[] {"before_image_wait", "journal_append", "journal_sync"}) {
            assertThat(stage(metrics, part)).as(part).isZero();
        }
        assertThat(stage(metrics, "target_write")).as("target_write").isPositive();
        assertThat(stage(metrics, "target_flush")).as("target_flush").isPositive();
    }

    /** Writes 4 MiB of random 64 KiB writes, waits until applied, and returns one scrape of /metrics. */
    private String streamAndScrape(Map<String, String> settings) throws Exception {
        try (Agent agent = TestAgents.start(AgentConfig.of(settings), new PrometheusMeterRegistry(PrometheusConfig.DEFAULT));
             ReplicationClient client = ReplicationClient.connect(TestAgents.client(agent).build())) {
            DiskStream d = client.openDisk("disk-0", 1);
            SplittableRandom r = new SplittableRandom(8);
            for (int i = 0; i < 64; i++) {
                byte[] data = new byte[64 << 10];
                r.nextBytes(data);
                d.write((long) r.nextInt((int) (DISK / data.length)) * data.length, data);
            }
            d.flush(Duration.ofSeconds(20));
            TestAgents.awaitApplied(agent, Duration.ofSeconds(20));
            return new ControlHttp(agent).send("GET", "/metrics", null, null).body();
        }
    }

    private static double stage(String metrics, String stage) {
        Matcher m = Pattern.compile("^mtagent_apply_stage_time_seconds_total\\{disk=\"disk-0\",stage=\"" + stage
                + "\"} (\\S+)$", Pattern.MULTILINE).matcher(metrics);
        assertThat(m.find()).as("the %s series in /metrics", stage).isTrue();
        return Double.parseDouble(m.group(1));
    }
}
