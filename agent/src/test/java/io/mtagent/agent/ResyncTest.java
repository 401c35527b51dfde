package io.mtagent.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mtagent.agent.disk.ReplicatedDisk;
import io.mtagent.agent.journal.RecoveryPoint;
import io.mtagent.agent.retention.PointCatalog;
import io.mtagent.protocol.DiskState;
import io.mtagent.protocol.Protocol;
import io.mtagent.protocol.ResyncFrames;
import io.mtagent.protocol.TagType;
import io.mtagent.protocol.client.DiskStream;
import io.mtagent.protocol.client.ReplicationClient;
import io.mtagent.protocol.client.Resync;
import io.mtagent.protocol.client.SourceDevice;
import io.netty.buffer.Unpooled;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Resynchronisation through the real TLS server (SPEC.md §12): a differential resync sends only the differing
 * chunks, a completely different or empty target gets the whole disk, live writes during a resync end equal,
 * recovery points inside a resync are not offered, and the end marker is the first point after it.
 */
class ResyncTest {
    private static final int CHUNK = ResyncFrames.MIN_CHUNK_SIZE;

    @TempDir
    Path dir;

    private Map<String, String> settings() {
        Map<String, String> s = TestAgents.settingsWithRetention(dir, 1, ResyncFixtures.DISK_BYTES);
        return s;
    }

    private ReplicationClient connect(Agent agent) throws Exception {
        return ReplicationClient.connect(TestAgents.client(agent).pinnedFingerprint(agent.identity().fingerprintText())
                .build());
    }

    @Test
    void differentialResyncOfOnePercentSendsOnlyThoseChunksAndEndsEqual() throws Exception {
        long size = ResyncFixtures.DISK_BYTES;
        Path source = dir.resolve("source.img");
        Path target = TestAgents.target(dir, 0);
        ResyncFixtures.random(source, size, 1);
        Files.createDirectories(target.getParent());
        Files.copy(source, target);
        int chunks = (int) (size / CHUNK);
        int differing = Math.max(1, chunks / 100);
        ResyncFixtures.damageChunks(target, CHUNK, differing, 2);
        try (Agent agent = TestAgents.start(settings()); ReplicationClient client = connect(agent);
             SourceDevice src = SourceDevice.open(source)) {
            assertThat(client.protocolVersion()).isEqualTo(Protocol.VERSION_2);
            DiskStream s = client.openDisk("disk-0", 1);
            long t0 = System.nanoTime();
            Resync.Result r = s.resync(src, Resync.Options.defaults().withChunkSize(CHUNK).withEndName("failback-1"));
            double secs = (System.nanoTime() - t0) / 1e9;
            System.out.printf("differential resync of %d MiB, %d of %d chunks differing: sent %d B (wire %d B),"
                    + " checksum traffic %d B, %.2f s, %.1f MB/s compared%n", size >> 20, r.chunksDiffering(), chunks,
                    r.bytesSent(), r.wireBytesSent(), r.checksumBytes(), secs, size / 1e6 / secs);
            assertThat(r.chunksDiffering()).isEqualTo(differing);
            assertThat(r.chunksCompared()).isEqualTo(chunks);
            assertThat(r.wireBytesSent()).isLessThanOrEqualTo((long) (1.5 * differing * CHUNK));
            // hash traffic: 32 B per chunk plus small headers, far below the data
            assertThat(r.checksumBytes()).isLessThan(chunks * 64L + 4096);
            TestAgents.awaitApplied(agent, Duration.ofSeconds(60));
            assertThat(ResyncFixtures.firstDifference(source, target)).isEqualTo(-1);
            ReplicatedDisk disk = agent.disks().byId("disk-0");
            assertThat(disk.state()).isEqualTo(DiskState.PROTECTED);
            assertThat(disk.resync()).isNull();
            RecoveryPoint end = PointCatalog.resolve(disk, "tag:failback-1");
            assertThat(end.kind()).isEqualTo(RecoveryPoint.Kind.RESYNC_END);
            assertThat(end.seq()).isEqualTo(r.endSeq());
            // Nothing before the end marker is a point: the resync covered the disk's whole history.
            assertThatThrownBy(() -> PointCatalog.resolve(disk, "seq:" + (r.endSeq() - 1)))
                    .hasMessageContaining("inside a resync");
        }
    }

    @Test
    void aCompletelyDifferentTargetGetsTheWholeDisk() throws Exception {
        long size = 4L << 20;
        Path source = dir.resolve("source.img");
        Path target = TestAgents.target(dir, 0);
        ResyncFixtures.random(source, size, 3);
        ResyncFixtures.random(target, size, 4);
        Map<String, String> s = settings();
        s.put("disk.d0.size", String.valueOf(size));
        try (Agent agent = TestAgents.start(s); ReplicationClient client = connect(agent);
             SourceDevice src = SourceDevice.open(source)) {
            DiskStream stream = client.openDisk("disk-0", 1);
            Resync.Result r = stream.resync(src, Resync.Options.defaults().withChunkSize(CHUNK));
            assertThat(r.chunksDiffering()).isEqualTo(size / CHUNK);
            assertThat(r.bytesSent()).isEqualTo(size);
            TestAgents.awaitApplied(agent, Duration.ofSeconds(60));
            assertThat(ResyncFixtures.firstDifference(source, target)).isEqualTo(-1);
        }
    }

