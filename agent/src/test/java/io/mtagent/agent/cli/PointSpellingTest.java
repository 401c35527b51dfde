package io.mtagent.agent.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.mtagent.agent.Agent;
import io.mtagent.agent.TestAgents;
import io.mtagent.protocol.TagType;
import io.mtagent.protocol.client.DiskStream;
import io.mtagent.protocol.client.ReplicationClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * One point syntax: every spelling {@code mtagent points --json} and the text table print for a point (its kind for
 * the derived points, its name, its seq, its time) is accepted back by {@code export}, {@code nbd} and
 * {@code recover}, and names the same seq in each; a disk is accepted by its configured name as well as its id.
 */
class PointSpellingTest {
    @TempDir
    Path dir;

    @Test
    void everySpellingThatPointsPrintsIsAcceptedByExportNbdAndRecover() throws Exception {
        Map<String, String> s = TestAgents.settingsWithRetention(dir, 1, 1 << 20);
        try (Agent agent = TestAgents.start(s);
             ReplicationClient client = ReplicationClient.connect(TestAgents.client(agent)
                     .pinnedFingerprint(agent.identity().fingerprintText()).build())) {
            DiskStream d = client.openDisk("disk-0", 1);
            long now = System.currentTimeMillis() * 1000;
            d.write(0, new byte[4096]);
            d.tag(TagType.CRASH_CONSISTENT, "before-upgrade", now + 1000);
            d.write(4096, new byte[4096]);
            d.awaitAcked(d.tag(TagType.APP_CONSISTENT, "nightly", now + 2000), Duration.ofSeconds(10));
            d.awaitAcked(d.write(8192, new byte[4096]), Duration.ofSeconds(10));
            TestAgents.awaitApplied(agent, Duration.ofSeconds(10));
            s.put("control.listen", "127.0.0.1:" + agent.controlAddress().getPort());
            Path conf = TestAgents.writeConfig(dir.resolve("cli.properties"), s);
            Files.createDirectories(dir.resolve("out"));

            Captured points = Captured.run("points", "--disk", "disk-0", "--json", "--config", conf.toString());
            assertThat(points.code()).as(points.err()).isZero();
            JsonNode list = new ObjectMapper().readTree(points.out()).path("points");
            assertThat(list.findValuesAsText("kind")).contains("crash-consistent", "app-consistent", "latest",
                    "latest-processed", "latest-app-consistent");
            Captured table = Captured.run("points", "--disk", "disk-0", "--config", conf.toString());
            int checked = 0;
            for (JsonNode p : list) {
                long seq = p.path("seq").asLong();
                Set<String> spellings = new LinkedHashSet<>();
                String kind = p.path("kind").asText();
                if (kind.startsWith("latest")) {
                    spellings.add(kind);
                }
                spellings.add(p.path("name").asText());
                spellings.add(String.valueOf(seq));
                spellings.add("seq:" + seq);
                if (p.path("time").isTextual()) {
                    spellings.add(p.path("time").asText());
                }
                for (String spelling : spellings) {
                    if (!spelling.startsWith("seq:")) {
                        assertThat(table.out()).as("the table prints %s", spelling).contains(spelling);
                    }
                    // The configured name d0 and the id disk-0 are the same disk.
                    String disk = checked++ % 2 == 0 ? "disk-0" : "d0";
                    Captured export = Captured.run("export", "--disk", disk, "--point", spelling, "--out",
                            dir.resolve("out").resolve("e" + checked + ".raw").toString(), "--config", conf.toString());
                    assertThat(export.code()).as("export --point '%s': %s", spelling, export.err()).isZero();
                    Captured recover = Captured.run("recover", "--disk", disk, "--to", spelling, "--dry-run",
                            "--config", conf.toString());
                    assertThat(recover.code()).as("recover --to '%s': %s", spelling, recover.err()).isZero();
                    if (!kind.equals("latest") && !spelling.contains("T")) {
                        // a time names the longest prefix written at or before it: the same seq or a later one
                        assertThat(export.out()).as(spelling).contains("at seq " + seq);
                        assertThat(recover.out()).as(spelling).contains("(seq " + seq + ",");
                    }
                    // Served last: a recover (even a dry run) is refused while the disk is served over NBD.
                    Captured nbd = Captured.run("nbd", "--disk", disk, "--point", spelling, "--config",
                            conf.toString());
                    assertThat(nbd.code()).as("nbd --point '%s': %s", spelling, nbd.err()).isZero();
                    stopServing(nbd.out(), conf);
                }
            }
            assertThat(checked).isGreaterThanOrEqualTo(20);

            // A malformed point is one line with the grammar; a time without a zone says to add one.
            Captured bad = Captured.run("recover", "--disk", "disk-0", "--to", "2026-11-23T10:42:17", "--dry-run",
                    "--config", conf.toString());
            assertThat(bad.code()).isEqualTo(2);
            assertThat(bad.err()).contains("has no time zone", "2026-11-23T10:42:17Z");
        }
    }

    private static void stopServing(String nbdOut, Path conf) {
        List<String> stop = new ArrayList<>();
        nbdOut.lines().filter(l -> l.contains("mtagent nbd --stop")).findFirst().ifPresent(l -> {
            String name = l.substring(l.indexOf("--stop '") + 8, l.lastIndexOf('\''));
            stop.add(name);
        });
        for (String name : stop) {
            assertThat(Captured.run("nbd", "--stop", name, "--config", conf.toString()).code()).isZero();
        }
    }
}
