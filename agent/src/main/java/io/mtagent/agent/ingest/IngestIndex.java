package io.mtagent.agent.ingest;

import io.mtagent.agent.log.AppliedPoint;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalInt;
import java.util.TreeMap;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.ToLongFunction;

/**
 * The ingest log's shared bookkeeping and its queries: the index of records not yet applied (seq → segment,
 * position, CRC, source time), the segments, and the sequence points (accepted, durable, applied). Rebuilt at open
 * (from the records, or from the clean-shutdown marker), never persisted by itself (Kafka's {@code OffsetIndex}:
 * derived data is rebuilt, not checksummed).
 *
 * <p>Thread-safety: every field is guarded by {@link #lock}, which the writer, the applier, offers and queries
 * take only for bookkeeping (never across I/O). {@link #synced} is signalled when records become durable,
 * {@link #writerIdle} when a writer task ends.
 */
final class IngestIndex {
    final ReentrantLock lock = new ReentrantLock();
    final Condition synced = lock.newCondition();
    final Condition writerIdle = lock.newCondition();

    /** Index entry of a record with seq &gt; applied. Position fields are set by the writer thread under the lock. */
    static final class Entry {
        final long seq;
        final int crc;
        final boolean tag;
        final int length;
        final long timestampMicros;
        /** The record itself for tags (recovery points before they are applied); null for writes. */
        final IngestRecord tagRecord;
        long segment = -1;
        long position = -1;

        Entry(IngestRecord r, int length) {
            this.seq = r.seq();
            this.crc = r.crc32c();
            this.tag = r.type() == IngestRecord.Type.TAG;
            this.length = length;
            this.timestampMicros = r.timestampMicros();
            this.tagRecord = tag ? r : null;
        }

        /** From a clean-shutdown marker: {@code tagRecord} is the tag re-read from its segment, null for writes. */
        Entry(long seq, int crc, IngestRecord tagRecord, int length, long timestampMicros) {
            this.seq = seq;
            this.crc = crc;
            this.tag = tagRecord != null;
            this.length = length;
            this.timestampMicros = timestampMicros;
            this.tagRecord = tagRecord;
        }
    }

    /** A segment file and the last seq it holds (its records are all applied once the applied point reaches it). */
    static final class Segment {
        final long index;
        final long incarnation;
        final Path file;
        long lastSeq;

        Segment(long index, long incarnation, Path file, long lastSeq) {
            this.index = index;
            this.incarnation = incarnation;
            this.file = file;
            this.lastSeq = lastSeq;
        }
    }

    /** Where a durable record lies, taken under the lock so the read itself runs without it. */
    record Location(long seq, long segment, long position, long incarnation, int length, boolean tag) {
    }

    // Guarded by lock.
    final ArrayList<Entry> entries = new ArrayList<>();
    int head;
    final TreeMap<Long, Segment> segments = new TreeMap<>();
    long lastAccepted;
    long durableSeq;
    /** Durable records whose listeners have run ({@link IngestLog#flush} waits for it). */
    long notifiedSeq;
    long appliedSeq;
    /** Source time of record {@code appliedSeq}, -1 when unknown ({@link AppliedPoint}). */
    long appliedTimestampMicros = -1;
    long backlogBytes;
    long appliedBytes;
    IOException failure;
    boolean closing;

    /** Under the lock: the entry of a record still held (seq &gt; applied, accepted), or null. */
    Entry entry(long seq) {
        if (head >= entries.size()) {
            return null;
        }
        long first = entries.get(head).seq;
        long i = seq - first;
        return i < 0 || i >= entries.size() - head ? null : entries.get(head + (int) i);
    }

    /** Adds a recovered entry (under construction at open: no lock needed yet). */
    void addRecovered(Entry e) {
        entries.add(e);
        backlogBytes += e.length;
    }

    /**
     * Durable records after {@code afterSeq}, in order, up to about {@code maxBytes} of log (at least one if any);
     * stops at the first record no longer held.
     */
    List<Location> durableAfter(long afterSeq, long maxBytes) {
        List<Location> where = new ArrayList<>();
        long bytes = 0;
        lock.lock();
        try {
            for (long seq = afterSeq + 1; seq <= durableSeq && (where.isEmpty() || bytes < maxBytes); seq++) {
                Entry e = entry(seq);
                if (e == null) {
                    break;
                }
                where.add(locate(e, segments.get(e.segment)));
                bytes += e.length;
            }
        } finally {
            lock.unlock();
        }
        return where;
    }

    /**
     * The durable range (afterSeq, throughSeq], or null when a record of it is no longer held (applied and its
     * segment gone).
     *
     * @throws IllegalArgumentException when {@code throughSeq} is not durable yet
     */
    List<Location> durableRange(long afterSeq, long throughSeq) {
        List<Location> where = new ArrayList<>();
        lock.lock();
        try {
            if (throughSeq > durableSeq) {
                throw new IllegalArgumentException("seq " + throughSeq + " is not durable yet (durable: " + durableSeq + ")");
            }
            for (long seq = afterSeq + 1; seq <= throughSeq; seq++) {
                Entry e = entry(seq);
                Segment seg = e == null ? null : segments.get(e.segment);
                if (seg == null) {
                    return null;
                }
                where.add(locate(e, seg));
            }
        } finally {
            lock.unlock();
        }
        return where;
    }

