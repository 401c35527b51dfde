package io.mtagent.agent.send;

import io.mtagent.nativeio.nbd.ByteRange;
import io.mtagent.nativeio.nbd.NbdClient;
import io.mtagent.protocol.ResyncFrames;
import io.mtagent.protocol.client.DiskStream;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * A changed-blocks-only send: the extents a QEMU dirty bitmap marks dirty ({@code qemu:dirty-bitmap:NAME}, read
 * by NBD block status), read with pipelined requests and sent as resync writes of mode "ranges" (SPEC.md §12.3),
 * in offset order, then a consistent end marker: the recovery point equal to the export's frozen view.
 *
 * <p>Why a resync of mode "ranges" and not plain writes: the writes of one cycle come in offset order, not in the
 * order the guest made them, so a point between two of them is no state the disk ever had. Inside a resync the
 * agent offers no recovery point (SPEC.md §12.7), and the end marker is the first point after it. A run that is
 * cut off leaves the resync open; the next run's RESYNC_START supersedes it, and its bitmap, started at the last
 * <em>completed</em> point, covers everything the cut-off run wrote.
 */
final class ChangedBlockSend {
    private static final SecureRandom RANDOM = new SecureRandom();
    /** Progress markers at least this far apart (SPEC.md §12.3 asks for one every 64 MiB of range at least). */
    private static final long PROGRESS_EVERY = 32L << 20;
    private static final int SECTOR = 512;

    private final NbdClient nbd;
    private final String context;
    private final DiskStream stream;
    private final SendOptions options;
    private final SendProgress progress;

    ChangedBlockSend(NbdClient nbd, String context, DiskStream stream, SendOptions options, SendProgress progress) {
        this.nbd = nbd;
        this.context = context;
        this.stream = stream;
        this.options = options;
        this.progress = progress;
    }

    DiskReport run() throws Exception {
        long t0 = System.nanoTime();
        long size = nbd.size();
        List<ByteRange> dirty = dirtyRanges(size);
        long dirtyBytes = dirty.stream().mapToLong(ByteRange::length).sum();
        progress.plan(dirtyBytes);
        int chunk = ResyncFrames.MIN_CHUNK_SIZE;
        long id = RANDOM.nextLong() & Long.MAX_VALUE | 1;
        stream.resyncStart(id, ResyncFrames.Mode.RANGES, chunk, 0, size);
        ResyncWriter writer = new ResyncWriter(stream, options.bytesPerSecond());
        long[] marked = {0};
        nbd.readRanges(dirty, options.readDepth(), options.readBytes(), (offset, data) -> {
            int n = data.remaining();
            writer.send(offset, data);
            progress.advance(n);
            long done = (offset + n) / chunk * chunk;
            if (done - marked[0] >= PROGRESS_EVERY) {
                stream.resyncProgress(id, done);
                marked[0] = done;
            }
        });
        long endSeq = stream.resyncEnd(id, true, options.endName());
        stream.awaitAcked(endSeq, Duration.ofMinutes(10));
        double secs = (System.nanoTime() - t0) / 1e9;
        return new DiskReport(stream.diskId(), nbd.uri(), "bitmap", null, size, dirtyBytes, dirtyBytes,
                writer.bytesSent(), writer.wireBytes(), 0, true, options.endName(), endSeq, secs);
    }

    /** The dirty extents, merged, widened to whole 512-byte sectors (resync writes are sector-aligned). */
    private List<ByteRange> dirtyRanges(long size) throws Exception {
        List<ByteRange> out = new ArrayList<>();
        nbd.extents(0, size, context, (offset, length, flags) -> {
            if ((flags & NbdClient.STATE_DIRTY) == 0) {
                return;
            }
            long from = offset / SECTOR * SECTOR;
            long to = Math.min(size, (offset + length + SECTOR - 1) / SECTOR * SECTOR);
            ByteRange last = out.isEmpty() ? null : out.get(out.size() - 1);
            if (last != null && from <= last.end()) {
                out.set(out.size() - 1, new ByteRange(last.offset(), Math.max(last.end(), to) - last.offset()));
            } else {
                out.add(new ByteRange(from, to - from));
            }
        });
        return out;
    }
}
