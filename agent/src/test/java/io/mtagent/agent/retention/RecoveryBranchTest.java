package io.mtagent.agent.retention;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mtagent.agent.Agent;
import io.mtagent.agent.GroupWorkload;
import io.mtagent.agent.TestAgents;
import io.mtagent.agent.disk.ReplicatedDisk;
import io.mtagent.agent.journal.PointInTimeView;
import io.mtagent.agent.journal.RecoveryPoint;
import io.mtagent.protocol.DiskState;
import io.mtagent.protocol.TagType;
import io.mtagent.protocol.client.DiskStream;
import io.mtagent.protocol.client.ReplicationClient;
import io.mtagent.protocol.client.SourceDevice;
import io.netty.buffer.Unpooled;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The recovery history is a tree (docs/ARCHITECTURE.md, "Recovery history is a tree"): after a commit at an earlier point P and the resync that follows,
 * the discarded branch (P, C] is neither listed nor viewable, and the points written after the resync are
 * ordinary points (view, rollback), also after a restart; points before P stay reachable. Times outside the
 * recoverable window are refused with the window in the message.
 */
class RecoveryBranchTest {
    private static final int DISK_BYTES = 1 << 20;

    @TempDir
    Path dir;

    private final GroupWorkload workload = new GroupWorkload(DISK_BYTES);

    private Map<String, String> settings() {
        Map<String, String> s = TestAgents.settingsWithRetention(dir, 2, DISK_BYTES);
        s.put("retention.segment.bytes", "64KiB");
        s.put("disk.d0.group", "g");
        s.put("disk.d1.group", "g");
        return s;
    }

    @Test
    void pointsAfterTheResyncThatFollowsACommitAreOrdinaryAndTheDiscardedBranchIsGone() throws Exception {
        String committedTo;
        long discardedFirst;
        long discardedLast;
        byte[] atT3;
        List<String> before = new ArrayList<>();
        try (Agent agent = TestAgents.start(settings());
             ReplicationClient client = ReplicationClient.connect(TestAgents.client(agent).build())) {
            workload.stream(agent, client, 100, 1);
            before.addAll(workload.groupImages.keySet());
            committedTo = before.get(2);
            ReplicatedDisk d0 = agent.disks().byId("disk-0");
            long p = PointCatalog.groupPoints(List.of(d0)).get(committedTo).get("disk-0");
            discardedFirst = p + 1;
            discardedLast = d0.lastDurableSeq();
            RollbackService.recover(d0, p, false, RollbackService.Progress.NONE);
            assertThat(RollbackService.commit(d0)).isEqualTo(DiskState.NEEDS_RESYNC);

            assertNoPointIn(d0, discardedFirst, discardedLast);
            assertThat(PointCatalog.resolve(d0, "latest").seq()).as("latest is what the target holds").isEqualTo(p);
            assertThatThrownBy(() -> d0.view(discardedLast, Duration.ZERO).close())
                    .hasMessageContaining("discarded branch").hasMessageContaining("commit at seq " + p);
            assertThatThrownBy(() -> PointCatalog.resolve(d0, "seq:" + discardedFirst))
                    .hasMessageContaining("discarded branch");
            assertThatThrownBy(() -> RollbackService.recover(d0, discardedLast, false, RollbackService.Progress.NONE))
                    .hasMessageContaining("discarded branch");

            // The source resyncs the disk (differential: back to the model at latest), then writes on.
            Path source = dir.resolve("source-0.img");
            Files.write(source, workload.models.get(0).snapshot());
            DiskStream s = client.openDisk("disk-0", 2);
            try (SourceDevice src = SourceDevice.open(source)) {
                s.resync(src);
            }
            assertThat(d0.state()).isEqualTo(DiskState.PROTECTED);
            SplittableRandom r = new SplittableRandom(7);
            for (int i = 0; i < 20; i++) {
                byte[] data = new byte[4096];
                r.nextBytes(data);
                long off = 4096L * r.nextInt(DISK_BYTES / 4096);
                s.write(off, Unpooled.wrappedBuffer(data), System.currentTimeMillis() * 1000);
                workload.models.get(0).apply(off, data);
            }
            s.awaitAcked(s.tag(TagType.APP_CONSISTENT, "t3", System.currentTimeMillis() * 1000), Duration.ofSeconds(10));
            atT3 = workload.models.get(0).snapshot();
            assertBranch(d0, committedTo, discardedFirst, discardedLast, atT3, before);
        }
        try (Agent agent = TestAgents.start(settings())) {
            ReplicatedDisk d0 = agent.disks().byId("disk-0");
            assertBranch(d0, committedTo, discardedFirst, discardedLast, atT3, before);
            // And an ordinary point after the resync can be recovered to.
            long t3 = PointCatalog.resolve(d0, "tag:t3").seq();
            RollbackService.recover(d0, t3, false, RollbackService.Progress.NONE);
            assertThat(Files.readAllBytes(TestAgents.target(dir, 0))).isEqualTo(atT3);
        }
    }

    private void assertBranch(ReplicatedDisk d0, String committedTo, long first, long last, byte[] atT3,
                              List<String> before) throws Exception {
        assertNoPointIn(d0, first, last);
        long t3 = PointCatalog.resolve(d0, "tag:t3").seq();
        assertThat(t3).isGreaterThan(last);
        for (String spec : List.of("tag:t3", "latest")) {
            try (PointInTimeView v = d0.view(PointCatalog.resolve(d0, spec).seq(), Duration.ofSeconds(10))) {
                assertThat(v.read(0, DISK_BYTES)).as(spec + " after the resync that followed the commit").isEqualTo(atT3);
            }
        }
        // Points before the commit point stay reachable.
        for (String name : before.subList(0, 3)) {
            try (PointInTimeView v = d0.view(PointCatalog.resolve(d0, "tag:" + name).seq(), Duration.ofSeconds(10))) {
                assertThat(v.read(0, DISK_BYTES)).as(name).isEqualTo(workload.groupImages.get(name).get(0));
            }
        }
        assertThatThrownBy(() -> d0.view(last, Duration.ZERO).close()).hasMessageContaining("discarded branch");
    }

    private static void assertNoPointIn(ReplicatedDisk d, long first, long last) {
        for (RecoveryPoint p : PointCatalog.points(d)) {
            assertThat(p.seq() >= first && p.seq() <= last).as("%s listed, but seq %d..%d are discarded", p, first, last).isFalse();
        }
    }

    @Test
    void timesOutsideTheWindowAreRefusedWithTheWindow() throws Exception {
        try (Agent agent = TestAgents.start(settings());
             ReplicationClient client = ReplicationClient.connect(TestAgents.client(agent).build())) {
            workload.stream(agent, client, 20, 3);
            ReplicatedDisk d0 = agent.disks().byId("disk-0");
            long[] window = PointCatalog.timeWindow(d0);
            assertThat(window).isNotNull();
            assertThatThrownBy(() -> PointCatalog.resolve(d0, "2020-01-01T00:00:00Z"))
                    .hasMessageContaining("before the earliest").hasMessageContaining("[");
            String future = Instant.now().plusSeconds(3600).toString();
            assertThatThrownBy(() -> PointCatalog.resolve(d0, future)).hasMessageContaining("after the latest")
                    .hasMessageContaining("use latest");
            Instant inside = Instant.ofEpochSecond(0, window[1] * 1000);
            assertThat(PointCatalog.resolve(d0, inside.toString()).seq()).isEqualTo(d0.lastDurableSeq());
        }
    }
}
