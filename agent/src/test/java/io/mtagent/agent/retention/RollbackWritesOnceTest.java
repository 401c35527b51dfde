package io.mtagent.agent.retention;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.mtagent.agent.Agent;
import io.mtagent.agent.TestAgents;
import io.mtagent.agent.config.AgentConfig;
import io.mtagent.agent.disk.ReplicatedDisk;
import io.mtagent.agent.disk.TargetOpener;
import io.mtagent.agent.ingest.ForwardingBlockDevice;
import io.mtagent.agent.sim.DiskModel;
import io.mtagent.nativeio.BlockDevice;
import io.mtagent.protocol.TagType;
import io.mtagent.protocol.client.DiskStream;
import io.mtagent.protocol.client.ReplicationClient;
import io.netty.buffer.Unpooled;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A rollback writes each sector at most once, however often it was overwritten after the point: a real agent
 * whose target counts every write per 512-byte sector; a disk overwritten about eight times over after the tag,
 * with the journal in many small segments (so extents cross many segments); the rollback to the tag, the return
 * to latest and a second rollback each write every sector at most once, in requests far larger than the writes
 * that came in, and leave the target equal to the model.
 */
class RollbackWritesOnceTest {
    private static final int DISK_BYTES = 4 << 20;
    private static final Duration WAIT = Duration.ofSeconds(30);

    @TempDir
    Path dir;

    /** Counts writes per sector and write requests; {@link #reset} between phases. */
    static final class CountingTarget extends ForwardingBlockDevice {
        final AtomicIntegerArray perSector;
        final AtomicLong requests = new AtomicLong();
        final AtomicLong bytes = new AtomicLong();

        CountingTarget(BlockDevice inner) {
            super(inner);
            perSector = new AtomicIntegerArray((int) (inner.size() / 512));
        }

        @Override
        public void write(long offset, ByteBuffer src) throws IOException {
            for (long s = offset; s < offset + src.remaining(); s += 512) {
                perSector.incrementAndGet((int) (s / 512));
            }
            requests.incrementAndGet();
            bytes.addAndGet(src.remaining());
            super.write(offset, src);
        }

        int mostWritesOfOneSector() {
            int most = 0;
            for (int i = 0; i < perSector.length(); i++) {
                most = Math.max(most, perSector.get(i));
            }
            return most;
        }

        void reset() {
            for (int i = 0; i < perSector.length(); i++) {
                perSector.set(i, 0);
            }
            requests.set(0);
            bytes.set(0);
        }
    }

    @Test
    void rollbackReturnAndRollbackAgainWriteEachSectorAtMostOnce() throws Exception {
        Map<String, String> settings = TestAgents.settingsWithRetention(dir, 1, DISK_BYTES);
        settings.put("retention.segment.bytes", "256KiB"); // the overwrites span ~130 sealed segments
        CountingTarget[] counting = new CountingTarget[1];
        TargetOpener opener = d -> counting[0] = new CountingTarget(TargetOpener.NATIVE.open(d));
        AgentConfig config = AgentConfig.of(settings);
        TestAgents.setPassphrase(config.stateDir());
        DiskModel model = new DiskModel(DISK_BYTES);
        SplittableRandom rnd = new SplittableRandom(11);
        try (Agent agent = Agent.start(config, new SimpleMeterRegistry(), l -> { }, opener);
             ReplicationClient client = ReplicationClient.connect(TestAgents.client(agent).build())) {
            ReplicatedDisk disk = agent.disks().byId("disk-0");
            DiskStream s = client.openDisk("disk-0", 1);
            long ts = System.currentTimeMillis() * 1000;
            long writes = 0;
            for (int i = 0; i < 200; i++) {
                writes += write(s, model, rnd, ts++);
            }
            long tag = s.tag(TagType.APP_CONSISTENT, "before", ts++);
            byte[] atTag = model.snapshot();
            long after = 0;
            while (after < 8L * DISK_BYTES) { // each sector overwritten ~8 times after the tag
                after += write(s, model, rnd, ts++);
            }
            byte[] latest = model.snapshot();
            s.flush(WAIT);
            TestAgents.awaitApplied(agent, WAIT);
            CountingTarget target = counting[0];
            long applyRequests = target.requests.get();
            target.reset();

            RollbackService.recover(disk, tag, false, RollbackService.Progress.NONE);
            assertThat(Arrays.mismatch(Files.readAllBytes(TestAgents.target(dir, 0)), atTag))
                    .as("rolled back to the tag").isEqualTo(-1);
            assertThat(target.mostWritesOfOneSector()).as("writes of the most written sector in the rollback")
                    .isEqualTo(1);
            assertThat(target.bytes.get()).as("bytes written by the rollback").isLessThanOrEqualTo(DISK_BYTES);
            assertThat(target.requests.get()).as("write requests of the rollback (the stream had %d writes)",
                    applyRequests).isLessThan(DISK_BYTES / (64 << 10));

            target.reset();
            RollbackService.restoreLatest(disk, RollbackService.Progress.NONE);
            assertThat(Arrays.mismatch(Files.readAllBytes(TestAgents.target(dir, 0)), latest))
                    .as("back at latest").isEqualTo(-1);
            assertThat(target.mostWritesOfOneSector()).as("writes of the most written sector in the return")
                    .isEqualTo(1);

            target.reset();
            RollbackService.recover(disk, tag, true, RollbackService.Progress.NONE);
            assertThat(Arrays.mismatch(Files.readAllBytes(TestAgents.target(dir, 0)), atTag))
                    .as("rolled back again, irreversibly").isEqualTo(-1);
            assertThat(target.mostWritesOfOneSector()).isEqualTo(1);
            assertThat(writes).isPositive();
        }
    }

    private static int write(DiskStream s, DiskModel model, SplittableRandom rnd, long ts) throws Exception {
        int length = 512 * (1 + rnd.nextInt(rnd.nextInt(8) == 0 ? 256 : 32));
        long offset = 512L * rnd.nextInt((DISK_BYTES - length) / 512 + 1);
        byte[] data = new byte[length];
        rnd.nextBytes(data);
        s.write(offset, Unpooled.wrappedBuffer(data), ts);
        model.apply(offset, data);
        return length;
    }
}
