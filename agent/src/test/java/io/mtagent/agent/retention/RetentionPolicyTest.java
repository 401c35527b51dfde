package io.mtagent.agent.retention;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mtagent.agent.Agent;
import io.mtagent.agent.TestAgents;
import io.mtagent.agent.apply.Applier;
import io.mtagent.agent.apply.Applier.Hold;
import io.mtagent.agent.control.RateTracker;
import io.mtagent.agent.control.RuntimeSettings;
import io.mtagent.agent.control.StatusReport;
import io.mtagent.agent.disk.ReplicatedDisk;
import io.mtagent.agent.journal.PointInTimeView;
import io.mtagent.agent.journal.RecoveryPoint;
import io.mtagent.agent.journal.RetentionJournal;
import io.mtagent.agent.sim.DiskModel;
import io.mtagent.protocol.DiskState;
import io.mtagent.protocol.TagType;
import io.mtagent.protocol.client.DiskStream;
import io.mtagent.protocol.client.ReplicationClient;
import io.netty.buffer.Unpooled;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Time window with a fake clock, space cap and its policies, and views holding back pruning. */
class RetentionPolicyTest {
    private static final int DISK_BYTES = 1 << 20;
    private static final long SECOND = 1_000_000;
    private static final long T0 = 1_700_000_000L * SECOND;

    @TempDir
    Path dir;
    Agent agent;
    ReplicatedDisk disk;
    final TreeMap<Long, byte[]> snapshots = new TreeMap<>(); // tag seq → image
    final TreeMap<Long, Long> tagTime = new TreeMap<>();
    final AtomicLong clock = new AtomicLong();

    @BeforeEach
    void streamTwoHundredSecondsOfWrites() throws Exception {
        Map<String, String> s = TestAgents.settingsWithRetention(dir, 1, DISK_BYTES);
        s.put("retention.segment.bytes", "64KiB");
        agent = TestAgents.start(s);
        disk = agent.disks().byId("disk-0");
        DiskModel model = new DiskModel(DISK_BYTES);
        SplittableRandom r = new SplittableRandom(3);
        try (ReplicationClient client = ReplicationClient.connect(TestAgents.client(agent).compress(false).build())) {
            DiskStream st = client.openDisk("disk-0", 1);
            for (int i = 1; i <= 200; i++) {
                byte[] data = new byte[4096];
                r.nextBytes(data);
                long off = 4096L * r.nextInt(DISK_BYTES / 4096);
                st.write(off, Unpooled.wrappedBuffer(data), T0 + i * SECOND);
                model.apply(off, data);
                if (i % 10 == 0) {
                    long tag = st.tag(TagType.CRASH_CONSISTENT, "t" + i, T0 + i * SECOND);
                    snapshots.put(tag, model.snapshot());
                    tagTime.put(tag, T0 + i * SECOND);
                }
            }
            st.flush(Duration.ofSeconds(30));
        }
        TestAgents.awaitApplied(agent, Duration.ofSeconds(30));
        clock.set(T0 + 200 * SECOND);
    }

    @org.junit.jupiter.api.AfterEach
    void stop() {
        agent.close();
    }

    private RetentionEnforcer enforcer(Duration window, long cap, SpacePolicy policy) {
        return new RetentionEnforcer(agent.disks()::all, window, cap, policy, clock::get);
    }

    @Test
    void theTimeWindowPrunesOldSegmentsAndKeepsEveryPointInsideIt() throws Exception {
        RetentionJournal j = disk.journal();
        long before = j.sizeBytes();
        int pruned = enforcer(Duration.ofSeconds(50), Long.MAX_VALUE, SpacePolicy.SHRINK_WINDOW).enforce();
        assertThat(pruned).isPositive();
        assertThat(j.sizeBytes()).isLessThan(before);
        RecoveryPoint earliest = PointCatalog.earliest(disk);
        assertThat(earliest.timestampMicros()).as("nothing inside the window was pruned")
                .isLessThanOrEqualTo(clock.get() - 50 * SECOND);
        for (Map.Entry<Long, byte[]> e : snapshots.entrySet()) {
            if (e.getKey() >= earliest.seq()) {
                try (PointInTimeView v = disk.view(e.getKey(), Duration.ofSeconds(5))) {
                    assertThat(v.read(0, DISK_BYTES)).as("view at seq %d", e.getKey()).isEqualTo(e.getValue());
                }
            } else {
                assertThatThrownBy(() -> PointCatalog.resolve(disk, "seq:" + e.getKey()))
                        .hasMessageContaining("older than the retention window");
            }
        }
        assertThat(snapshots.headMap(earliest.seq()).size()).as("some tags fell out of the window").isPositive();
    }

