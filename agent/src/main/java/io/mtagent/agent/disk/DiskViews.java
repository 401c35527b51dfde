package io.mtagent.agent.disk;

import io.mtagent.agent.ingest.IngestLog;
import io.mtagent.agent.journal.DiscardedHistory;
import io.mtagent.agent.journal.PointInTimeView;
import io.mtagent.agent.journal.RetentionJournal;
import io.mtagent.agent.journal.RollbackState;
import java.io.IOException;
import java.io.UncheckedIOException;

/**
 * Opens point-in-time views of a disk, refusing with the reason every point that is not deliverable: no journal,
 * beyond what was received, a disk rolled back (until commit or a return to latest), or a seq on a discarded branch
 * of the history ({@link DiscardedHistory}). Stateless; thread-safe as the disk is.
 */
final class DiskViews {
    private DiskViews() {
    }

    /**
     * A read-only view of {@code disk} at {@code point}. Points beyond the applied point read through the ingest
     * log (no waiting for the applier, which may be held).
     *
     * @throws IllegalStateException naming why the point cannot be viewed
     */
    static PointInTimeView open(ReplicatedDisk disk, long point) {
        RetentionJournal journal = disk.journal();
        IngestLog log = disk.ingestLog();
        if (journal == null) {
            throw new IllegalStateException("disk " + disk.id() + " keeps no retention journal (set retention.dir)");
        }
        if (point > log.lastDurableSeq()) {
            throw new IllegalStateException("disk " + disk.id() + " holds writes up to seq " + log.lastDurableSeq()
                    + "; point " + point + " is not there yet");
        }
        try {
            if (RollbackState.rolledBack(journal.directory())) {
                throw new IllegalStateException("disk " + disk.id() + " is rolled back to an earlier point: views are"
                        + " available again after 'mtagent commit' or a recover to latest");
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        DiscardedHistory.Range gone = journal.discarded().rangeOf(point);
        if (gone != null) {
            throw new IllegalStateException(DiscardedHistory.refusal(disk.id(), point, gone));
        }
        if (point <= log.appliedSeq()) {
            return new PointInTimeView(disk.target(), journal, point);
        }
        return new PointInTimeView(disk.target(), journal, point, log, log::appliedSeq);
    }
}
