package io.mtagent.agent;

import static org.awaitility.Awaitility.await;
import static org.assertj.core.api.Assertions.assertThat;

import io.mtagent.agent.disk.ReplicatedDisk;
import io.mtagent.agent.journal.PointInTimeView;
import io.mtagent.agent.journal.RecoveryPoint;
import io.mtagent.agent.retention.PointCatalog;
import io.mtagent.protocol.DiskState;
import io.mtagent.protocol.ErrorCode;
import io.mtagent.protocol.Frames;
import io.mtagent.protocol.ResyncFrames;
import io.mtagent.protocol.TagType;
import io.mtagent.protocol.WriteFrame;
import io.mtagent.protocol.WritePayloads;
import io.mtagent.protocol.client.DiskStream;
import io.mtagent.protocol.client.ReplicationClient;
import io.mtagent.protocol.client.ReplicationException;
import io.mtagent.protocol.client.Resync;
import io.mtagent.protocol.client.SourceDevice;
import io.netty.buffer.Unpooled;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The states around a resync: a sequence gap moves the disk to needs-resync with the reason and leaves the
 * points before it intact, and a resync brings it back; online verify reports exactly the damaged ranges and a
 * ranges resync repairs only those.
 */
class ResyncStateTest {
    private static final long SIZE = 4L << 20;
    private static final int CHUNK = ResyncFrames.MIN_CHUNK_SIZE;

    @TempDir
    Path dir;

    private Map<String, String> settings() {
        Map<String, String> s = TestAgents.settingsWithRetention(dir, 1, SIZE);
        return s;
    }

    private ReplicationClient connect(Agent agent) throws Exception {
        return ReplicationClient.connect(TestAgents.client(agent).pinnedFingerprint(agent.identity().fingerprintText())
                .build());
    }

    @Test
    void aSequenceGapMovesTheDiskToNeedsResyncWithoutHarmingEarlierPointsAndAResyncHealsIt() throws Exception {
        Path source = dir.resolve("source.img");
        ResyncFixtures.random(source, SIZE, 11);
        byte[] first = Files.readAllBytes(source);
        try (Agent agent = TestAgents.start(settings()); ReplicationClient client = connect(agent)) {
            DiskStream s = client.openDisk("disk-0", 1);
            // Replicate the source's first MiB, then a point.
            for (int off = 0; off < (1 << 20); off += CHUNK) {
                s.write(off, Unpooled.wrappedBuffer(first, off, CHUNK), System.currentTimeMillis() * 1000);
            }
            long point = s.tag(TagType.APP_CONSISTENT, "p1", System.currentTimeMillis() * 1000);
            s.awaitAcked(point, Duration.ofSeconds(30));
            ReplicatedDisk disk = agent.disks().byId("disk-0");

            // A process server that lost writes: its next frame skips a sequence number.
            try (RawTlsClient raw = new RawTlsClient(agent.dataAddress().getPort(), true)) {
                assertThat(raw.authenticate(TestAgents.PASSPHRASE)).isInstanceOf(Frames.AuthOk.class);
                raw.send(new Frames.OpenDisk(1, 2, 0, "disk-0"));
                Frames.DiskOpened opened = raw.readUntil(Frames.DiskOpened.class);
                byte[] data = new byte[4096];
                WriteFrame gap = WritePayloads.encode(io.netty.buffer.ByteBufAllocator.DEFAULT, 1,
                        opened.lastDurableSeq() + 2, System.currentTimeMillis() * 1000, 0, Unpooled.wrappedBuffer(data),
                        false);
                raw.send(gap);
                Frames.Error err = raw.readUntil(Frames.Error.class);
                assertThat(err.errorCode()).isEqualTo(ErrorCode.SEQUENCE_GAP);
            }
            assertThat(disk.state()).isEqualTo(DiskState.NEEDS_RESYNC);
            assertThat(disk.stateReason()).contains("sequence gap");
            // The point from before is intact, and so is its content.
            RecoveryPoint p1 = PointCatalog.resolve(disk, "tag:p1");
            assertThat(p1.seq()).isEqualTo(point);
            TestAgents.awaitApplied(agent, Duration.ofSeconds(30));
            try (PointInTimeView v = disk.view(point, Duration.ofSeconds(10))) {
                assertThat(v.read(0, 1 << 20)).isEqualTo(java.util.Arrays.copyOf(first, 1 << 20));
            }
            // The state survives in the state file with its reason.
            assertThat(Files.readString(dir.resolve("state/disks/d0.state"))).contains("needs-resync", "sequence gap");

            // The v2 process server reopens (newer epoch), is told needs-resync, and resyncs.
            DiskStream again = client.openDisk("disk-0", 3);
            assertThat(again.state()).isEqualTo(DiskState.NEEDS_RESYNC);
            assertThatWriteIsRefused(again);
            client.reopen(again);
            try (SourceDevice src = SourceDevice.open(source)) {
                Resync.Result r = again.resync(src, Resync.Options.defaults().withChunkSize(CHUNK));
                assertThat(r.chunksDiffering()).isEqualTo((SIZE - (1 << 20)) / CHUNK); // the first MiB was there
            }
            TestAgents.awaitApplied(agent, Duration.ofSeconds(30));
            assertThat(disk.state()).isEqualTo(DiskState.PROTECTED);
            assertThat(ResyncFixtures.firstDifference(source, TestAgents.target(dir, 0))).isEqualTo(-1);
            assertThat(PointCatalog.resolve(disk, "tag:p1").seq()).isEqualTo(point);
        }
    }

