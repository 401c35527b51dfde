package io.mtagent.agent.retention;

import static org.awaitility.Awaitility.await;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mtagent.agent.Agent;
import io.mtagent.agent.TestAgents;
import io.mtagent.agent.disk.ReplicatedDisk;
import io.mtagent.agent.journal.JournalDamage;
import io.mtagent.agent.journal.PointInTimeView;
import io.mtagent.agent.log.CorruptLogException;
import io.mtagent.agent.sim.DiskModel;
import io.mtagent.protocol.DiskState;
import io.mtagent.protocol.ErrorCode;
import io.mtagent.protocol.TagType;
import io.mtagent.protocol.client.DiskStream;
import io.mtagent.protocol.client.ReplicationClient;
import io.netty.buffer.Unpooled;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Rollback of a replication group to a group point, change of point, back to latest, rollback again, commit;
 * and a rollback interrupted half-way that the next start finishes.
 */
class RollbackTest {
    private static final int DISK_BYTES = 1 << 20;

    @TempDir
    Path dir;

    private final io.mtagent.agent.GroupWorkload workload = new io.mtagent.agent.GroupWorkload(DISK_BYTES);

    private Map<String, String> settings() {
        Map<String, String> s = TestAgents.settingsWithRetention(dir, 2, DISK_BYTES);
        s.put("retention.segment.bytes", "64KiB"); // many sealed segments: views read through their index files
        s.put("disk.d0.group", "g");
        s.put("disk.d1.group", "g");
        return s;
    }


    private static List<ReplicatedDisk> group(Agent agent) {
        return List.of(agent.disks().byId("disk-0"), agent.disks().byId("disk-1"));
    }

    private void recoverGroup(Agent agent, String point) throws Exception {
        Map<String, Long> seqs = PointCatalog.groupPoints(group(agent)).get(point);
        assertThat(seqs).as("group point %s on both disks", point).hasSize(2);
        for (ReplicatedDisk d : group(agent)) {
            RollbackService.recover(d, seqs.get(d.id()), false, RollbackService.Progress.NONE);
        }
    }

    private void assertTargets(List<byte[]> expected, String what) throws Exception {
        for (int d = 0; d < 2; d++) {
            assertThat(java.util.Arrays.mismatch(Files.readAllBytes(TestAgents.target(dir, d)), expected.get(d)))
                    .as("%s: disk-%d first differing byte", what, d).isEqualTo(-1);
        }
    }

    @Test
    void groupRollbackChangeOfPointBackToLatestAndCommit() throws Exception {
        try (Agent agent = TestAgents.start(settings());
             ReplicationClient client = ReplicationClient.connect(TestAgents.client(agent).build())) {
            workload.stream(agent, client, 120, 1);
            List<String> points = new ArrayList<>(workload.groupImages.keySet());
            List<byte[]> latest = List.of(workload.models.get(0).snapshot(), workload.models.get(1).snapshot());

            recoverGroup(agent, points.get(1));
            assertTargets(workload.groupImages.get(points.get(1)), "rolled back to " + points.get(1));
            for (ReplicatedDisk d : group(agent)) {
                assertThat(d.state()).isEqualTo(DiskState.RECOVERING);
            }
            // Replication is stopped: a process server is told so.
            DiskStream s = client.openDisk("disk-0", 1);
            assertThat(s.info().state()).isEqualTo(DiskState.RECOVERING);
            assertThat(s.stoppedBy().code()).isEqualTo(ErrorCode.DISK_RECOVERING);
            assertThatThrownBy(() -> group(agent).get(0).view(1, Duration.ofSeconds(1)).close())
                    .hasMessageContaining("rolled back");

            recoverGroup(agent, points.get(4));
            assertTargets(workload.groupImages.get(points.get(4)), "changed to " + points.get(4));
            recoverGroup(agent, points.get(0));
            assertTargets(workload.groupImages.get(points.get(0)), "changed to " + points.get(0));

            for (ReplicatedDisk d : group(agent)) {
                RollbackService.restoreLatest(d, RollbackService.Progress.NONE);
            }
            assertTargets(latest, "back to latest");

            recoverGroup(agent, points.get(2));
            assertTargets(workload.groupImages.get(points.get(2)), "rolled back again to " + points.get(2));
            for (ReplicatedDisk d : group(agent)) {
                assertThat(RollbackService.commit(d)).isEqualTo(DiskState.NEEDS_RESYNC);
                assertThat(d.state()).isEqualTo(DiskState.NEEDS_RESYNC);
                assertThat(d.stateReason()).contains("committed");
            }
            assertTargets(workload.groupImages.get(points.get(2)), "committed at " + points.get(2));
            long committed = PointCatalog.groupPoints(group(agent)).get(points.get(2)).get("disk-0");
            assertThatThrownBy(() -> group(agent).get(0).view(committed + 1, Duration.ofSeconds(1)).close())
                    .hasMessageContaining("discarded branch");
            try (PointInTimeView v = group(agent).get(0).view(committed, Duration.ofSeconds(5))) {
                assertThat(v.read(0, DISK_BYTES)).isEqualTo(workload.groupImages.get(points.get(2)).get(0));
            }
        }
    }