    @Test
    void anEmptyTargetGetsAFullCopyWithoutChecksums() throws Exception {
        long size = 4L << 20;
        Path source = dir.resolve("source.img");
        ResyncFixtures.random(source, size, 5);
        Map<String, String> s = settings();
        s.put("disk.d0.size", String.valueOf(size));
        try (Agent agent = TestAgents.start(s); ReplicationClient client = connect(agent);
             SourceDevice src = SourceDevice.open(source)) {
            DiskStream stream = client.openDisk("disk-0", 1);
            Resync.Result r = stream.resync(src, Resync.Options.defaults().withMode(ResyncFrames.Mode.FULL)
                    .withChunkSize(1 << 20));
            assertThat(r.bytesSent()).isEqualTo(size);
            assertThat(r.checksumBytes()).isZero();
            TestAgents.awaitApplied(agent, Duration.ofSeconds(60));
            assertThat(ResyncFixtures.firstDifference(source, TestAgents.target(dir, 0))).isEqualTo(-1);
            assertThat(agent.disks().byId("disk-0").state()).isEqualTo(DiskState.PROTECTED);
        }
    }

    @Test
    void liveWritesDuringAResyncEndEqualAtTheEndMarkerAndNoPointIsOfferedInside() throws Exception {
        long size = 8L << 20;
        Path source = dir.resolve("source.img");
        Path target = TestAgents.target(dir, 0);
        ResyncFixtures.random(source, size, 6);
        Files.createDirectories(target.getParent());
        Files.copy(source, target);
        ResyncFixtures.damageChunks(target, CHUNK, (int) (size / CHUNK / 2), 7); // half the disk differs
        Map<String, String> s = settings();
        s.put("disk.d0.size", String.valueOf(size));
        try (Agent agent = TestAgents.start(s); ReplicationClient client = connect(agent);
             SourceDevice src = SourceDevice.open(source)) {
            DiskStream stream = client.openDisk("disk-0", 1);
            // A point before the resync: it must stay reachable.
            long before = stream.tag(TagType.CRASH_CONSISTENT, "before", System.currentTimeMillis() * 1000);
            stream.awaitAcked(before, Duration.ofSeconds(30));
            AtomicBoolean stop = new AtomicBoolean();
            AtomicLong liveWrites = new AtomicLong();
            AtomicLong insideTag = new AtomicLong();
            Thread writer = new Thread(() -> {
                SplittableRandom r = new SplittableRandom(8);
                try {
                    while (!stop.get()) {
                        int len = 4096 * (1 + r.nextInt(16));
                        long off = r.nextLong(size / 4096 - 16) * 4096;
                        byte[] data = new byte[len];
                        r.nextBytes(data);
                        stream.sourceOrderLock().lock(); // SPEC.md §12.5: change the source and send, atomically
                        try {
                            ResyncFixtures.write(source, off, data);
                            stream.write(off, Unpooled.wrappedBuffer(data), System.currentTimeMillis() * 1000);
                        } finally {
                            stream.sourceOrderLock().unlock();
                        }
                        if (liveWrites.incrementAndGet() == 20) {
                            insideTag.set(stream.tag(TagType.CRASH_CONSISTENT, "inside",
                                    System.currentTimeMillis() * 1000));
                        }
                        Thread.sleep(1); // the stimulus: live writes keep arriving through the resync
                    }
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            }, "live-writer");
            writer.start();
            Resync.Result r = stream.resync(src, Resync.Options.defaults().withChunkSize(CHUNK).withRate(16L << 20)
                    .withEndName("resynced").withProgress(p -> {
                        if (p.doneOffset() >= p.endOffset()) {
                            stop.set(true); // the writer stops before RESYNC_END: target == source at the marker
                            try {
                                writer.join();
                            } catch (InterruptedException e) {
                                Thread.currentThread().interrupt();
                            }
                        }
                    }));
            System.out.printf("resync with a live writer: %d live writes, %d chunks differing%n", liveWrites.get(),
                    r.chunksDiffering());
            assertThat(liveWrites.get()).as("live writes ran during the resync").isGreaterThan(20);
            TestAgents.awaitApplied(agent, Duration.ofSeconds(60));
            assertThat(ResyncFixtures.firstDifference(source, target)).isEqualTo(-1);
            ReplicatedDisk disk = agent.disks().byId("disk-0");
            List<RecoveryPoint> points = PointCatalog.points(disk);
            assertThat(points).extracting(RecoveryPoint::name).contains("before", "resynced").doesNotContain("inside");
            assertThat(insideTag.get()).isGreaterThan(0);
            assertThatThrownBy(() -> PointCatalog.resolve(disk, "seq:" + insideTag.get()))
                    .hasMessageContaining("inside a resync");
            assertThat(PointCatalog.resolve(disk, "tag:before").seq()).isEqualTo(before);
        }
    }
}
