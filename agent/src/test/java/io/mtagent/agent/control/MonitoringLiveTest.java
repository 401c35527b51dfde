package io.mtagent.agent.control;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.mtagent.agent.Agent;
import io.mtagent.agent.TestAgents;
import io.mtagent.agent.disk.ReplicatedDisk;
import io.mtagent.protocol.TagType;
import io.mtagent.protocol.client.DiskStream;
import io.mtagent.protocol.client.ReplicationClient;
import java.net.ConnectException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The monitoring as an operator runs it: real agents, a real Prometheus (Debian package) loading monitoring/'s
 * rules and scraping over HTTPS, and the dashboard's queries checked against what an agent really exports.
 * Every scrape also passes the suite's no-NaN assertion (ControlHttp, TestAgents).
 */
class MonitoringLiveTest {
    private static final Pattern SAMPLE = Pattern.compile("^([a-zA-Z_:][a-zA-Z0-9_:]*)(\\{[^}]*\\})? (\\S+)");
    private static final Path RULES = PromTools.MONITORING.resolve("mtagent-alerts.yml");
    @TempDir
    Path dir;

    private static Set<String> names(String exposition) {
        Set<String> names = new TreeSet<>();
        for (String line : exposition.split("\n")) {
            Matcher m = SAMPLE.matcher(line);
            if (!line.startsWith("#") && m.find()) {
                names.add(m.group(1));
            }
        }
        return names;
    }

    /** disk-0's sample of {@code name} in the exposition, or null when the series is absent. */
    private static Double sample(String exposition, String name) {
        for (String line : exposition.split("\n")) {
            Matcher m = SAMPLE.matcher(line);
            if (m.find() && m.group(1).equals(name) && m.group(2) != null && m.group(2).contains("disk=\"disk-0\"")) {
                return Double.parseDouble(m.group(3));
            }
        }
        return null;
    }

    @Test
    void afterARestartTheRpoIsANumberOnTheFirstScrapeAndItsRuleFiresWithinOneEvaluation() throws Exception {
        PromTools.requireTool("MonitoringLiveTest", "prometheus");
        Map<String, String> settings = TestAgents.settings(dir, 1, 4L << 20); // no journal: the ingest log alone
        int thresholdSeconds = 12;
        settings.put("health.rpo.threshold", thresholdSeconds + "s");
        try (Agent first = TestAgents.start(settings);
             ReplicationClient client = ReplicationClient.connect(TestAgents.client(first).build())) {
            DiskStream d = client.openDisk("disk-0", 1);
            for (int i = 0; i < 32; i++) {
                d.write(i * 4096L, new byte[4096]);
            }
            d.flush(Duration.ofSeconds(10));
            TestAgents.awaitApplied(first, Duration.ofSeconds(10)); // every segment applied: the log holds no record
        }
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        try (Agent agent = TestAgents.start(io.mtagent.agent.config.AgentConfig.of(settings), registry)) {
            ReplicatedDisk disk = agent.disks().byId("disk-0");
            String firstScrape = new ControlHttp(agent).send("GET", "/metrics", null, null).body();
            Double rpo = sample(firstScrape, "mtagent_disk_rpo_seconds");
            assertThat(rpo).as("the RPO on the first scrape after the restart").isNotNull();
            assertThat(rpo).isBetween(0.0, 60.0);
            assertThat(sample(firstScrape, "mtagent_disk_latest_point_timestamp_seconds"))
                    .isCloseTo(disk.newestDurableMicros() / 1e6, org.assertj.core.data.Offset.offset(0.001));
            assertThat(ControlHttp.json(new ControlHttp(agent).get("/status")).path("disks").get(0)
                    .path("rpoSeconds").isNumber()).as("/status (and so 'mtagent status') has the RPO").isTrue();

            try (PromTools.Server prometheus = new PromTools.Server(dir, agent, RULES)) {
                await().atMost(Duration.ofSeconds(40)).pollInterval(Duration.ofMillis(250))
                        .ignoreExceptionsInstanceOf(ConnectException.class)
                        .until(() -> prometheus.value("up{job=\"mtagent\"}") == 1.0);
                // Every scrape Prometheus took carries the RPO series, the first one included.
                assertThat(prometheus.value("count_over_time(mtagent_disk_rpo_seconds[5m])"))
                        .isEqualTo(prometheus.value("count_over_time(up{job=\"mtagent\"}[5m])"));
                assertThat(prometheus.query("ALERTS{alertname=\"MtagentRpoUnknown\"}").size()).isZero();

                long crossesAtMillis = disk.newestDurableMicros() / 1000 + thresholdSeconds * 1000L;
                await().atMost(Duration.ofSeconds(thresholdSeconds + 30)).pollInterval(Duration.ofMillis(100))
                        .until(() -> firing(prometheus, "MtagentRpoOverThreshold"));
                long late = System.currentTimeMillis() - crossesAtMillis;
                // One scrape (1 s) for the value over the threshold, one evaluation (1 s) of the rule, the poll.
                assertThat(late).as("ms from the RPO crossing its threshold to the alert firing").isBetween(0L, 3500L);
                assertThat(new ControlHttp(agent).get("/health").body()).contains("MT-1001");
            }
        }
    }

    private static boolean firing(PromTools.Server prometheus, String alert) throws Exception {
        JsonNode r = prometheus.query("ALERTS{alertname=\"" + alert + "\",alertstate=\"firing\"}");
        return r.size() > 0;
    }

