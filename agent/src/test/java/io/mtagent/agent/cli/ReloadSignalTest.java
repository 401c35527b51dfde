package io.mtagent.agent.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.mtagent.agent.TestAgents;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code kill -HUP} (what the unit's ExecReload= sends) on a real agent process: it keeps running, applies the
 * changed policy values, the log level and a newly declared disk, and says in its log what it applied and which
 * changed setting needs a restart.
 */
class ReloadSignalTest {
    @TempDir
    Path dir;

    @Test
    void sighupKeepsTheAgentRunningAndAppliesWhatCanChange() throws Exception {
        int control;
        try (ServerSocket s = new ServerSocket(0)) {
            control = s.getLocalPort();
        }
        Map<String, String> settings = TestAgents.settingsWithRetention(dir, 1, 1 << 20);
        settings.put("control.listen", "127.0.0.1:" + control);
        Path conf = TestAgents.writeConfig(dir.resolve("agent.properties"), settings);
        TestAgents.setPassphrase(dir.resolve("state"));
        Path log = dir.resolve("agent.log");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        ProcessBuilder pb = new ProcessBuilder(java, "-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-cp",
                System.getProperty("java.class.path"), "io.mtagent.agent.cli.MtAgentCli", "run", "--config",
                conf.toString()).redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().put("JOURNAL_STREAM", "8:12345"); // as systemd sets it: log lines carry priorities
        Process agent = pb.start();
        try {
            await().atMost(Duration.ofSeconds(60)).until(() -> read(log).contains("mtagent: ready;")
                    || !agent.isAlive());
            assertThat(agent.isAlive()).as(read(log)).isTrue();
            assertThat(status(conf).path("policy").path("rpoThresholdSeconds").asLong()).isEqualTo(900);

            settings.put("health.rpo.threshold", "7min");
            settings.put("log.level", "debug");
            settings.put("retention.window", "2h");
            settings.put("disk.d1.id", "disk-1");
            settings.put("disk.d1.path", dir.resolve("targets/disk-1.img").toString());
            settings.put("disk.d1.size", "1MiB");
            settings.put("data.idle.timeout", "300s"); // not changeable while running
            TestAgents.writeConfig(conf, settings);
            hangUp(agent);

            await().atMost(Duration.ofSeconds(30)).until(() -> read(log).contains("SIGHUP: re-read"));
            String line = read(log).lines().filter(l -> l.contains("SIGHUP: re-read")).findFirst().orElseThrow();
            assertThat(line).startsWith("<6>RunCommand: SIGHUP: re-read "); // journald priority: info
            assertThat(line).contains("applied health.rpo.threshold=7min (was 15min)", "log.level=debug (was info)",
                    "retention.window=2h (was 1d)", "disks opened: disk-1",
                    "changed but needs a restart (not applied): data.idle.timeout");
            JsonNode status = status(conf);
            assertThat(status.path("policy").path("rpoThresholdSeconds").asLong()).isEqualTo(420);
            assertThat(status.path("disks").findValuesAsText("id")).contains("disk-0", "disk-1");
            assertThat(agent.isAlive()).isTrue();

            // A second reload applies nothing new and still names what needs a restart; a broken file changes
            // nothing and the agent keeps running.
            hangUp(agent);
            await().atMost(Duration.ofSeconds(30)).until(() -> count(read(log), "SIGHUP: re-read") == 2);
            assertThat(read(log).lines().filter(l -> l.contains("SIGHUP: re-read")).skip(1).findFirst().orElseThrow())
                    .contains("changed but needs a restart (not applied): data.idle.timeout").doesNotContain("applied health");
            Path good = Files.copy(conf, dir.resolve("good.properties"));
            Files.writeString(conf, Files.readString(conf) + "health.rpo.treshold=1min\n");
            hangUp(agent);
            await().atMost(Duration.ofSeconds(30)).until(() -> read(log).contains("the configuration file has"
                    + " problems, nothing changed"));
            assertThat(read(log)).contains("did you mean 'health.rpo.threshold'")
                    .containsPattern("(?m)^<4>RunCommand: SIGHUP: the configuration file has problems"); // warning
            assertThat(status(good).path("policy").path("rpoThresholdSeconds").asLong()).isEqualTo(420);
            assertThat(agent.isAlive()).isTrue();
        } finally {
            agent.destroy();
            agent.waitFor(60, TimeUnit.SECONDS);
        }
    }

    private static void hangUp(Process agent) throws Exception {
        assertThat(new ProcessBuilder("kill", "-HUP", String.valueOf(agent.pid())).start().waitFor()).isZero();
    }

    private static JsonNode status(Path conf) throws Exception {
        Captured c = Captured.run("status", "--json", "--config", conf.toString());
        assertThat(c.code()).as(c.err() + c.out()).isBetween(0, 1);
        return new ObjectMapper().readTree(c.out());
    }

    private static String read(Path log) throws Exception {
        return Files.exists(log) ? Files.readString(log, StandardCharsets.UTF_8) : "";
    }

    private static long count(String text, String what) {
        return text.lines().filter(l -> l.contains(what)).count();
    }
}
