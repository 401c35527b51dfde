package io.mtagent.agent;

import static org.assertj.core.api.Assertions.assertThat;

import io.mtagent.agent.apply.Applier.Hold;
import io.mtagent.agent.disk.ReplicatedDisk;
import io.mtagent.protocol.client.DiskStream;
import io.mtagent.protocol.client.ReplicationClient;
import io.mtagent.protocol.client.ReplicationException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Per-disk flow control: with one disk's applier held back, that disk stops getting credit once its ingest
 * log reaches its quota, while the other disk on the same connection keeps at least half its speed.
 */
class SlowDiskTest {
    private static final int WRITE = 64 << 10;
    private static final long QUOTA = 4 << 20;

    @TempDir
    Path dir;

    @Test
    void aHeldBackDiskDoesNotStallTheOtherDiskOnTheConnection() throws Exception {
        Map<String, String> s = TestAgents.settings(dir, 2, 16 << 20);
        s.put("disk.quota.bytes", "4MiB");
        s.put("data.credit.window.bytes", "2MiB");
        try (Agent agent = TestAgents.start(s);
             ReplicationClient client = ReplicationClient.connect(TestAgents.client(agent).compress(false).build())) {
            DiskStream slow = client.openDisk("disk-0", 1);
            DiskStream fast = client.openDisk("disk-1", 1);
            ReplicatedDisk slowDisk = agent.disks().byId("disk-0");

            double baseline = Math.max(measure(slow, fast, 1500), measure(slow, fast, 1500));
            slowDisk.applyControl().hold(Hold.OPERATOR);
            double heldBack = Math.max(measure(slow, fast, 1500), measure(slow, fast, 1500));
            long stalledAt = slow.ackedSeq();
            long fastSeq = fast.write(0, new byte[4096]); // the agent keeps serving the other disk meanwhile
            fast.awaitAcked(fastSeq, Duration.ofSeconds(10));
            assertThat(slow.ackedSeq()).as("the held-back disk gets no more credit").isEqualTo(stalledAt);
            assertThat(slowDisk.backlogBytes()).as("its ingest log filled up to its quota").isGreaterThanOrEqualTo(QUOTA);
            System.out.printf("fast disk: %.1f MB/s with the other disk flowing, %.1f MB/s with it held back%n",
                    baseline / 1e6, heldBack / 1e6);
            assertThat(heldBack).as("fast disk speed with the slow one held back vs baseline").isGreaterThanOrEqualTo(baseline / 2);

            slowDisk.applyControl().resume(Hold.OPERATOR);
            slow.flush(Duration.ofSeconds(30));
            fast.flush(Duration.ofSeconds(30));
        }
    }

    /** Streams to both disks for {@code millis}; returns the fast disk's acknowledged bytes per second. */
    private static double measure(DiskStream slow, DiskStream fast, long millis) throws Exception {
        AtomicBoolean stop = new AtomicBoolean();
        Thread slowWriter = new Thread(() -> pump(slow, stop, 1), "slow-writer");
        slowWriter.start();
        long before = fast.ackedSeq();
        long t0 = System.nanoTime();
        pumpFor(fast, millis);
        fast.flush(Duration.ofSeconds(30));
        double secs = (System.nanoTime() - t0) / 1e9;
        long writes = fast.ackedSeq() - before;
        stop.set(true);
        slowWriter.interrupt();
        slowWriter.join(10_000);
        return writes * (double) WRITE / secs;
    }

    private static void pumpFor(DiskStream s, long millis) throws Exception {
        SplittableRandom r = new SplittableRandom(2);
        byte[] data = new byte[WRITE];
        long end = System.nanoTime() + millis * 1_000_000L;
        while (System.nanoTime() < end) {
            r.nextBytes(data);
            s.write(r.nextInt(256) * (long) WRITE, io.netty.buffer.Unpooled.wrappedBuffer(data), System.currentTimeMillis() * 1000);
        }
    }

    private static void pump(DiskStream s, AtomicBoolean stop, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        byte[] data = new byte[WRITE];
        try {
            while (!stop.get()) {
                r.nextBytes(data);
                s.write(r.nextInt(256) * (long) WRITE, io.netty.buffer.Unpooled.wrappedBuffer(data), System.currentTimeMillis() * 1000);
            }
        } catch (InterruptedException | ReplicationException e) {
            // stopped by the test while waiting for credit
        }
    }
}
