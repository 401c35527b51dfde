package io.mtagent.agent.disk;

import io.mtagent.agent.ingest.IngestLog;
import io.mtagent.agent.ingest.IngestRecord;
import io.mtagent.agent.journal.RecoveryPoint;
import io.mtagent.agent.journal.RetentionJournal;
import io.mtagent.protocol.TagType;
import java.util.ArrayDeque;

/**
 * The times a disk's RPO and app-consistency rule are computed from, and the bytes of its writes made durable:
 * the agent time of the newest durable record and of the newest durable app-consistent tag.
 *
 * <p>At start they come from what the disk holds ({@link #recover}): the newest durable record's source time from
 * the ingest log (its unapplied records, or the applied point's time persisted with it), else from the retention
 * journal; the newest app-consistent tag from the ingest log's tags, else the journal's points. So the RPO is a
 * number from the first scrape after a restart, and the health rules evaluate at once. Those times are the
 * source's clock: the clock offset measured at a handshake is not persisted, so until a process server opens
 * the disk again the RPO is uncorrected by it (a few seconds at most between NTP-synchronised machines).
 *
 * <p>Thread-safety: offers ({@link #accepted}) come from event loops under the disk's lock, {@link #durable} from
 * the ingest log's writer; the queue is guarded by itself and the results are volatile.
 */
final class DurablePoints {
    /**
     * Accepted records not yet durable: {seq, source time corrected to agent time (µs), 1 if app-consistent tag,
     * write bytes}. Bounded by the credit in flight.
     */
    private final ArrayDeque<long[]> undurable = new ArrayDeque<>();
    private volatile long newestMicros;
    private volatile long lastAppConsistentMicros;

    private DurablePoints(long newestMicros, long lastAppConsistentMicros) {
        this.newestMicros = Math.max(0, newestMicros);
        this.lastAppConsistentMicros = Math.max(0, lastAppConsistentMicros);
    }

    /** The times as the disk holds them on disk (0 where nothing tells). */
    static DurablePoints recover(IngestLog log, RetentionJournal journal) {
        long newest = log.newestDurableTimestampMicros();
        if (newest < 0 && journal != null) {
            newest = journal.timestampOf(log.lastDurableSeq());
        }
        long app = -1;
        for (IngestRecord t : log.durableTagsAfter(0)) {
            if (t.tagType() == TagType.APP_CONSISTENT.code()) {
                app = Math.max(app, t.timestampMicros());
            }
        }
        if (app < 0 && journal != null) {
            for (RecoveryPoint p : journal.points()) {
                if (p.kind() == RecoveryPoint.Kind.APP_CONSISTENT) {
                    app = Math.max(app, p.timestampMicros());
                }
            }
        }
        return new DurablePoints(newest, app);
    }

    /** An accepted record (under the disk's lock, in seq order). */
    void accepted(long seq, long agentMicros, boolean appConsistent, int writeBytes) {
        synchronized (undurable) {
            undurable.addLast(new long[] {seq, agentMicros, appConsistent ? 1 : 0, writeBytes});
        }
    }

    /** Everything up to {@code durableSeq} is durable; returns the write bytes that became durable with it. */
    long durable(long durableSeq) {
        long newest = 0;
        long app = 0;
        long bytes = 0;
        synchronized (undurable) {
            while (!undurable.isEmpty() && undurable.peekFirst()[0] <= durableSeq) {
                long[] r = undurable.pollFirst();
                newest = Math.max(newest, r[1]);
                if (r[2] != 0) {
                    app = Math.max(app, r[1]);
                }
                bytes += r[3];
            }
        }
        if (newest > newestMicros) {
            newestMicros = newest;
        }
        if (app > lastAppConsistentMicros) {
            lastAppConsistentMicros = app;
        }
        return bytes;
    }

    /** Agent time (µs) of the newest durable record, 0 when the disk never held one. */
    long newestMicros() {
        return newestMicros;
    }

    /** Seconds from the newest durable record's (agent) time to now; null while the disk never held a record. */
    Double rpoSeconds() {
        long newest = newestMicros();
        return newest == 0 ? null : Math.max(0, System.currentTimeMillis() * 1000 - newest) / 1e6;
    }

    /** Agent time (µs) of the newest durable app-consistent tag, 0 if none is known. */
    long lastAppConsistentMicros() {
        return lastAppConsistentMicros;
    }
}
