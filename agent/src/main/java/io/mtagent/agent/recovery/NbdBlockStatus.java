package io.mtagent.agent.recovery;

import io.mtagent.nativeio.AlignedBufferPool;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * The {@value Nbd#META_BASE_ALLOCATION} answer to {@code NBD_CMD_BLOCK_STATUS}: which parts of a range read as
 * zeros in the export (reported {@code HOLE | ZERO}, so {@code qemu-img map} shows them as holes and
 * {@code qemu-img convert} / {@code nbdcopy} skip them) and which hold data.
 *
 * <p>It is what the client would read, not the target's allocation: the range is read through the lease (the
 * view, or a test failover's scratch over it) and classified in blocks of {@link ExportService#HOLE_BYTES}; a
 * block that is partly in the range is classified as a whole (its bytes outside do not change the answer's
 * meaning: the client asked about the bytes inside). At most {@link #MAX_BYTES} are answered per request; the
 * protocol lets the client ask again for the rest.
 */
final class NbdBlockStatus {
    /** Bytes looked at per request (the rest of a longer request is asked for again by the client). */
    static final int MAX_BYTES = 32 << 20;
    /** Bytes read at once. */
    private static final int READ_BYTES = 4 << 20;
    private static final AlignedBufferPool BUFFERS = new AlignedBufferPool(AlignedBufferPool.DEFAULT_ALIGNMENT, 4);

    /** One descriptor: {@code length} bytes with status {@code flags}. */
    record Descriptor(int length, int flags) {
    }

    private NbdBlockStatus() {
    }

    /**
     * Descriptors covering [offset, offset + min(length, MAX_BYTES)) (fewer bytes when {@code one}: just the
     * first descriptor). The range is inside the export; offset and length need not be aligned.
     */
    static List<Descriptor> of(ViewLease lease, long size, long offset, long length, boolean one) throws IOException {
        long end = Math.min(offset + Math.min(length, MAX_BYTES), size);
        List<Descriptor> out = new ArrayList<>();
        int hole = ExportService.HOLE_BYTES;
        long pos = offset;
        int runFlags = -1;
        long runStart = offset;
        ByteBuffer buf = BUFFERS.acquire(READ_BYTES);
        try {
            while (pos < end) {
                long readStart = pos / hole * hole;
                long readEnd = Math.min(size, Math.min(readStart + READ_BYTES, (end + hole - 1) / hole * hole));
                buf.clear().limit((int) (readEnd - readStart));
                lease.read(readStart, buf.duplicate());
                for (long block = readStart; block < readEnd && pos < end; block += hole) {
                    int n = (int) Math.min(hole, readEnd - block);
                    int flags = ExportService.isZero(buf, (int) (block - readStart), n)
                            ? Nbd.STATE_HOLE | Nbd.STATE_ZERO : 0;
                    long blockEnd = Math.min(end, block + n);
                    if (flags != runFlags && runFlags >= 0) {
                        out.add(new Descriptor((int) (pos - runStart), runFlags));
                        if (one) {
                            return out;
                        }
                        runStart = pos;
                    }
                    runFlags = flags;
                    pos = blockEnd;
                }
            }
        } finally {
            BUFFERS.release(buf);
        }
        if (pos > runStart) {
            out.add(new Descriptor((int) (pos - runStart), runFlags));
        }
        return out;
    }
}
