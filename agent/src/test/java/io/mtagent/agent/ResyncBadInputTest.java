package io.mtagent.agent;

import static org.awaitility.Awaitility.await;
import static org.assertj.core.api.Assertions.assertThat;

import io.mtagent.protocol.DiskState;
import io.mtagent.protocol.ErrorCode;
import io.mtagent.protocol.ResyncFrames;
import io.mtagent.protocol.client.DiskStream;
import io.mtagent.protocol.client.ReplicationClient;
import io.mtagent.protocol.client.ReplicationException;
import io.netty.buffer.Unpooled;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The agent's answers to misplaced or malformed resync traffic (SPEC.md §12.3–§12.5): each is the typed,
 * non-fatal error that stops only the handle, nothing reaches the disk, and the disk streams again on a new handle.
 * (A reopened {@link DiskStream} would re-send the refused frame, which is the client's promise for everything
 * unacknowledged; so each step opens a fresh stream, as a process server that dropped the bad frame would.)
 */
class ResyncBadInputTest {
    private static final long SIZE = 4L << 20;
    private static final int CHUNK = ResyncFrames.MIN_CHUNK_SIZE;

    @TempDir
    Path dir;

    @Test
    void misplacedResyncFramesAndBadChecksumRequestsAreTypedErrors() throws Exception {
        try (Agent agent = TestAgents.start(TestAgents.settings(dir, 1, SIZE));
             ReplicationClient client = ReplicationClient.connect(TestAgents.client(agent)
                     .pinnedFingerprint(agent.identity().fingerprintText()).build())) {
            DiskStream s = client.openDisk("disk-0", 1);

            // A resync write with no resync in progress.
            s.resyncWrite(0, Unpooled.wrappedBuffer(new byte[4096]), 0);
            assertThat(awaitStopped(s).code()).isEqualTo(ErrorCode.NOT_RESYNCING);
            s = client.openDisk("disk-0", 1); // a fresh stream: the refused frame is not re-sent

            // Progress and end naming a resync that is not the one in progress.
            // The start must be durable before the bad frame: the fresh stream below numbers from the agent's
            // lastDurableSeq, and a start still in its group commit would be numbered again (SEQUENCE_CONFLICT).
            long start = s.resyncStart(7, ResyncFrames.Mode.DIFFERENTIAL, CHUNK, 0, SIZE);
            s.awaitAcked(start, Duration.ofSeconds(10));
            s.resyncProgress(8, CHUNK);
            assertThat(awaitStopped(s).code()).isEqualTo(ErrorCode.NOT_RESYNCING);
            s = client.openDisk("disk-0", 1); // a fresh stream: the refused frame is not re-sent
            assertThat(s.state()).isEqualTo(DiskState.INITIAL_SYNC);
            assertThat(s.resyncState().resyncId()).isEqualTo(7);
            long end = s.resyncEnd(7, true, "");
            s.awaitAcked(end, Duration.ofSeconds(10));
            assertThat(agent.disks().byId("disk-0").state()).isEqualTo(DiskState.PROTECTED);

            // A resync range that is not chunk-aligned, or passes the end of the disk.
            s.resyncStart(9, ResyncFrames.Mode.FULL, CHUNK, 512, CHUNK);
            assertThat(awaitStopped(s).code()).isEqualTo(ErrorCode.UNALIGNED);
            s = client.openDisk("disk-0", 1); // a fresh stream: the refused frame is not re-sent
            s.resyncStart(9, ResyncFrames.Mode.FULL, CHUNK, 0, SIZE + CHUNK);
            assertThat(awaitStopped(s).code()).isEqualTo(ErrorCode.OUT_OF_RANGE);
            s = client.openDisk("disk-0", 1); // a fresh stream: the refused frame is not re-sent
            assertThat(agent.disks().byId("disk-0").state()).isEqualTo(DiskState.PROTECTED);

            // Checksum requests: unaligned, past the end, too many chunks.
            assertThat(checksumError(s.checksums(512, CHUNK, CHUNK))).isEqualTo(ErrorCode.UNALIGNED);
            s = client.openDisk("disk-0", 1); // a fresh stream: the refused frame is not re-sent
            assertThat(checksumError(s.checksums(0, SIZE + CHUNK, CHUNK))).isEqualTo(ErrorCode.OUT_OF_RANGE);
            s = client.openDisk("disk-0", 1); // a fresh stream: the refused frame is not re-sent
            assertThat(checksumError(s.checksums(0, (ResyncFrames.MAX_CHUNKS_PER_REQUEST + 1L) * CHUNK, CHUNK)))
                    .isEqualTo(ErrorCode.OUT_OF_RANGE);
            s = client.openDisk("disk-0", 1); // a fresh stream: the refused frame is not re-sent
            // And a good one still works on the same handle.
            DiskStream.Digests d = s.checksums(0, SIZE, CHUNK).get(10, TimeUnit.SECONDS);
            assertThat(d.count()).isEqualTo((int) (SIZE / CHUNK));
            assertThat(agent.dataStats().rejectedCount(ErrorCode.NOT_RESYNCING)).isEqualTo(2.0);
        }
    }

    private static ReplicationException awaitStopped(DiskStream s) throws InterruptedException {
        await().atMost(Duration.ofSeconds(10)).until(() -> s.stoppedBy() != null);
        return s.stoppedBy();
    }

    private static ErrorCode checksumError(CompletableFuture<DiskStream.Digests> f) throws Exception {
        try {
            f.get(10, TimeUnit.SECONDS);
            throw new AssertionError("checksums answered");
        } catch (ExecutionException e) {
            return ((ReplicationException) e.getCause()).code();
        }
    }
}