    private static void assertThatWriteIsRefused(DiskStream s) throws Exception {
        long seq = s.write(0, new byte[512]);
        await().atMost(Duration.ofSeconds(10)).until(() -> s.stoppedBy() != null);
        ReplicationException e = s.stoppedBy();
        assertThat(e).as("write seq %d refused", seq).isNotNull();
        assertThat(e.code()).isEqualTo(ErrorCode.DISK_NEEDS_RESYNC);
    }

    @Test
    void onlineVerifyReportsTheMismatchingRangesAndARangesResyncRepairsOnlyThose() throws Exception {
        Path source = dir.resolve("source.img");
        Path target = TestAgents.target(dir, 0);
        ResyncFixtures.random(source, SIZE, 12);
        Files.createDirectories(target.getParent());
        Files.copy(source, target);
        try (Agent agent = TestAgents.start(settings()); ReplicationClient client = connect(agent);
             SourceDevice src = SourceDevice.open(source)) {
            DiskStream s = client.openDisk("disk-0", 1);
            // Silent damage behind the agent's back: two adjacent chunks and one more.
            ResyncFixtures.write(target, 3L * CHUNK + 100, new byte[] {1, 2, 3});
            ResyncFixtures.write(target, 4L * CHUNK, new byte[] {9});
            ResyncFixtures.write(target, 40L * CHUNK + 5000, new byte[] {7});
            List<long[]> bad = Resync.verify(s, src, CHUNK, Duration.ofSeconds(10));
            assertThat(bad).hasSize(2);
            assertThat(bad.get(0)).containsExactly(3L * CHUNK, 5L * CHUNK);
            assertThat(bad.get(1)).containsExactly(40L * CHUNK, 41L * CHUNK);
            assertThat(agent.disks().byId("disk-0").resyncStats().bytesHashed()).isGreaterThanOrEqualTo(SIZE);

            Resync.Result r = Resync.repair(s, src, bad, CHUNK, "verified");
            assertThat(r.bytesSent()).isEqualTo(3L * CHUNK);
            TestAgents.awaitApplied(agent, Duration.ofSeconds(30));
            assertThat(ResyncFixtures.firstDifference(source, target)).isEqualTo(-1);
            assertThat(Resync.verify(s, src, CHUNK, Duration.ofSeconds(10))).isEmpty();
        }
    }
}
