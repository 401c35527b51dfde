package io.mtagent.agent.journal;

import io.mtagent.agent.ingest.IngestLog;
import io.mtagent.agent.ingest.IngestRecord;
import io.mtagent.agent.ingest.RecordPayloads;
import io.mtagent.agent.ingest.StoredRecord;
import io.mtagent.nativeio.BlockDevice;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.function.LongSupplier;

/**
 * A read-only view of a disk as it was at recovery point {@code point} (a sequence number ≤ the applied point):
 * the target's current bytes, overlaid per 512-byte sector by the earliest before-image with seq &gt; point.
 *
 * <p>Correct while the applier keeps writing: it journals (and syncs) a write's before-image before it writes
 * the target, and {@link #read} lays over the target bytes it read the journal's index as it is <em>after</em>
 * those reads, so any target bytes of a write that is landing (even torn ones) are covered by that write's
 * before-image.
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
    /** Target reads start and end on this boundary (an O_DIRECT target reads aligned ranges with no bounce). */
    private static final int GAP_ALIGNMENT = 4096;
    /** Gaps closer than this are read with one request (the journal's bytes laid over the rest anyway). */
    private static final int MERGE_BYTES = 256 << 10;

    /**
     * Opens a view; it holds a lease on the journal, so pruning keeps every record it needs until {@link #close()}.
     *
     * @throws IllegalStateException if the point was already pruned
     */
    public PointInTimeView(BlockDevice target, RetentionJournal journal, long point) {
        this(target, journal, point, null, null);
    }

    /**
     * A view that may lie beyond the applied point (docs/ARCHITECTURE.md, "Retention journal and recovery": "for points
     * between applied and latest, overlaid by ingest-log data ≤ P"). Each read brings the target back to the applied point A it observes (target + journal
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
     * changed): the journal's extents of the range ({@link ViewExtents}, read in runs by {@link ImageRuns}), and
     * the target's bytes only where no extent lies (in large aligned requests). Offset and length must be multiples of 512; an
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
            ViewExtents extents = readTarget(base, offset, buf);
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
     * Receives the view's bytes at a disk offset (the buffer's position..limit, valid only during the call). Called on
     * several threads at once: implementations are thread-safe. A piece flagged {@code overwrites} replaces bytes
     * handed over before (it must be written even where it holds zeros).
     */
    public interface Pieces {
        void accept(long offset, ByteBuffer bytes, boolean overwrites) throws IOException;
    }

    /**
     * True when the point is at or below the disk's applied point: the view is the target and the journal only, and
     * {@link #stream} can hand it over in any order (a point beyond reads the ingest log too: read it with
     * {@link #read}). Once true, it stays true (the applied point only grows).
     */
    public boolean streamable() {
        return applied == null || point <= applied.getAsLong();
    }

    /**
     * Hands [{@code from}, {@code to}) of the view to {@code pieces} in whatever order reads fastest: the journal's
     * before-images in file order and the target where none lies ({@link ViewStreamer}, which says how pieces that
     * overwrite come about). Applying the pieces in the order received gives exactly what {@link #read} returns.
     *
     * @throws IllegalStateException when the view is not {@link #streamable()}
     */
    public void stream(long from, long to, Pieces pieces) throws IOException {
        if (!streamable()) {
            throw new IllegalStateException("the view at seq " + point + " is beyond the applied point: read it");
        }
        if (from % 512 != 0 || to % 512 != 0 || from < 0 || from > to || to > target.size()) {
            throw new IllegalArgumentException("view ranges must be 512-aligned and inside the disk: " + from + ".." + to);
        }
        ViewStreamer.stream(target, journal, point, from, to, pieces);
    }

    /**
     * Reads into {@code buf} the target's bytes of [offset, offset+buf.remaining()) that the journal does not
     * overlay at {@code base} (only the gaps between the extents: on a disk rewritten since the point most of the
     * range comes from the journal, and reading it from the target too was half the I/O of an export), and
     * returns the extents to lay on top.
     *
     * <p>Correct while the applier writes: it appends a write's before-image to the journal (and so to the
     * index) before it writes the target. If the journal's last seq is the same after the target reads as before
     * the resolution, no write landed meanwhile and the extents hold; otherwise they are resolved again, after
     * the reads, so every write that may have reached the bytes read is covered by its before-image (a write's
     * extents only grow coverage: an image appended later never replaces an earlier one).
     */
    private ViewExtents readTarget(long base, long offset, ByteBuffer buf) throws IOException {
        long end = offset + buf.remaining();
        long lastSeq = journal.lastSeq();
        ViewExtents extents = ViewExtents.resolve(journal, base, offset, end);
        for (long[] gap : extents.gaps(GAP_ALIGNMENT, MERGE_BYTES)) {
            int at = (int) (gap[0] - offset);
            target.read(gap[0], buf.duplicate().limit(at + (int) (gap[1] - gap[0])).position(at).slice());
        }
        return journal.lastSeq() == lastSeq ? extents : ViewExtents.resolve(journal, base, offset, end);
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
