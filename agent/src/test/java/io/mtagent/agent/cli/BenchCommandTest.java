package io.mtagent.agent.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.mtagent.agent.Agent;
import io.mtagent.agent.TestAgents;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Properties;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Smoke runs of {@code mtagent bench} against a real in-process agent (TLS, retention on): the JSON summary has
 * every field, every write is acknowledged and applied. Figures are not asserted (shared CI machines).
 */
class BenchCommandTest {
    @TempDir
    Path dir;

    @Test
    void jsonSummaryAgainstARunningAgent() throws Exception {
        Map<String, String> settings = TestAgents.settingsWithRetention(dir, 2, 4 << 20);
        try (Agent agent = TestAgents.start(settings)) {
            // The CLI reaches the control API through a configuration file naming the real port.
            settings.put("control.listen", "127.0.0.1:" + agent.controlAddress().getPort());
            Path conf = dir.resolve("agent.properties");
            Properties p = new Properties();
            p.putAll(settings);
            try (var out = Files.newOutputStream(conf)) {
                p.store(out, null);
            }
            Path pass = dir.resolve("pass.txt");
            Files.writeString(pass, TestAgents.PASSPHRASE + "\n");

            String[] out = run("bench", "--connect", "127.0.0.1:" + agent.dataAddress().getPort(),
                    "--passphrase-file", pass.toString(), "--fingerprint", agent.identity().fingerprintText(),
                    "--config", conf.toString(), "--agent-pid", String.valueOf(ProcessHandle.current().pid()),
                    "--profile", "rand-64k", "--disks", "2", "--seconds", "2", "--rate", "4", "--tag-seconds", "1",
                    "--warmup", "1", "--baseline", "java", "--baseline-dir", dir.resolve("baseline").toString(), "--json");
            assertThat(out[0]).as(out[1]).isEqualTo("0");
            JsonNode j = new ObjectMapper().readTree(out[2]);
            assertThat(j.path("profile").asText()).isEqualTo("rand-64k");
            assertThat(j.path("disks").asInt()).isEqualTo(2);
            assertThat(j.path("retention").asBoolean()).isTrue();
            assertThat(j.path("received").path("writes").asLong()).isPositive();
            assertThat(j.path("received").path("bytes").asLong())
                    .isEqualTo(j.path("received").path("writes").asLong() * 65536);
            assertThat(j.path("received").path("MBps").asDouble()).isPositive();
            assertThat(j.path("received").path("tags").asLong()).isPositive();
            assertThat(j.path("applied").path("MBps").asDouble()).isPositive();
            assertThat(j.path("applied").path("writesPerSecond").asDouble()).isPositive();
            assertThat(j.path("ackLatencyMs").path("samples").asLong()).isEqualTo(j.path("received").path("writes").asLong());
            assertThat(j.path("ackLatencyMs").path("p50").asDouble()).isPositive();
            assertThat(j.path("ackLatencyMs").path("p99").asDouble())
                    .isGreaterThanOrEqualTo(j.path("ackLatencyMs").path("p50").asDouble());
            assertThat(j.path("ackLatencyMs").path("p999").asDouble())
                    .isGreaterThanOrEqualTo(j.path("ackLatencyMs").path("p99").asDouble());
            assertThat(j.path("allAcked").asBoolean()).isTrue();
            assertThat(j.path("unacked").asLong()).isZero();
            assertThat(j.path("perDiskMBps").path("minOverMedian").isNumber()).isTrue();
            assertThat(j.path("agent").path("cpuSeconds").asDouble()).isPositive();
            assertThat(j.path("agent").path("cpuSecondsPerGB").asDouble()).isPositive();
            assertThat(j.path("agent").path("peakRssMiB").asDouble()).isPositive();
            assertThat(j.path("agent").path("includesLoadGenerator").asBoolean()).isTrue();
            assertThat(j.path("loadGenerator").path("cpuSeconds").asDouble()).isPositive();
            assertThat(j.path("baseline").path("tool").asText()).isEqualTo("java-writer");
            assertThat(j.path("baseline").path("MBps").asDouble()).isPositive();
            // Two baseline runs by default; the fastest is the one the ratios use.
            assertThat(j.path("baseline").path("runsMBps")).hasSize(2);
            double fastest = Math.max(j.path("baseline").path("runsMBps").get(0).asDouble(),
                    j.path("baseline").path("runsMBps").get(1).asDouble());
            assertThat(j.path("baseline").path("MBps").asDouble()).isEqualTo(fastest);
            assertThat(j.path("baseline").path("pattern").asText()).contains("before-image");
            assertThat(j.path("ratio").path("receivedOverBaseline").asDouble()).isPositive();
            assertThat(j.path("ratio").path("appliedOverBaseline").asDouble()).isPositive();
            assertThat(dir.resolve("baseline")).doesNotExist();
            // The agent holds what the bench says it sent, plus the (uncounted) warm-up.
            long durable = agent.disks().byId("disk-0").lastDurableSeq() + agent.disks().byId("disk-1").lastDurableSeq();
            assertThat(durable).isGreaterThan(j.path("received").path("writes").asLong() + j.path("received").path("tags").asLong());
        }
    }

    @Test
    void refusesToGuessWhichAgent() throws Exception {
        String[] out = run("bench", "--profile", "rand-4k");
        assertThat(out[0]).isEqualTo("2");
        assertThat(out[1]).contains("--spawn").contains("--connect");
        assertThat(run("bench", "--spawn", "--profile", "nope")[1]).contains("unknown profile 'nope'");
    }

    /** Runs the CLI in-process; returns {exit code, stderr, stdout}. */
    static String[] run(String... args) {
        PrintStream oldOut = System.out;
        PrintStream oldErr = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(out, true));
            System.setErr(new PrintStream(err, true));
            int code = MtAgentCli.execute(args);
            return new String[] {String.valueOf(code), err.toString(), out.toString()};
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
        }
    }
}
