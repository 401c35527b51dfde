package io.mtagent.agent.journal;

import io.mtagent.nativeio.BlockDevice;
import java.io.IOException;
import java.util.List;

/**
 * The two target passes of a rollback to point P, window by window over the disk
 * ({@link RollbackWindows#WINDOW_BYTES} each): the window's overlay is resolved per extent ({@link ViewExtents}:
 * for each byte, the earliest before-image with seq &gt; P, which is what the disk held at P), and its
 * before-images are read in large runs ({@link ImageRuns}). The next window is read while this one is written
 * ({@link RollbackWindows}).
 *
 * <ul>
 *   <li>{@link #capture}: verifies every before-image the rollback will write (a damaged journal is refused
 *       before the target changes) and, for a reversible rollback, copies the target's current bytes of every
 *       range it will overwrite into the undo journal: the target is read in large requests, several at once,
 *       and one undo record is appended per run of adjacent extents (at most {@link #RUN_BYTES}). The target is
 *       only read.</li>
 *   <li>{@link #roll}: writes the overlay onto the target, one write per run of adjacent extents, window after
 *       window, {@link #WRITES_IN_FLIGHT} writes of a window at once (the runs are disjoint, so their order does
 *       not matter): <b>each sector is written at most once</b>, whatever how often it was overwritten after P.
 *       The writes depend only on the journal and P, never on the target, so running it again after a crash
 *       writes the same bytes (idempotent); the target is flushed once, at the end.</li>
 * </ul>
 * The undo journal's records are disjoint, so restoring it also writes each sector once.
 *
 * <p>Not thread-safe: one rollback of a disk at a time (the caller holds a lease at P so nothing is pruned).
 */
public final class RollbackWriter {
    /** Largest target write (and undo record). */
    static final int RUN_BYTES = 4 << 20;
    /** Target writes of the roll under way at once (disjoint ranges; a virtual disk serves queued writes faster). */
    static final int WRITES_IN_FLIGHT = 4;

    /** Progress through the disk: bytes of the disk passed, of the disk's size. */
    public interface Progress {
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
    public static long capture(RetentionJournal journal, long point, BlockDevice target, RetentionJournal undo,
                        Progress progress) throws IOException {
        long size = target.size();
        long covered = 0;
        long undoSeq = undo == null ? 0 : undo.lastSeq();
        try (RollbackWindows windows = new RollbackWindows(journal, point, target, undo != null)) {
            for (RollbackWindows.Window next = windows.next(); next != null; next = windows.next()) {
                try (RollbackWindows.Window w = next) {
                    covered += w.extents().coveredBytes();
                    if (undo != null) {
                        for (List<ViewExtents.Extent> run : w.extents().adjacentRuns(RUN_BYTES)) {
                            undo.appendBeforeImage(++undoSeq, 0, start(run), w.slice(w.current(), run));
                        }
                    }
                    progress.passed(w.end(), size);
                }
            }
        }
        if (undo != null) {
            undo.sync();
        }
        return covered;
    }

    /** The roll pass: writes the disk's content at {@code point} over every range changed after it; flushes. */
    public static void roll(RetentionJournal journal, long point, BlockDevice target, Progress progress) throws IOException {
        long size = target.size();
        try (RollbackWindows windows = new RollbackWindows(journal, point, target, false)) {
            for (RollbackWindows.Window next = windows.next(); next != null; next = windows.next()) {
                try (RollbackWindows.Window w = next) {
                    RollbackWindows.inLanes(w.extents().adjacentRuns(RUN_BYTES), WRITES_IN_FLIGHT,
                            run -> target.write(start(run), w.slice(w.images(), run)));
                    progress.passed(w.end(), size);
                }
            }
        }
        target.flush();
    }

    private static long start(List<ViewExtents.Extent> run) {
        return run.get(0).offset();
    }
}