    @Test
    void whileApplyKeepsUpAppliedMatchesReceivedAndTheApplyRuleStaysQuiet() throws Exception {
        PromTools.requireTool("MonitoringLiveTest", "prometheus");
        Map<String, String> settings = TestAgents.settingsWithRetention(dir, 1, 16L << 20);
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        try (Agent agent = TestAgents.start(io.mtagent.agent.config.AgentConfig.of(settings), registry);
             ReplicationClient client = ReplicationClient.connect(TestAgents.client(agent).build());
             PromTools.Server prometheus = new PromTools.Server(dir, agent, RULES)) {
            DiskStream d = client.openDisk("disk-0", 1);
            SplittableRandom random = new SplittableRandom(23);
            byte[] block = new byte[64 * 1024];
            // Random 32 KiB twice: LZ4 stores it in about half, as it often does real data, so the ingest log's
            // bytes are not the write's bytes: applied and received must still count the same unit.
            for (int i = 0; i < block.length / 2; i++) {
                block[i] = (byte) random.nextInt();
            }
            System.arraycopy(block, 0, block, block.length / 2, block.length / 2);
            await().atMost(Duration.ofSeconds(40)).pollInterval(Duration.ofMillis(250))
                    .ignoreExceptionsInstanceOf(ConnectException.class)
                    .until(() -> prometheus.value("up{job=\"mtagent\"}") == 1.0);
            long end = System.nanoTime() + Duration.ofSeconds(14).toNanos();
            int n = 0;
            while (System.nanoTime() < end) { // about 6 MB/s: well within what apply does here
                d.write(random.nextInt(255) * 65536L, block);
                if (++n % 8 == 0) {
                    d.flush(Duration.ofSeconds(10));
                    Thread.sleep(80); // the stimulus: a paced stream, so the rate Prometheus computes is steady
                }
            }
            d.flush(Duration.ofSeconds(10));
            double ratio = prometheus.value("sum(rate(mtagent_disk_applied_bytes_total[10s]))"
                    + " / sum(rate(mtagent_disk_received_bytes_total[10s]))");
            assertThat(ratio).as("rate(applied) / rate(received) while apply keeps up").isBetween(0.9, 1.1);
            assertThat(prometheus.query("ALERTS{alertname=\"MtagentApplyFallingBehind\"}").size())
                    .as("the apply rule is not even pending").isZero();
            assertThat(prometheus.query("ALERTS").size()).as("no alert at all: %s",
                    prometheus.query("ALERTS")).isZero();
        }
    }

    @Test
    void theDashboardQueriesOnlySeriesTheAgentExports() throws Exception {
        Map<String, String> settings = TestAgents.settingsWithRetention(dir, 1, 4L << 20);
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        try (Agent agent = TestAgents.start(io.mtagent.agent.config.AgentConfig.of(settings), registry);
             ReplicationClient client = ReplicationClient.connect(TestAgents.client(agent).build())) {
            DiskStream d = client.openDisk("disk-0", 1);
            d.write(0, new byte[4096]);
            d.tag(TagType.APP_CONSISTENT, "app-1", System.currentTimeMillis() * 1000);
            d.flush(Duration.ofSeconds(10));
            TestAgents.awaitApplied(agent, Duration.ofSeconds(10));
            ControlHttp http = new ControlHttp(agent);
            // A value that becomes known (the first write's RPO) gets its series at the next refresh, within 1 s.
            // The refresh sets the families one after the other, so a scrape in between sees the RPO without the
            // RPO forecast set after it: wait for the forecast too.
            Set<String> exported = await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(200))
                    .until(() -> names(http.send("GET", "/metrics", null, null).body()),
                            n -> n.contains("mtagent_disk_rpo_seconds")
                                    && n.contains("mtagent_disk_rpo_forecast_seconds"));
            exported.add("up"); // Prometheus' own series for every target

            String dashboard = Files.readString(PromTools.MONITORING.resolve("mtagent-dashboard.json"));
            JsonNode json = ControlHttp.JSON.readTree(dashboard);
            Set<String> queried = new TreeSet<>();
            Matcher m = Pattern.compile("\\b((?:mtagent|jvm|process|system)_[a-z0-9_]+|up)\\b")
                    .matcher(expressions(json));
            while (m.find()) {
                queried.add(m.group(1));
            }
            assertThat(queried).as("series the dashboard queries").hasSizeGreaterThan(30);
            assertThat(exported).as("a live agent's /metrics must hold every series the dashboard queries")
                    .containsAll(queried);
            Set<String> rows = new TreeSet<>();
            json.path("panels").forEach(p -> {
                if (p.path("type").asText().equals("row")) {
                    rows.add(p.path("title").asText());
                }
            });
            assertThat(rows.stream().collect(Collectors.joining("|")))
                    .contains("RPO", "received vs applied", "Backlog", "Retention", "Resync", "Latency", "JVM");
        }
    }

    /** Every query of the dashboard: panel targets and template variables. */
    private static String expressions(JsonNode dashboard) {
        StringBuilder all = new StringBuilder();
        dashboard.path("panels").forEach(p -> p.path("targets").forEach(t -> all.append(t.path("expr").asText())
                .append('\n')));
        dashboard.path("templating").path("list").forEach(v -> all.append(v.path("definition").asText()).append('\n'));
        return all.toString();
    }
}
