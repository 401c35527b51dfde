package io.mtagent.agent.retention;

import io.mtagent.nativeio.AlignedBufferPool;
import io.mtagent.nativeio.BlockDevice;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;

/**
 * The two target passes of a rollback to point P, window by window over the disk ({@link #WINDOW_BYTES} each):
 * the window's overlay is resolved per extent ({@link ViewExtents}: for each byte, the earliest before-image with
 * seq &gt; P, which is what the disk held at P), and its before-images are read in large runs ({@link ImageRuns}).
 *
 * <ul>
 *   <li>{@link #capture}: verifies every before-image the rollback will write (a damaged journal is refused
 *       before the target changes) and, for a reversible rollback, copies the target's current bytes of every
 *       range it will overwrite into the undo journal: one target read and one undo record per run of adjacent
 *       extents (at most {@link #RUN_BYTES}). The target is only read.</li>
 *   <li>{@link #roll}: writes the overlay onto the target, one write per run of adjacent extents, in ascending
 *       offset order: <b>each sector is written at most once</b>, whatever how often it was overwritten after P.
 *       The writes depend only on the journal and P, never on the target, so running it again after a crash
 *       writes the same bytes (idempotent).</li>
 * </ul>
 * The undo journal's records are disjoint, so restoring it also writes each sector once.
 *
 * <p>Not thread-safe: one rollback of a disk at a time (the caller holds a lease at P so nothing is pruned).
 */
final class RollbackWriter {
    /** Target bytes whose overlay is resolved and read at once (one buffer of this size, two for the capture). */
    static final int WINDOW_BYTES = 8 << 20;
    /** Largest target write (and undo record). */
    static final int RUN_BYTES = 4 << 20;
    private static final AlignedBufferPool BUFFERS = new AlignedBufferPool(AlignedBufferPool.DEFAULT_ALIGNMENT, 2);

    /** Progress through the disk: bytes of the disk passed, of the disk's size. */
    interface Progress {
        void passed(long bytes, long of);
    }

    private RollbackWriter() {
    }

    /**
     * The capture pass: verifies the journal's images after {@code point} and appends the target's current bytes
     * of every range the roll will write to {@code undo} (null: irreversible, verify only); syncs {@code undo}.
     *
     * @return bytes the roll will write (distinct bytes of the disk changed after the point)
     */
    static long capture(RetentionJournal journal, long point, BlockDevice target, RetentionJournal undo,
                        Progress progress) throws IOException {
        long size = target.size();
        long covered = 0;
        long undoSeq = undo == null ? 0 : undo.lastSeq();
        ByteBuffer images = BUFFERS.acquire(WINDOW_BYTES);
        ByteBuffer current = undo == null ? null : BUFFERS.acquire(RUN_BYTES);
        try {
            for (long at = 0; at < size; at += WINDOW_BYTES) {
                long end = Math.min(size, at + WINDOW_BYTES);
                ViewExtents extents = ViewExtents.resolve(journal, point, at, end);
                ImageRuns.copy(journal, extents.extents(), at, images); // reads and verifies them
                covered += extents.coveredBytes();
                if (undo != null) {
                    for (List<ViewExtents.Extent> run : extents.adjacentRuns(RUN_BYTES)) {
                        long from = run.get(0).offset();
                        int length = (int) (last(run).offset() + last(run).length() - from);
                        current.clear().limit(length);
                        target.read(from, current.duplicate());
                        undo.appendBeforeImage(++undoSeq, 0, from, current.duplicate());
                    }
                }
                progress.passed(end, size);
            }
            if (undo != null) {
                undo.sync();
            }
        } finally {
            BUFFERS.release(images);
            if (current != null) {
                BUFFERS.release(current);
            }
        }
        return covered;
    }

    /** The roll pass: writes the disk's content at {@code point} over every range changed after it; flushes. */
    static void roll(RetentionJournal journal, long point, BlockDevice target, Progress progress) throws IOException {
        long size = target.size();
        ByteBuffer images = BUFFERS.acquire(WINDOW_BYTES);
        try {
            for (long at = 0; at < size; at += WINDOW_BYTES) {
                long end = Math.min(size, at + WINDOW_BYTES);
                ViewExtents extents = ViewExtents.resolve(journal, point, at, end);
                ImageRuns.copy(journal, extents.extents(), at, images);
                for (List<ViewExtents.Extent> run : extents.adjacentRuns(RUN_BYTES)) {
                    long from = run.get(0).offset();
                    int length = (int) (last(run).offset() + last(run).length() - from);
                    int in = (int) (from - at);
                    target.write(from, images.duplicate().limit(in + length).position(in).slice());
                }
                progress.passed(end, size);
            }
        } finally {
            BUFFERS.release(images);
        }
        target.flush();
    }

    private static ViewExtents.Extent last(List<ViewExtents.Extent> run) {
        return run.get(run.size() - 1);
    }
}
