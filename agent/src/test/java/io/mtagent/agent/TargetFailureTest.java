package io.mtagent.agent;

import static org.awaitility.Awaitility.await;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.mtagent.agent.apply.Applier.Hold;
import io.mtagent.agent.config.AgentConfig;
import io.mtagent.agent.disk.ReplicatedDisk;
import io.mtagent.agent.disk.TargetOpener;
import io.mtagent.nativeio.BlockDeviceOptions;
import io.mtagent.nativeio.Errno;
import io.mtagent.nativeio.LinuxBlockDevice;
import io.mtagent.nativeio.NativeIOException;
import io.mtagent.nativeio.NativeIOImpl;
import io.mtagent.protocol.DiskState;
import io.mtagent.protocol.client.DiskStream;
import io.mtagent.protocol.client.ReplicationClient;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.io.TempDir;

/**
 * A target device that starts failing with EIO or ENOSPC (injected into the native pwrite of a real {@link LinuxBlockDevice})
 * moves its disk to {@code failed} with the reason, the other disk on the same connection keeps replicating, and
 * every write acked for the failed disk is still in its ingest log: once the device is healthy again (restart),
 * the target ends up equal to everything that was acked.
 */
class TargetFailureTest {
    private static final int DISK = 4 << 20;
    private static final int WRITE = 4096;

    @TempDir
    Path dir;

    @ParameterizedTest(name = "errno {0}")
    @ValueSource(ints = {Errno.EIO, Errno.ENOSPC})
    void aTargetWriteErrorFailsThatDiskOnlyAndLosesNothingAcked(int errno) throws Exception {
        assumeTrue(NativeIOImpl.available(), "needs the Linux native I/O path");
        Map<String, String> s = TestAgents.settings(dir, 2, DISK);
        AtomicBoolean broken = new AtomicBoolean();
        NativeIOImpl eioWhenBroken = new NativeIOImpl() {
            @Override
            public long pwrite(int fd, ByteBuffer buf, int count, long offset) throws NativeIOException {
                if (broken.get()) {
                    throw new NativeIOException("pwrite", errno, "injected");
                }
                return super.pwrite(fd, buf, count, offset);
            }
        };
        TargetOpener opener = d -> d.id().equals("disk-0")
                ? LinuxBlockDevice.open(d.path(), BlockDeviceOptions.defaults().withCreateSize(d.sizeBytes()), eioWhenBroken)
                : TargetOpener.NATIVE.open(d);
        byte[] model0 = new byte[DISK];
        byte[] model1 = new byte[DISK];
        SplittableRandom r = new SplittableRandom(5);
        TestAgents.setPassphrase(dir.resolve("state"));
        try (Agent agent = Agent.start(AgentConfig.of(s), new SimpleMeterRegistry(), line -> { }, opener);
             ReplicationClient client = ReplicationClient.connect(TestAgents.client(agent).build())) {
            DiskStream d0 = client.openDisk("disk-0", 1);
            DiskStream d1 = client.openDisk("disk-1", 1);
            pump(d0, model0, r, 20);
            pump(d1, model1, r, 20);
            d0.flush(Duration.ofSeconds(30));
            d1.flush(Duration.ofSeconds(30));
            TestAgents.awaitApplied(agent, Duration.ofSeconds(30));

            // Hold the applier while these 20 writes are acked, so the failure cannot race the acks (a disk that
            // is already failed refuses new writes: that is right, but this test is about writes acked before).
            ReplicatedDisk failed = agent.disks().byId("disk-0");
            failed.applyControl().hold(Hold.OPERATOR);
            pump(d0, model0, r, 20);
            d0.flush(Duration.ofSeconds(30)); // acked: durable in the ingest log, whatever the target does
            broken.set(true);
            failed.applyControl().resume(Hold.OPERATOR);
            await().atMost(Duration.ofSeconds(30)).until(() -> failed.state() == DiskState.FAILED);
            assertThat(failed.state()).isEqualTo(DiskState.FAILED);
            assertThat(failed.stateReason()).contains(errno == Errno.EIO ? "(MEDIA_ERROR)" : "(NO_SPACE)")
                    .contains(errno == Errno.EIO ? "EIO" : "ENOSPC").contains("disk-0.img");
            assertThat(failed.appliedSeq()).as("the failed batch is not marked applied").isLessThan(failed.lastDurableSeq());

            ReplicatedDisk healthy = agent.disks().byId("disk-1");
            assertThat(healthy.state()).isEqualTo(DiskState.PROTECTED);
            pump(d1, model1, r, 50);
            d1.flush(Duration.ofSeconds(30));
            await().atMost(Duration.ofSeconds(30)).until(() -> healthy.appliedSeq() >= healthy.lastDurableSeq());
            assertThat(healthy.appliedSeq()).isEqualTo(healthy.lastDurableSeq()).isEqualTo(d1.ackedSeq());
            assertThat(healthy.state()).isEqualTo(DiskState.PROTECTED);
        }
        assertThat(Arrays.equals(Files.readAllBytes(TestAgents.target(dir, 1)), model1)).isTrue();

        // The device is repaired: the agent restarts, checks the failed disk's target, finds it working, returns
        // the disk to service, and the ingest log still held every acked write: the applier brings the target up.
        try (Agent agent = TestAgents.start(s)) {
            TestAgents.awaitApplied(agent, Duration.ofSeconds(30));
            ReplicatedDisk back = agent.disks().byId("disk-0");
            assertThat(back.state()).as(back.stateReason()).isEqualTo(DiskState.PROTECTED);
            assertThat(back.stateReason()).contains("working again");
        }
        assertThat(Arrays.equals(Files.readAllBytes(TestAgents.target(dir, 0)), model0))
                .as("every acked write of the failed disk reached the target after repair").isTrue();
    }

    private static void pump(DiskStream s, byte[] model, SplittableRandom r, int n) throws Exception {
        for (int i = 0; i < n; i++) {
            byte[] data = new byte[WRITE];
            r.nextBytes(data);
            long off = (long) r.nextInt(DISK / WRITE) * WRITE;
            s.write(off, data);
            System.arraycopy(data, 0, model, (int) off, WRITE);
        }
    }
}
