package io.mtagent.agent.control;

import static org.awaitility.Awaitility.await;
import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.mtagent.agent.Agent;
import io.mtagent.agent.TestAgents;
import io.mtagent.agent.cli.MtAgentCli;
import io.mtagent.agent.config.AgentConfig;
import io.mtagent.protocol.client.DiskStream;
import io.mtagent.protocol.client.ReplicationClient;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Health turns warning when a disk's RPO passes a (test-short) threshold and ok again; `mtagent status` follows. */
class HealthAndCliTest {
    @TempDir
    Path dir;

    @Test
    void rpoWarningAndStatusExitCodes() throws Exception {
        Map<String, String> settings = TestAgents.settingsWithRetention(dir, 1, 4L << 20);
        settings.put("health.rpo.threshold", "3s"); // room for the first CLI call of the JVM
        Path file = ControlHttp.writeProperties(dir.resolve("mtagent.properties"), settings);
        try (Agent agent = TestAgents.start(AgentConfig.load(file, Map.of()), new SimpleMeterRegistry());
             ReplicationClient client = ReplicationClient.connect(TestAgents.client(agent).build())) {
            ControlHttp c = new ControlHttp(agent);
            String[] status = {"status", "--config", file.toString(), "--set",
                "control.listen=127.0.0.1:" + agent.controlAddress().getPort()};
            DiskStream d = client.openDisk("disk-0", 1);
            d.awaitAcked(d.write(0, new byte[4096]), Duration.ofSeconds(10));
            assertThat(MtAgentCli.execute(status)).isZero();
            assertThat(ControlHttp.json(c.send("GET", "/health", null, null)).path("status").asText()).isEqualTo("ok");

            // Stop sending: the RPO grows past the 3 s threshold.
            var health = await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(100))
                    .until(() -> ControlHttp.json(c.send("GET", "/health", null, null)),
                            h -> h.path("status").asText().equals("warning"));
            assertThat(health.path("status").asText()).isEqualTo("warning");
            assertThat(health.path("rules").get(0).path("code").asText()).isEqualTo("MT-1001");
            assertThat(health.path("rules").get(0).path("disk").asText()).isEqualTo("disk-0");
            assertThat(MtAgentCli.execute(status)).isEqualTo(1);
            assertThat(MtAgentCli.execute("replicas", "--config", file.toString(), "--set",
                    "control.listen=127.0.0.1:" + agent.controlAddress().getPort())).isZero();

            d.awaitAcked(d.write(4096, new byte[4096]), Duration.ofSeconds(10)); // catches up
            assertThat(ControlHttp.json(c.send("GET", "/health", null, null)).path("status").asText()).isEqualTo("ok");
            assertThat(MtAgentCli.execute(status)).isZero();
            assertThat(MtAgentCli.execute(status[0], status[1], status[2], status[3], status[4], "--json")).isZero();
        }
    }

    @Test
    void statusWithoutARunningAgentExitsThreeUnknown() throws Exception {
        Map<String, String> settings = TestAgents.settings(dir, 1, 4L << 20);
        Path file = ControlHttp.writeProperties(dir.resolve("mtagent.properties"), settings);
        assertThat(MtAgentCli.execute("status", "--config", file.toString())).isEqualTo(3);
    }

    @Test
    void anAgentWithoutAJournalWarnsThatPointInTimeRecoveryIsOff() throws Exception {
        Map<String, String> settings = TestAgents.settings(dir, 1, 4L << 20); // no retention.dir
        Path file = ControlHttp.writeProperties(dir.resolve("mtagent.properties"), settings);
        try (Agent agent = TestAgents.start(AgentConfig.load(file, Map.of()), new SimpleMeterRegistry())) {
            ControlHttp c = new ControlHttp(agent);
            var health = ControlHttp.json(c.send("GET", "/health", null, null));
            assertThat(health.path("status").asText()).isEqualTo("warning");
            assertThat(health.path("rules").get(0).path("code").asText()).isEqualTo("MT-1005");
            assertThat(health.path("rules").get(0).path("message").asText()).contains("retention.dir is not set");
            var status = ControlHttp.json(c.send("GET", "/status", "Bearer " + c.token, null));
            assertThat(status.path("pointInTimeRecovery").path("on").asBoolean()).isFalse();
            assertThat(MtAgentCli.execute("status", "--config", file.toString(), "--set",
                    "control.listen=127.0.0.1:" + agent.controlAddress().getPort())).isEqualTo(1);
        }
    }
}
