package io.mtagent.agent.retention;

import io.mtagent.nativeio.BlockDevice;
import java.io.IOException;
import io.mtagent.agent.storage.IngestLog;
import io.mtagent.agent.storage.IngestRecord;
import io.mtagent.agent.storage.RecordPayloads;
import io.mtagent.agent.storage.StoredRecord;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.function.LongSupplier;

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
    private final IngestLog log;
    private final LongSupplier applied;
    private static final int MAX_ATTEMPTS = 50;

    /**
     * Opens a view; it holds a lease on the journal, so pruning keeps every record it needs until {@link #close()}.
     *
     * @throws IllegalStateException if the point was already pruned
     */
    public PointInTimeView(BlockDevice target, RetentionJournal journal, long point) {
        this(target, journal, point, null, null);
    }

    /**
     * A view that may lie beyond the applied point (DESIGN.md: "for points between applied and latest, overlaid by
     * ingest-log data ≤ P"). Each read brings the target back to the applied point A it observes (target + journal
     * overlay above A) and then overlays the ingest-log records in (A, P], in order. If the applier applies and
     * prunes those records during the read, the read starts over from the newer A.
     *
     * @param log the disk's ingest log (records above the applied point)
     * @param applied the disk's applied point now (monotonic)
     */
    public PointInTimeView(BlockDevice target, RetentionJournal journal, long point, IngestLog log, LongSupplier applied) {
        this.target = target;
        this.journal = journal;
        this.point = point;
        this.log = log;
        this.applied = applied;
        // Hold every before-image above what is applied now: reads may start from that point.
        this.lease = journal.lease(applied == null ? point : Math.min(point, applied.getAsLong()));
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
        byte[] buf = new byte[length];
        read(offset, ByteBuffer.wrap(buf));
        return buf;
    }

    /**
     * Reads [offset, offset+dst.remaining()) of the view into {@code dst} (its position and limit are not
     * changed): the target's bytes with one request, then the journal's extents of the range on top
     * ({@link ViewExtents}, read in runs by {@link ImageRuns}). Offset and length must be multiples of 512; an
     * aligned direct buffer lets an O_DIRECT target read straight into it.
     */
    public void read(long offset, ByteBuffer dst) throws IOException {
        int length = dst.remaining();
        if (offset % 512 != 0 || length % 512 != 0 || offset < 0 || offset + length > target.size()) {
            throw new IllegalArgumentException("view reads must be 512-aligned and inside the disk: " + offset + "+" + length);
        }
        ByteBuffer buf = dst.slice();
        for (int attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
            long base = applied == null ? point : Math.min(point, applied.getAsLong());
            // The target first, the journal's index after: a write landing meanwhile has its before-image in it.
            target.read(offset, buf.duplicate());
            ViewExtents extents = ViewExtents.resolve(journal, base, offset, offset + length);
            ImageRuns.copy(journal, extents.extents(), offset, buf); // the disk at `base`
            if (base == point) {
                return;
            }
            if (overlayIngestLog(base, offset, buf)) {
                return;
            }
            // applied meanwhile: start over from the newer applied point
        }
        throw new IOException("the view at seq " + point + " could not get a stable read in " + MAX_ATTEMPTS
                + " attempts while the applier raced ahead; retry");
    }

    /**
     * The extents of [offset, offset+length) that differ from the target at this point: where the target's bytes
     * are not the view's (points beyond the applied point also read the ingest log, not listed here).
     */
    public ViewExtents extents(long offset, long length) throws IOException {
        long base = applied == null ? point : Math.min(point, applied.getAsLong());
        return ViewExtents.resolve(journal, base, offset, offset + length);
    }

    /** Overlays the ingest-log writes in (base, point] onto {@code buf}; false when they were applied meanwhile. */
    private boolean overlayIngestLog(long base, long offset, ByteBuffer buf) throws IOException {
        List<StoredRecord> records = log.readRange(base, point);
        if (records == null) {
            return false;
        }
        long end = offset + buf.remaining();
        for (StoredRecord r : records) {
            IngestRecord rec = r.record();
            if (rec.type() != IngestRecord.Type.WRITE || rec.offset() >= end || rec.offset() + rec.length() <= offset) {
                continue;
            }
            byte[] data = RecordPayloads.decode(r);
            long lo = Math.max(offset, rec.offset());
            long hi = Math.min(end, rec.offset() + rec.length());
            buf.put((int) (lo - offset), data, (int) (lo - rec.offset()), (int) (hi - lo));
        }
        return true;
    }
}