    @Test
    void anOpenViewHoldsBackPruningUntilClosed() throws Exception {
        long oldest = snapshots.firstKey();
        PointInTimeView view = disk.view(oldest, Duration.ofSeconds(5));
        enforcer(Duration.ofSeconds(10), Long.MAX_VALUE, SpacePolicy.SHRINK_WINDOW).enforce();
        assertThat(PointCatalog.earliest(disk).seq()).isLessThanOrEqualTo(oldest);
        assertThat(view.read(0, DISK_BYTES)).isEqualTo(snapshots.get(oldest));
        view.close();
        enforcer(Duration.ofSeconds(10), Long.MAX_VALUE, SpacePolicy.SHRINK_WINDOW).enforce();
        assertThat(PointCatalog.earliest(disk).seq()).isGreaterThan(oldest);
    }

    @Test
    void theSpaceCapShrinksTheWindowWithAWarningByDefault() throws Exception {
        long cap = disk.journal().sizeBytes() / 3;
        RetentionEnforcer e = enforcer(Duration.ofDays(1), cap, SpacePolicy.SHRINK_WINDOW);
        e.enforce();
        assertThat(disk.journal().sizeBytes()).isLessThanOrEqualTo(cap);
        assertThat(e.windowShortened()).isTrue();
        long latestTag = snapshots.lastKey();
        try (PointInTimeView v = disk.view(latestTag, Duration.ofSeconds(5))) {
            assertThat(v.read(0, DISK_BYTES)).isEqualTo(snapshots.get(latestTag));
        }
    }

    /**
     * The operator's pause and the retention volume's pause-apply are separate holds: releasing one never lifts the
     * other, and the applier runs only when neither holds (the disk's reported state stays true to what it does).
     */
    @Test
    void theRetentionCapAndTheOperatorHoldTheApplierEachOnTheirOwn() throws Exception {
        long size = disk.journal().sizeBytes();
        RetentionEnforcer cap = enforcer(Duration.ofDays(1), size / 2, SpacePolicy.PAUSE_APPLY);
        cap.enforce();
        disk.setPaused(true, "test: paused by the operator");
        cap.changePolicy(Duration.ofDays(1), Long.MAX_VALUE);
        cap.enforce();
        assertThat(cap.holding()).as("back under the cap").isFalse();
        assertThat(disk.applyControl().holds()).containsExactly(Hold.OPERATOR);
        assertThat(disk.applyControl().state()).as("still paused by the operator").isEqualTo(Applier.State.PAUSED);
        assertThat(disk.state()).isEqualTo(DiskState.PAUSED);

        cap.changePolicy(Duration.ofDays(1), size / 2);
        cap.enforce();
        disk.setPaused(false, "test: resumed by the operator");
        assertThat(disk.applyControl().holds()).containsExactly(Hold.RETENTION_CAP);
        assertThat(disk.applyControl().state()).as("still held by the retention cap").isEqualTo(Applier.State.PAUSED);
        assertThat(new StatusReport(agent, new RuntimeSettings(agent.config()), new RateTracker(30)).disks().get(0)
                .get("applyHeldBy")).as("status says who holds it")
                .isEqualTo(List.of("retention-cap"));

        cap.changePolicy(Duration.ofDays(1), Long.MAX_VALUE);
        cap.enforce();
        assertThat(disk.applyControl().holds()).isEmpty();
        assertThat(disk.applyControl().state()).isEqualTo(Applier.State.RUNNING);
    }

    @Test
    void pauseApplyAndStopWritesHoldReplicationInsteadOfPruning() throws Exception {
        long size = disk.journal().sizeBytes();
        RetentionEnforcer pause = enforcer(Duration.ofDays(1), size / 2, SpacePolicy.PAUSE_APPLY);
        pause.enforce();
        assertThat(pause.holding()).isTrue();
        assertThat(disk.applyControl().state()).isEqualTo(Applier.State.PAUSED);
        assertThat(disk.journal().sizeBytes()).as("nothing pruned inside the window").isEqualTo(size);
        disk.applyControl().resume(Hold.RETENTION_CAP);

        RetentionEnforcer stop = enforcer(Duration.ofDays(1), size / 2, SpacePolicy.STOP_WRITES);
        stop.enforce();
        assertThat(disk.overQuota()).as("credit withheld").isTrue();
        disk.setAcceptingWrites(true);
        assertThat(disk.overQuota()).isFalse();
    }
}