    @Test
    void commitAtLatestResumesReplication() throws Exception {
        try (Agent agent = TestAgents.start(settings());
             ReplicationClient client = ReplicationClient.connect(TestAgents.client(agent).build())) {
            workload.stream(agent, client, 40, 2);
            List<String> points = new ArrayList<>(workload.groupImages.keySet());
            recoverGroup(agent, points.get(0));
            for (ReplicatedDisk d : group(agent)) {
                RollbackService.restoreLatest(d, RollbackService.Progress.NONE);
                assertThat(RollbackService.commit(d)).isEqualTo(DiskState.PROTECTED);
            }
            workload.stream(agent, client, 40, 3); // replication goes on
            assertTargets(List.of(workload.models.get(0).snapshot(), workload.models.get(1).snapshot()), "after resuming");
        }
    }

    @Test
    void aRollbackInterruptedHalfWayIsFinishedByTheNextStart() throws Exception {
        String point;
        long seq0;
        try (Agent agent = TestAgents.start(settings());
             ReplicationClient client = ReplicationClient.connect(TestAgents.client(agent).build())) {
            workload.stream(agent, client, 100, 4);
            point = new ArrayList<>(workload.groupImages.keySet()).get(0);
            seq0 = PointCatalog.groupPoints(group(agent)).get(point).get("disk-0");
            ReplicatedDisk d0 = group(agent).get(0);
            RollbackService.Progress crash = (done, total) -> {
                if (done > total * 3 / 4) { // in the middle of writing before-images onto the target
                    throw new IllegalStateException("simulated crash");
                }
            };
            assertThatThrownBy(() -> RollbackService.recover(d0, seq0, false, crash)).hasMessageContaining("simulated");
            assertThat(RollbackService.describe(d0)).startsWith("rolling");
        }
        try (Agent agent = TestAgents.start(settings())) {
            ReplicatedDisk d0 = agent.disks().byId("disk-0");
            assertThat(RollbackService.describe(d0)).isEqualTo("at-point seq " + seq0);
            assertThat(d0.state()).isEqualTo(DiskState.RECOVERING);
            assertThat(java.util.Arrays.mismatch(Files.readAllBytes(TestAgents.target(dir, 0)),
                    workload.groupImages.get(point).get(0))).as("finished rollback, first differing byte").isEqualTo(-1);
            // And it is still reversible: back to latest gives the disk as it was before the rollback.
            RollbackService.restoreLatest(d0, RollbackService.Progress.NONE);
            assertThat(Files.readAllBytes(TestAgents.target(dir, 0))).isEqualTo(workload.models.get(0).snapshot());
        }
    }

    /**
     * A flipped byte in a sealed journal segment (which a restart does not re-read): the start-up scrub finds it and
     * the status says MT-2005; a rollback that needs the damaged before-image refuses before it touches the target.
     */
    @Test
    void aDamagedJournalIsFoundByTheScrubAndARollbackThroughItLeavesTheTargetAlone() throws Exception {
        long seq0;
        try (Agent agent = TestAgents.start(settings());
             ReplicationClient client = ReplicationClient.connect(TestAgents.client(agent).build())) {
            workload.stream(agent, client, 100, 5);
            seq0 = PointCatalog.groupPoints(group(agent)).get(new ArrayList<>(workload.groupImages.keySet()).get(0))
                    .get("disk-0");
        }
        Path jdir = dir.resolve("retention").resolve("d0");
        List<Path> segments;
        try (var files = Files.list(jdir)) {
            segments = files.filter(p -> p.toString().endsWith(".jrn")).sorted().toList();
        }
        assertThat(segments.size()).as("sealed segments").isGreaterThan(2);
        Path sealedSegment = segments.get(segments.size() - 2);
        long flipped = JournalDamage.flipBeforeImageAfter(sealedSegment, seq0);
        assertThat(flipped).isPositive();

        Map<String, String> s = settings();
        s.put("retention.scrub.delay", "0s");
        try (Agent agent = TestAgents.start(s)) {
            ReplicatedDisk d0 = agent.disks().byId("disk-0");
            await().atMost(Duration.ofSeconds(30)).until(() -> d0.journal().damage() != null);
            assertThat(d0.journal().damage()).as("found by the scrub").contains(sealedSegment.getFileName().toString());
            var health = new io.mtagent.agent.control.StatusReport(agent, agent.runtimeSettings(),
                    new io.mtagent.agent.control.RateTracker(4)).health();
            assertThat(health.findings()).extracting(f -> f.code()).contains("MT-2005");

            byte[] before = Files.readAllBytes(TestAgents.target(dir, 0));
            assertThatThrownBy(() -> RollbackService.recover(d0, seq0, false, RollbackService.Progress.NONE))
                    .isInstanceOf(io.mtagent.agent.log.CorruptLogException.class)
                    .hasMessageContaining(sealedSegment.getFileName().toString());
            assertThat(Files.readAllBytes(TestAgents.target(dir, 0))).as("target untouched").isEqualTo(before);
            assertThat(RollbackService.describe(d0)).startsWith("at-latest");
        }
    }
}
