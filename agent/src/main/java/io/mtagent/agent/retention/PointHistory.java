package io.mtagent.agent.retention;

import io.mtagent.agent.disk.ReplicatedDisk;
import io.mtagent.agent.ingest.IngestRecord;
import io.mtagent.agent.journal.DiscardedHistory;
import io.mtagent.agent.journal.RetentionJournal;
import java.util.List;

/**
 * What {@link PointCatalog} reads of a disk to list and resolve its points: the retention journal (with its
 * {@link DiscardedHistory}) and, while the agent runs, the durable part of the ingest log not yet applied. One
 * resolver serves the running agent ({@link #of(ReplicatedDisk)}) and a stopped one ({@link #offline}), so both
 * list the same points and refuse the same ones (discarded branches, inside a resync, outside the time window).
 *
 * <p>Thread-safety: as the disk or journal it reads.
 */
public interface PointHistory {
    String diskId();

    /** The disk's journal; {@code null} when it keeps none. */
    RetentionJournal journal();

    /** Durable tags and markers of the ingest log after {@code seq}, in seq order (none offline). */
    List<IngestRecord> durableTagsAfter(long seq);

    /** Everything acknowledged (offline: what the journal holds, the writes applied to the target). */
    long lastDurableSeq();

    /** What is applied to the target. */
    long appliedSeq();

    /** Source time of a seq still in the ingest log, or -1 (always -1 offline). */
    long logTimestampOf(long seq);

    /** The largest durable seq of the ingest log written at or before the time, 0 when none (0 offline). */
    long logSeqAtOrBefore(long timestampMicros);

    /** Appended to the refusal of a seq beyond {@link #lastDurableSeq()}: how to reach it, or "". */
    default String beyondLatestFix() {
        return "";
    }

    /** The running agent's disk: journal and ingest log. */
    static PointHistory of(ReplicatedDisk disk) {
        return new PointHistory() {
            @Override
            public String diskId() {
                return disk.id();
            }

            @Override
            public RetentionJournal journal() {
                return disk.journal();
            }

            @Override
            public List<IngestRecord> durableTagsAfter(long seq) {
                return disk.ingestLog().durableTagsAfter(seq);
            }

            @Override
            public long lastDurableSeq() {
                return disk.lastDurableSeq();
            }

            @Override
            public long appliedSeq() {
                return disk.appliedSeq();
            }

            @Override
            public long logTimestampOf(long seq) {
                return disk.ingestLog().timestampOf(seq);
            }

            @Override
            public long logSeqAtOrBefore(long timestampMicros) {
                return disk.ingestLog().durableSeqAtOrBefore(timestampMicros);
            }
        };
    }

    /**
     * A stopped agent's disk ({@code mtagent export --offline}): only what was applied to the target can be read,
     * so {@code latest} and {@code latest-processed} both mean the journal's last write, and a point beyond it is
     * refused with the fix (start the agent: it applies the ingest log).
     */
    static PointHistory offline(String diskId, RetentionJournal journal) {
        return new PointHistory() {
            @Override
            public String diskId() {
                return diskId;
            }

            @Override
            public RetentionJournal journal() {
                return journal;
            }

            @Override
            public List<IngestRecord> durableTagsAfter(long seq) {
                return List.of();
            }

            @Override
            public long lastDurableSeq() {
                return journal.lastSeq();
            }

            @Override
            public long appliedSeq() {
                return journal.lastSeq();
            }

            @Override
            public long logTimestampOf(long seq) {
                return -1;
            }

            @Override
            public long logSeqAtOrBefore(long timestampMicros) {
                return 0;
            }

            @Override
            public String beyondLatestFix() {
                return "; offline only the writes applied to the target can be read: start the agent so it applies"
                        + " the ingest log, then export again";
            }
        };
    }
}
