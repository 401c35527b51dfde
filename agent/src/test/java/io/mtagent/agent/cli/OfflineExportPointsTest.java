package io.mtagent.agent.cli;

import static io.mtagent.agent.cli.OperatorErrorsTest.assertOneLine;
import static org.assertj.core.api.Assertions.assertThat;

import io.mtagent.agent.Agent;
import io.mtagent.agent.GroupWorkload;
import io.mtagent.agent.TestAgents;
import io.mtagent.agent.disk.ReplicatedDisk;
import io.mtagent.agent.retention.PointCatalog;
import io.mtagent.agent.retention.RollbackService;
import io.mtagent.protocol.DiskState;
import io.mtagent.protocol.client.ReplicationClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code export --offline} resolves points through the running agent's resolver: after a commit at an earlier
 * point, the discarded branch is refused by seq, by tag and by time, "latest" is the point committed to, and a time
 * outside the recoverable window is refused with the window, as the control API does. Each refusal is one line,
 * exit 2, and writes nothing.
 */
class OfflineExportPointsTest {
    private static final int DISK_BYTES = 1 << 20;

    @TempDir
    Path dir;

    @Test
    void theOfflineExportRefusesWhatTheApiRefuses() throws Exception {
        GroupWorkload workload = new GroupWorkload(DISK_BYTES);
        Map<String, String> s = TestAgents.settingsWithRetention(dir, 2, DISK_BYTES);
        s.put("retention.segment.bytes", "64KiB");
        s.put("disk.d0.group", "g");
        s.put("disk.d1.group", "g");
        List<String> tags = new ArrayList<>();
        long committedTo;
        long discardedLast;
        long discardedLastMicros;
        try (Agent agent = TestAgents.start(s);
             ReplicationClient client = ReplicationClient.connect(TestAgents.client(agent).build())) {
            workload.stream(agent, client, 100, 1);
            tags.addAll(workload.groupImages.keySet());
            ReplicatedDisk d0 = agent.disks().byId("disk-0");
            committedTo = PointCatalog.groupPoints(List.of(d0)).get(tags.get(2)).get("disk-0");
            discardedLast = d0.lastDurableSeq();
            discardedLastMicros = PointCatalog.timestampOf(d0, discardedLast);
            RollbackService.recover(d0, committedTo, false, RollbackService.Progress.NONE);
            assertThat(RollbackService.commit(d0)).isEqualTo(DiskState.NEEDS_RESYNC);
        }
        assertThat(tags).as("tags after the commit point").hasSizeGreaterThan(3);
        Path conf = TestAgents.writeConfig(dir.resolve("a.properties"), s);
        Path out = Files.createDirectories(dir.resolve("out")).resolve("disk-0.raw");

        String lastTag = tags.get(tags.size() - 1);
        String afterWindow = Instant.ofEpochSecond(0, discardedLastMicros * 1000).toString();
        for (String[] refused : List.of(
                new String[] {"seq:" + discardedLast, "discarded branch", "commit at seq " + committedTo},
                new String[] {Long.toString(committedTo + 1), "discarded branch"},
                new String[] {"tag:" + lastTag, lastTag},
                new String[] {afterWindow, "after the latest", "use latest"},
                new String[] {"2020-01-01T00:00:00Z", "before the earliest", "["})) {
            Captured run = export(conf, refused[0], out);
            assertOneLine(run, Arrays.copyOfRange(refused, 1, refused.length));
            assertThat(out).as(refused[0] + " wrote nothing").doesNotExist();
        }

        for (String point : List.of("latest", "latest-processed", "tag:" + tags.get(2), "seq:" + committedTo)) {
            Captured run = export(conf, point, out);
            assertThat(run.code()).as(point + ": " + run.err()).isZero();
            assertThat(run.out()).contains("at seq " + committedTo);
            assertThat(Files.readAllBytes(out)).as(point + " is the state committed to")
                    .isEqualTo(workload.groupImages.get(tags.get(2)).get(0));
            Files.delete(out);
        }
    }

    private static Captured export(Path conf, String point, Path out) {
        return Captured.run("export", "--offline", "--config", conf.toString(), "--disk", "disk-0", "--point", point,
                "--out", out.toString());
    }
}
