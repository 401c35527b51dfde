package io.mtagent.agent.recovery;

import io.mtagent.nativeio.AlignedBufferPool;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * The {@value Nbd#META_BASE_ALLOCATION} answers to {@code NBD_CMD_BLOCK_STATUS} of one connection: which parts of
 * a range read as zeros in the export (reported {@code HOLE | ZERO}, so {@code qemu-img map} shows them as holes
 * and {@code qemu-img convert} / {@code nbdcopy} skip them) and which hold data.
 *
 * <p>It is what the client would read, not the target's allocation: the export is read through the lease (the
 * view, or a test failover's scratch over it) in windows of {@link #WINDOW_BYTES} and classified in blocks of
 * {@link ExportService#HOLE_BYTES}. The last window's descriptors are kept, so a client that asks extent by
 * extent (qemu sets REQ_ONE) reads each window once; a write through the connection drops them. A view at a
 * point never changes, so they cannot go stale otherwise; a test failover with several connections writing has
 * each connection's own cache, which may lag another connection's writes (its status is advisory). At most
 * {@link #MAX_BYTES} are answered per request; the protocol lets the client ask again for the rest.
 *
 * <p>Not thread-safe: one per connection, used by its request drain only.
 */
final class NbdBlockStatus {
    /** Bytes answered per request at most. */
    static final int MAX_BYTES = 32 << 20;
    /** Bytes read and classified at once. */
    static final int WINDOW_BYTES = 4 << 20;
    private static final AlignedBufferPool BUFFERS = new AlignedBufferPool(AlignedBufferPool.DEFAULT_ALIGNMENT, 4);

    /** One descriptor: {@code length} bytes with status {@code flags}. */
    record Descriptor(int length, int flags) {
    }

    /** A classified run of the last window: [start, end) with status flags. */
    private record Run(long start, long end, int flags) {
    }

    private final ViewLease lease;
    private final long size;
    private List<Run> window = List.of();
    private long windowStart = -1;
    private long windowEnd = -1;

    NbdBlockStatus(ViewLease lease, long size) {
        this.lease = lease;
        this.size = size;
    }

    /** Forgets the classified window (the connection wrote). */
    void invalidate() {
        window = List.of();
        windowStart = -1;
        windowEnd = -1;
    }

    /**
     * Descriptors covering [offset, offset + min(length, MAX_BYTES)), or only the first one when {@code one}. The
     * range is inside the export; offset and length need not be aligned.
     */
    List<Descriptor> of(long offset, long length, boolean one) throws IOException {
        long end = Math.min(size, offset + Math.min(length, MAX_BYTES));
        List<Descriptor> out = new ArrayList<>();
        long pos = offset;
        int flags = -1;
        long runStart = offset;
        while (pos < end) {
            if (pos < windowStart || pos >= windowEnd) {
                classify(pos);
            }
            for (Run r : window) {
                if (r.end() <= pos) {
                    continue;
                }
                long to = Math.min(end, r.end());
                if (r.flags() != flags && flags >= 0) {
                    out.add(new Descriptor((int) (pos - runStart), flags));
                    if (one) {
                        return out;
                    }
                    runStart = pos;
                }
                flags = r.flags();
                pos = to;
                if (pos >= end) {
                    break;
                }
            }
        }
        out.add(new Descriptor((int) (pos - runStart), flags));
        return out;
    }

    /** Reads and classifies the window holding {@code pos}. */
    private void classify(long pos) throws IOException {
        int hole = ExportService.HOLE_BYTES;
        long start = pos / hole * hole;
        long end = Math.min(size, start + WINDOW_BYTES);
        ByteBuffer buf = BUFFERS.acquire((int) (end - start));
        List<Run> runs = new ArrayList<>();
        try {
            lease.read(start, buf.duplicate());
            long runStart = start;
            int runFlags = -1;
            for (long block = start; block < end; block += hole) {
                int n = (int) Math.min(hole, end - block);
                int flags = ExportService.isZero(buf, (int) (block - start), n) ? Nbd.STATE_HOLE | Nbd.STATE_ZERO : 0;
                if (flags != runFlags && runFlags >= 0) {
                    runs.add(new Run(runStart, block, runFlags));
                    runStart = block;
                }
                runFlags = flags;
            }
            runs.add(new Run(runStart, end, runFlags));
        } finally {
            BUFFERS.release(buf);
        }
        window = runs;
        windowStart = start;
        windowEnd = end;
    }
}