    /** Every durable record not yet applied whose segment is still listed. */
    List<Location> durableUnapplied() {
        List<Location> where = new ArrayList<>();
        lock.lock();
        try {
            for (int i = head; i < entries.size(); i++) {
                Entry e = entries.get(i);
                if (e.seq > durableSeq) {
                    break;
                }
                Segment seg = segments.get(e.segment);
                if (seg != null) {
                    where.add(locate(e, seg));
                }
            }
        } finally {
            lock.unlock();
        }
        return where;
    }

    private static Location locate(Entry e, Segment seg) {
        return new Location(e.seq, e.segment, e.position, seg.incarnation, e.length, e.tag);
    }

    /** Durable tags not yet applied (seq &gt; max(afterSeq, applied)), oldest first. */
    List<IngestRecord> durableTagsAfter(long afterSeq) {
        lock.lock();
        try {
            List<IngestRecord> out = new ArrayList<>();
            for (int i = head; i < entries.size(); i++) {
                Entry e = entries.get(i);
                if (e.seq > durableSeq) {
                    break;
                }
                if (e.tag && e.seq > afterSeq) {
                    out.add(e.tagRecord);
                }
            }
            return out;
        } finally {
            lock.unlock();
        }
    }

    /** The largest durable, not yet applied seq whose source time is ≤ {@code timestampMicros}; 0 if none. */
    long durableSeqAtOrBefore(long timestampMicros) {
        lock.lock();
        try {
            long best = 0;
            for (int i = head; i < entries.size(); i++) {
                Entry e = entries.get(i);
                if (e.seq > durableSeq || e.timestampMicros > timestampMicros) {
                    break; // timestamps are non-decreasing (the agent clamps them)
                }
                best = e.seq;
            }
            return best;
        } finally {
            lock.unlock();
        }
    }

    AppliedPoint appliedPoint() {
        lock.lock();
        try {
            return new AppliedPoint(appliedSeq, appliedTimestampMicros);
        } finally {
            lock.unlock();
        }
    }

    /** Source time of the newest durable record: of the newest held one, else of the applied point; -1 unknown. */
    long newestDurableTimestampMicros() {
        lock.lock();
        try {
            Entry e = entry(durableSeq);
            return e != null ? e.timestampMicros : durableSeq == appliedSeq ? appliedTimestampMicros : -1;
        } finally {
            lock.unlock();
        }
    }

    /** Source time of a held (not yet applied) record, or -1. */
    long timestampOf(long seq) {
        lock.lock();
        try {
            Entry e = entry(seq);
            return e == null ? -1 : e.timestampMicros;
        } finally {
            lock.unlock();
        }
    }

    /** CRC of a record still held (seq &gt; applied), for re-send comparison. */
    OptionalInt crcOf(long seq) {
        lock.lock();
        try {
            Entry e = entry(seq);
            return e == null ? OptionalInt.empty() : OptionalInt.of(e.crc);
        } finally {
            lock.unlock();
        }
    }

    /**
     * Everything ≤ {@code seq} is applied: drops those entries and returns the segments that hold nothing newer
     * (never the current one), taken off the list.
     */
    List<Segment> applied(long seq) {
        List<Segment> deletable = new ArrayList<>();
        lock.lock();
        try {
            appliedSeq = Math.max(appliedSeq, seq);
            while (head < entries.size() && entries.get(head).seq <= seq) {
                appliedTimestampMicros = entries.get(head).timestampMicros;
                backlogBytes -= entries.get(head).length;
                appliedBytes += entries.get(head).length;
                head++;
            }
            if (head > 4096 && head > entries.size() / 2) {
                entries.subList(0, head).clear();
                head = 0;
            }
            long currentIndex = segments.lastKey();
            for (Segment s : segments.values()) {
                if (s.index != currentIndex && s.lastSeq <= seq) {
                    deletable.add(s);
                }
            }
            deletable.forEach(s -> segments.remove(s.index));
        } finally {
            lock.unlock();
        }
        return deletable;
    }

    /** Puts segments back whose deletion had to wait (the applied point could not be persisted). */
    void restore(List<Segment> kept) {
        lock.lock();
        try {
            kept.forEach(s -> segments.put(s.index, s));
        } finally {
            lock.unlock();
        }
    }

    void putSegment(Segment s) {
        lock.lock();
        try {
            segments.put(s.index, s);
        } finally {
            lock.unlock();
        }
    }

    long get(ToLongFunction<IngestIndex> field) {
        lock.lock();
        try {
            return field.applyAsLong(this);
        } finally {
            lock.unlock();
        }
    }

    IOException failure() {
        lock.lock();
        try {
            return failure;
        } finally {
            lock.unlock();
        }
    }

    boolean closing() {
        lock.lock();
        try {
            return closing;
        } finally {
            lock.unlock();
        }
    }
}
