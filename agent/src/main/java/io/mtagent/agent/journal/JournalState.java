package io.mtagent.agent.journal;

import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;

/**
 * What a retention journal knows about its records, shared by its writer, pruner, verifier and readers: the sealed
 * segments' summaries, the current segment's index, the recovery points, the open views' leases, what was pruned,
 * and the last journaled and last synced sequence numbers.
 *
 * <p>Thread-safety: every field is guarded by this object's monitor; callers hold it only for bookkeeping, never
 * across file I/O. Sealed indexes ({@link SegmentIndex}) are immutable once sealed.
 */
final class JournalState {
    /** Sealed segments' summaries by first seq. */
    final TreeMap<Long, SegmentIndex.Summary> sealed = new TreeMap<>();
    /** The segment being appended to (null only for a moment while the journal rolls). */
    SegmentIndex current;
    final ArrayList<RecoveryPoint> points = new ArrayList<>();
    /** Open views/exports: their points; pruning keeps every segment holding a record above the lowest. */
    final TreeMap<Long, Integer> leases = new TreeMap<>();
    /** Everything ≤ this seq was pruned: the earliest point still recoverable. */
    long prunedThrough;
    long prunedThroughTimestamp = -1;
    long lastSeq;
    long syncedSeq;

    /** Whether {@code seq} is the next one the journal expects (after its last record, or after what was pruned). */
    synchronized boolean follows(long seq) {
        if (lastSeq != 0) {
            return seq == lastSeq + 1;
        }
        return prunedThrough == 0 || seq == prunedThrough + 1;
    }

    /** A sealed segment joins the journal (open, or a roll): its points go to the journal's list. */
    synchronized void acceptSealed(SegmentIndex.Summary sum) {
        sealed.put(sum.firstSeq(), sum.withoutPoints());
        points.addAll(sum.points());
        lastSeq = sum.lastSeq();
    }

    /** Segment index, incarnation and last seq of every segment holding records, oldest first. */
    synchronized List<long[]> segmentsSnapshot() {
        List<long[]> out = new ArrayList<>();
        for (SegmentIndex.Summary s : sealed.values()) {
            out.add(new long[] {s.segment(), s.incarnation(), s.lastSeq()});
        }
        if (current != null && current.count() > 0) {
            out.add(new long[] {current.segment, current.incarnation, current.lastSeq()});
        }
        return out;
    }

    /** Sealed segments holding a record with seq &gt; {@code point}, oldest first (under the monitor). */
    List<SegmentIndex.Summary> sealedAfterLocked(long point) {
        Long from = sealed.floorKey(point + 1);
        return new ArrayList<>((from == null ? sealed : sealed.tailMap(from, true)).values());
    }

    synchronized long prunedThrough() {
        return prunedThrough;
    }

    synchronized long lastSeq() {
        return lastSeq;
    }

    synchronized List<RecoveryPoint> points() {
        return List.copyOf(points);
    }

    /** The earliest point's source time (-1 when unknown). */
    synchronized long earliestTimestampMicros() {
        if (prunedThrough != 0) {
            return prunedThroughTimestamp;
        }
        if (!sealed.isEmpty()) {
            return sealed.firstEntry().getValue().firstTs();
        }
        return current != null && current.count() > 0 ? current.firstTimestamp() : -1;
    }

    /** The oldest prunable segment's index, last seq and last timestamp, or null when only the current one is left. */
    synchronized long[] oldestPrunable() {
        if (sealed.isEmpty()) {
            return null;
        }
        SegmentIndex.Summary s = sealed.firstEntry().getValue();
        return new long[] {s.segment(), s.lastSeq(), s.lastTs()};
    }

    /** Takes a view's hold at {@code point}; see {@link RetentionJournal#lease}. */
    AutoCloseable lease(long point) {
        synchronized (this) {
            if (point < prunedThrough) {
                throw new IllegalStateException("point seq " + point + " is no longer held: retention starts after seq "
                        + prunedThrough);
            }
            leases.merge(point, 1, Integer::sum);
        }
        return () -> {
            synchronized (JournalState.this) {
                leases.computeIfPresent(point, (k, v) -> v == 1 ? null : v - 1);
            }
        };
    }
}
