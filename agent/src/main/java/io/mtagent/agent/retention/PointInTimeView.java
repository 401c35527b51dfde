package io.mtagent.agent.retention;

import io.mtagent.nativeio.BlockDevice;
import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * A read-only view of a disk as it was at recovery point {@code point} (a sequence number ≤ the applied point):
 * the target's current bytes, overlaid per 512-byte sector by the earliest before-image with seq &gt; point.
 *
 * <p>Correct while the applier keeps writing: it journals (and syncs) a write's before-image before it writes
 * the target, and {@link #read} reads the target <em>before</em> it snapshots the journal's index, so any target
 * bytes of a write that is landing (even torn ones) are covered by that write's before-image.
 *
 * <p>Thread-safe; reads are independent. Close it when done, or pruning stays held back.
 */
public final class PointInTimeView implements AutoCloseable {
    private final BlockDevice target;
    private final RetentionJournal journal;
    private final long point;
    private final AutoCloseable lease;

    /**
     * Opens a view; it holds a lease on the journal, so pruning keeps every record it needs until {@link #close()}.
     *
     * @throws IllegalStateException if the point was already pruned
     */
    public PointInTimeView(BlockDevice target, RetentionJournal journal, long point) {
        this.target = target;
        this.journal = journal;
        this.point = point;
        this.lease = journal.lease(point);
    }

    /** Releases the lease; reads after close are not allowed. */
    @Override
    public void close() {
        try {
            lease.close();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    public long point() {
        return point;
    }

    public long size() {
        return target.size();
    }

    /** Reads [offset, offset+length) of the view; offset and length must be multiples of 512. */
    public byte[] read(long offset, int length) throws IOException {
        if (offset % 512 != 0 || length % 512 != 0 || offset < 0 || offset + length > target.size()) {
            throw new IllegalArgumentException("view reads must be 512-aligned and inside the disk: " + offset + "+" + length);
        }
        byte[] buf = new byte[length];
        target.read(offset, ByteBuffer.wrap(buf));
        journal.overlayAfter(point, offset, buf);
        return buf;
    }
}
