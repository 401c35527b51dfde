package io.mtagent.agent.disk;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.mtagent.agent.Agent;
import io.mtagent.agent.TestAgents;
import io.mtagent.agent.apply.Applier;
import io.mtagent.agent.apply.Applier.Hold;
import io.mtagent.agent.log.AppliedPoint;
import io.mtagent.agent.log.LogFileNames;
import io.mtagent.protocol.client.DiskStream;
import io.mtagent.protocol.client.ReplicationClient;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What the services above a disk do with its applier, on a real agent: hold it while writes keep being
 * acknowledged, resume it, and drain it before a rollback (everything durable applied, the applier held, the applied
 * point on disk so a restart re-applies nothing onto a target the rollback changes).
 */
class ApplyControlTest {
    private static final int WRITES = 20;

    @TempDir
    Path dir;

    @Test
    void holdKeepsAcknowledgingAndApplyAllAndHoldDrainsHoldsAndPersistsTheAppliedPoint() throws Exception {
        try (Agent agent = TestAgents.start(TestAgents.settings(dir, 1, 1 << 20));
             ReplicationClient client = ReplicationClient.connect(TestAgents.client(agent).build())) {
            DiskStream stream = client.openDisk("disk-0", 1);
            ReplicatedDisk disk = agent.disks().byId("disk-0");
            ApplyControl apply = disk.applyControl();

            // First batch applied normally (the applied point is persisted at most once a second after this).
            long first = write(stream, 0);
            await().atMost(Duration.ofSeconds(30)).until(() -> disk.appliedSeq() >= first);

            apply.hold(Hold.OPERATOR);
            await().atMost(Duration.ofSeconds(10)).until(() -> apply.state() == Applier.State.PAUSED);
            long held = disk.appliedSeq();
            long last = write(stream, WRITES);
            assertThat(disk.lastDurableSeq()).as("held: writes are still acknowledged").isEqualTo(last);
            assertThat(disk.appliedSeq()).as("held: nothing more applied").isEqualTo(held).isLessThan(last);

            apply.applyAllAndHold(Duration.ofSeconds(30));
            assertThat(disk.appliedSeq()).as("drained").isEqualTo(last);
            assertThat(apply.state()).as("held again after the drain").isEqualTo(Applier.State.PAUSED);
            assertThat(apply.holds()).as("the drain overrode the operator's hold, kept it, and added the rollback's")
                    .containsExactlyInAnyOrder(Hold.OPERATOR, Hold.ROLLBACK);
            assertThat(AppliedPoint.read(appliedFile()).seq()).as("the applied point on disk").isEqualTo(last);

            long more = write(stream, 2 * WRITES);
            assertThat(disk.appliedSeq()).as("still held after the drain").isEqualTo(last).isLessThan(more);
            apply.resume(Hold.OPERATOR);
            assertThat(apply.state()).as("the rollback's hold remains").isEqualTo(Applier.State.PAUSED);
            assertThat(disk.appliedSeq()).isEqualTo(last);
            apply.resume(Hold.ROLLBACK);
            await().atMost(Duration.ofSeconds(30)).until(() -> disk.appliedSeq() == more);
            assertThat(apply.state()).isEqualTo(Applier.State.RUNNING);
            assertThat(apply.lastError()).isNull();
        }
    }

    /** {@link #WRITES} 4 KiB writes from block {@code from}; returns the last seq, once it is acknowledged. */
    private static long write(DiskStream stream, int from) throws Exception {
        long seq = 0;
        for (int i = 0; i < WRITES; i++) {
            byte[] data = new byte[4096];
            data[0] = (byte) (from + i + 1);
            seq = stream.write((long) (from + i) * 4096, data);
        }
        stream.awaitAcked(seq, Duration.ofSeconds(30));
        return seq;
    }

    private Path appliedFile() throws IOException {
        try (Stream<Path> files = Files.walk(dir.resolve("cache"))) {
            List<Path> found = files.filter(p -> p.getFileName().toString().equals(LogFileNames.APPLIED)).toList();
            assertThat(found).as("the disk's applied-point file").hasSize(1);
            return found.get(0);
        }
    }
}
