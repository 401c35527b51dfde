package io.mtagent.agent.retention;

import static org.awaitility.Awaitility.await;
import static org.assertj.core.api.Assertions.assertThat;

import io.mtagent.agent.Agent;
import io.mtagent.agent.TestAgents;
import io.mtagent.agent.disk.ReplicatedDisk;
import io.mtagent.agent.sim.DiskModel;
import io.mtagent.protocol.DiskState;
import io.mtagent.protocol.client.DiskStream;
import io.mtagent.protocol.client.ReplicationClient;
import io.netty.buffer.Unpooled;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * ENOSPC on a real, small retention volume (a 3 MiB tmpfs): the retention policy decides, and nothing acked is
 * lost. Needs root to mount; skips loudly otherwise.
 */
class RetentionVolumeFullTest {
    private static final int DISK_BYTES = 1 << 20;

    @TempDir
    Path dir;
    Path volume;

    @BeforeEach
    void mountSmallVolume() throws Exception {
        volume = dir.resolve("retention-volume");
        Files.createDirectories(volume);
        Process p = new ProcessBuilder("mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", volume.toString())
                .redirectErrorStream(true).start();
        boolean mounted = p.waitFor(10, TimeUnit.SECONDS) && p.exitValue() == 0;
        if (!mounted) {
            System.err.println("SKIPPED RetentionVolumeFullTest: cannot mount a tmpfs (needs root): "
                    + new String(p.getInputStream().readAllBytes()).trim());
        }
        Assumptions.assumeTrue(mounted, "cannot mount a small tmpfs as the retention volume (needs root)");
    }

    @AfterEach
    void unmount() throws Exception {
        if (volume != null) {
            new ProcessBuilder("umount", "-l", volume.toString()).start().waitFor(10, TimeUnit.SECONDS);
        }
    }

    private Map<String, String> settings(String policy) {
        Map<String, String> s = TestAgents.settings(dir, 1, DISK_BYTES);
        s.put("retention.dir", volume.resolve("journals").toString());
        s.put("retention.segment.bytes", "64KiB");
        s.put("retention.max.bytes", "1GiB"); // above the volume: only ENOSPC can stop the journal
        s.put("retention.space.policy", policy);
        return s;
    }

    /** Streams {@code writes} writes of 64 KiB and returns the model. */
    private static DiskModel stream(DiskStream s, int writes, long seed) throws Exception {
        DiskModel model = new DiskModel(DISK_BYTES);
        SplittableRandom r = new SplittableRandom(seed);
        for (int i = 0; i < writes; i++) {
            byte[] data = new byte[64 << 10];
            r.nextBytes(data);
            long off = (64L << 10) * r.nextInt(DISK_BYTES / (64 << 10));
            s.write(off, Unpooled.wrappedBuffer(data), System.currentTimeMillis() * 1000);
            model.apply(off, data);
        }
        return model;
    }

    @Test
    void shrinkWindowPrunesWhenTheVolumeIsFullAndReplicationGoesOn() throws Exception {
        try (Agent agent = TestAgents.start(settings("shrink-window"));
             ReplicationClient client = ReplicationClient.connect(TestAgents.client(agent).compress(false).build())) {
            DiskStream s = client.openDisk("disk-0", 1);
            DiskModel model = stream(s, 128, 1); // 8 MiB of before-images into a 3 MiB volume
            s.flush(Duration.ofSeconds(60));
            TestAgents.awaitApplied(agent, Duration.ofSeconds(60));
            ReplicatedDisk d = agent.disks().byId("disk-0");
            assertThat(d.state()).isEqualTo(DiskState.PROTECTED);
            assertThat(d.journal().earliestSeq()).as("the window shrank").isPositive();
            assertThat(agent.retention().windowShortened()).isTrue();
            assertThat(model.firstDifference(TestAgents.target(dir, 0))).isEqualTo(-1);
        }
    }

    @Test
    void pauseApplyHoldsTheApplierUntilSpaceFreesAndLosesNothing() throws Exception {
        Path filler = volume.resolve("filler");
        Files.write(filler, new byte[2 << 20]); // someone else's data takes most of the volume
        try (Agent agent = TestAgents.start(settings("pause-apply"));
             ReplicationClient client = ReplicationClient.connect(TestAgents.client(agent).compress(false).build())) {
            DiskStream s = client.openDisk("disk-0", 1);
            DiskModel model = stream(s, 24, 2); // 1.5 MiB: does not fit beside the filler, fits without it
            s.flush(Duration.ofSeconds(60)); // acked: durable in the ingest log, whatever the retention volume does
            ReplicatedDisk d = agent.disks().byId("disk-0");
            await().atMost(Duration.ofSeconds(30)).until(() -> agent.retention().holding());
            assertThat(d.appliedSeq()).as("the applier is held").isLessThan(d.lastDurableSeq());
            assertThat(agent.retention().holding()).isTrue();
            assertThat(d.state()).isEqualTo(DiskState.PROTECTED);

            Files.delete(filler); // space frees up
            TestAgents.awaitApplied(agent, Duration.ofSeconds(60));
            assertThat(agent.retention().holding()).isFalse();
            assertThat(model.firstDifference(TestAgents.target(dir, 0))).isEqualTo(-1);
        }
    }
}
