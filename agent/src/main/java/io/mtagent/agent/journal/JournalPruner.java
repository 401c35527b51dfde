package io.mtagent.agent.journal;

import io.mtagent.agent.log.AtomicFile;
import io.mtagent.agent.log.LogFileNames;
import io.mtagent.agent.log.PrunedMark;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Removes a retention journal's oldest segments, whole, oldest first, never one an open view still reads (a view at
 * P needs every record above P: its lease) and never the current one. The {@link PrunedMark} is written
 * <b>before</b> the segment is deleted: a crash between the two leaves a segment wholly at or below the mark, which
 * recovery removes; the other order would leave a hole that looks like corruption.
 *
 * <p>Thread-safety: one prune at a time (its own lock, held across the file I/O, so never the state's monitor).
 */
final class JournalPruner {
    private final Path dir;
    private final JournalState state;
    private final IndexCache cache;
    private final JournalImages images;
    private final Object pruneLock = new Object();

    JournalPruner(Path dir, JournalState state, IndexCache cache, JournalImages images) {
        this.dir = dir;
        this.state = state;
        this.cache = cache;
        this.images = images;
    }

    /** @return true if a segment was dropped */
    boolean pruneOldestSegment() throws IOException {
        synchronized (pruneLock) { // two pruners must not write the pruned mark at once
            SegmentIndex.Summary s;
            PrunedMark mark;
            synchronized (state) {
                if (state.sealed.isEmpty()) {
                    return false;
                }
                s = state.sealed.firstEntry().getValue();
                if (!state.leases.isEmpty() && s.lastSeq() > state.leases.firstKey()) {
                    return false; // an open view at a point below this segment's records still reads them
                }
                state.prunedThroughTimestamp = s.lastTs();
                state.prunedThrough = s.lastSeq();
                state.sealed.pollFirstEntry();
                long last = s.lastSeq();
                state.points.removeIf(p -> p.seq() <= last);
                mark = new PrunedMark(state.prunedThrough, state.prunedThroughTimestamp);
            }
            mark.write(dir.resolve(LogFileNames.PRUNED));
            cache.remove(dir, s.segment());
            images.forget(s.segment()); // no lease covers it any more, so no view reads it
            Files.deleteIfExists(dir.resolve(LogFileNames.segment(JournalFormat.KIND, s.segment())));
            Files.deleteIfExists(SegmentIndex.fileOf(dir, s.segment()));
            AtomicFile.fsyncDirectory(dir);
            return true;
        }
    }

    /** See {@link RetentionJournal#resetAfterDamage}. */
    static Path resetAfterDamage(Path dir, long appliedSeq) throws IOException {
        Path aside = dir.resolveSibling(dir.getFileName() + ".broken-" + System.currentTimeMillis());
        Files.move(dir, aside);
        Files.createDirectories(dir);
        new PrunedMark(appliedSeq, -1).write(dir.resolve(LogFileNames.PRUNED));
        AtomicFile.fsyncDirectory(dir.getParent());
        return aside;
    }
}
