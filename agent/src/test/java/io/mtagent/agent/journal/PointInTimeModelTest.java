package io.mtagent.agent.journal;

import static org.assertj.core.api.Assertions.assertThat;

import io.mtagent.agent.Agent;
import io.mtagent.agent.TestAgents;
import io.mtagent.agent.apply.Applier.Hold;
import io.mtagent.agent.disk.ReplicatedDisk;
import io.mtagent.agent.sim.DiskModel;
import io.mtagent.protocol.TagType;
import io.mtagent.protocol.client.DiskStream;
import io.mtagent.protocol.client.ReplicationClient;
import io.netty.buffer.Unpooled;
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
 * Model-based check of the retention journal: random overlapping writes with tags; the point-in-time view of
 * every tag and of sampled timestamps must equal the model's image at that point — read while the applier is
 * still writing, for a tag between two overlapping writes of one apply batch, and again after a restart.
 */
class PointInTimeModelTest {
    private static final int DISK_BYTES = 2 << 20;
    private static final Duration WAIT = Duration.ofSeconds(30);

    @TempDir
    Path dir;

    @Test
    void viewsAtTagsAndTimesEqualTheModel() throws Exception {
        long seed = Long.getLong("mtagent.pit.seed", System.nanoTime());
        SplittableRandom rnd = new SplittableRandom(seed);
        Map<String, String> settings = TestAgents.settingsWithRetention(dir, 1, DISK_BYTES);
        settings.put("retention.segment.bytes", "64KiB"); // many sealed segments: views read through their index files
        DiskModel model = new DiskModel(DISK_BYTES);
        Map<Long, byte[]> snapshots = new LinkedHashMap<>(); // seq → the disk image after that seq
        List<long[]> times = new ArrayList<>(); // {timestamp, seq}
        long ts = System.currentTimeMillis() * 1000; // inside the retention window, or pruning would take the points

        try (Agent agent = TestAgents.start(settings);
             ReplicationClient client = ReplicationClient.connect(TestAgents.client(agent).build())) {
            ReplicatedDisk disk = agent.disks().byId("disk-0");
            DiskStream s = client.openDisk("disk-0", 1);
            int verifiedWhileWriting = 0;
            for (int n = 1; n <= 600; n++) {
                int length = 512 * (1 + rnd.nextInt(rnd.nextInt(10) == 0 ? 256 : 16));
                long offset = 512L * rnd.nextInt((DISK_BYTES - length) / 512 + 1);
                byte[] data = new byte[length];
                rnd.nextBytes(data);
                ts += rnd.nextInt(3) * 1000; // equal timestamps happen too
                long seq = s.write(offset, Unpooled.wrappedBuffer(data), ts);
                model.apply(offset, data);
                times.add(new long[] {ts, seq});
                if (n % 25 == 0) {
                    long tag = s.tag(n % 100 == 0 ? TagType.APP_CONSISTENT : TagType.CRASH_CONSISTENT, "t" + n, ts);
                    snapshots.put(tag, model.snapshot());
                    times.add(new long[] {ts, tag});
                }
                if (n % 150 == 0 && !snapshots.isEmpty()) {
                    // Read an earlier point while the applier is busy with later writes.
                    long point = new ArrayList<>(snapshots.keySet()).get(rnd.nextInt(snapshots.size()));
                    s.awaitAcked(point, WAIT);
                    assertView(disk, point, snapshots.get(point), "seed " + seed + ", during streaming");
                    verifiedWhileWriting++;
                }
            }
            // A tag between two overlapping writes that the applier takes in one batch.
            disk.applyControl().hold(Hold.OPERATOR);
            byte[] a = new byte[8192];
            byte[] b = new byte[8192];
            rnd.nextBytes(a);
            rnd.nextBytes(b);
            // These three carry the last timestamp too, so they belong in the time model: a time point equal to it
            // reaches them (the model once left them out and failed whenever that time was drawn).
            times.add(new long[] {ts, s.write(4096, Unpooled.wrappedBuffer(a), ts)});
            model.apply(4096, a);
            long between = s.tag(TagType.CRASH_CONSISTENT, "between", ts);
            times.add(new long[] {ts, between});
            snapshots.put(between, model.snapshot());
            times.add(new long[] {ts, s.write(8192, Unpooled.wrappedBuffer(b), ts)});
            model.apply(8192, b);
            long last = s.nextSeq() - 1;
            snapshots.put(last, model.snapshot());
            s.flush(WAIT);
            // Acknowledged but not applied (the applier is held): these points are read through the ingest log.
            assertThat(disk.appliedSeq()).isLessThan(between);
            assertView(disk, between, snapshots.get(between), "seed " + seed + ", beyond the applied point");
            assertView(disk, last, snapshots.get(last), "seed " + seed + ", latest, beyond the applied point");
            disk.applyControl().resume(Hold.OPERATOR);

            for (Map.Entry<Long, byte[]> e : snapshots.entrySet()) {
                assertView(disk, e.getKey(), e.getValue(), "seed " + seed);
            }
            assertThat(verifiedWhileWriting).isPositive();
            // Time points: the longest prefix whose writes are at or before T (the journal holds applied records).
            disk.applyControl().awaitApplied(last, java.time.Duration.ofSeconds(30));
            for (int i = 0; i < 10; i++) {
                long[] t = times.get(rnd.nextInt(times.size()));
                long seqAtTime = disk.journal().seqAtOrBefore(t[0]);
                long expected = 0;
                for (long[] x : times) {
                    if (x[0] <= t[0]) {
                        expected = Math.max(expected, x[1]);
                    }
                }
                assertThat(seqAtTime).as("seed %d: seq at time %d", seed, t[0]).isEqualTo(expected);
            }
            assertThat(disk.journal().points()).extracting(RecoveryPoint::seq).containsAll(
                    snapshots.keySet().stream().filter(q -> q != last).toList());
        }

        // After a restart the journal is recovered and every point still reads back exactly.
        try (Agent agent = TestAgents.start(settings)) {
            ReplicatedDisk disk = agent.disks().byId("disk-0");
            for (Map.Entry<Long, byte[]> e : snapshots.entrySet()) {
                assertView(disk, e.getKey(), e.getValue(), "seed " + seed + ", after restart");
            }
        }
    }

    private static void assertView(ReplicatedDisk disk, long point, byte[] expected, String context) throws Exception {
        byte[] image;
        byte[] streamed = null;
        try (PointInTimeView view = disk.view(point, WAIT)) {
            image = view.read(0, DISK_BYTES);
            if (view.streamable()) {
                streamed = stream(view);
            }
        }
        int mismatch = java.util.Arrays.mismatch(image, expected);
        assertThat(mismatch).as("%s: first differing byte of the view at seq %d", context, point).isEqualTo(-1);
        if (streamed != null) {
            assertThat(java.util.Arrays.mismatch(streamed, expected))
                    .as("%s: first differing byte of the view streamed at seq %d", context, point).isEqualTo(-1);
        }
    }

    /**
     * The view as an export writes it: pieces laid at their offsets in the order received, onto bytes that are not
     * zeros (pieces that skip nothing: every byte must come from a piece).
     */
    static byte[] stream(PointInTimeView view) throws Exception {
        byte[] image = new byte[(int) view.size()];
        java.util.Arrays.fill(image, (byte) 0x5a);
        view.stream(0, view.size(), (offset, bytes, overwrites) -> {
            synchronized (image) {
                bytes.duplicate().get(image, (int) offset, bytes.remaining());
            }
        });
        return image;
    }
}
