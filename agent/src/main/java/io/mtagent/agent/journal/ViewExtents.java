package io.mtagent.agent.journal;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The journal's overlay of one target range at a recovery point, resolved per extent: for every byte of
 * [{@code from}, {@code to}) that some write after the point overwrote, the <em>earliest</em> before-image with
 * seq &gt; point that covers it (that image holds the byte as it was at the point). Bytes no later write touched
 * are not covered: the target still holds them as they were.
 *
 * <p>Resolution walks the journal's segments oldest first and each segment's images in seq order, through the
 * segments' offset-sorted indexes; each image adds only the parts of it that no earlier image covered, so the
 * result is a list of disjoint extents sorted by offset, each naming the image it comes from. It stops as soon
 * as the whole range is covered (the older segments usually cover it first).
 *
 * <p>Used by the point-in-time view (target bytes of the gaps, then the extents on top), by the rollback (it writes exactly
 * the extents, so each sector once) and by the block status of the NBD server. Immutable once built.
 */
public final class ViewExtents {
    /** Bytes [{@code offset}, +{@code length}) come from {@code image} at {@code offset - image.offset()}. */
    public record Extent(long offset, int length, RetentionJournal.ImageRef image) {
        long end() {
            return offset + length;
        }
    }

    private final long from;
    private final long to;
    private final List<Extent> extents;
    private final long coveredBytes;

    private ViewExtents(long from, long to, List<Extent> extents, long coveredBytes) {
        this.from = from;
        this.to = to;
        this.extents = extents;
        this.coveredBytes = coveredBytes;
    }

    /** Extents already resolved (disjoint, sorted by offset) of [{@code from}, {@code to}). */
    static ViewExtents of(long from, long to, List<Extent> extents) {
        long covered = 0;
        for (Extent e : extents) {
            covered += e.length();
        }
        return new ViewExtents(from, to, List.copyOf(extents), covered);
    }

    /**
     * Resolves the overlay of [{@code from}, {@code to}) at {@code point}. The caller holds a lease at or below
     * {@code point} (a view), so no segment it needs is pruned meanwhile. Records appended after the call starts
     * are not considered; that is what a view wants (they come after the target bytes it read first).
     */
    public static ViewExtents resolve(RetentionJournal journal, long point, long from, long to) throws IOException {
        Coverage coverage = new Coverage(from, to);
        journal.overlapping(point, from, to, images -> {
            for (RetentionJournal.ImageRef r : images) {
                coverage.add(r);
                if (coverage.full()) {
                    return false;
                }
            }
            return true;
        });
        List<Extent> list = new ArrayList<>(coverage.extents.values());
        return new ViewExtents(from, to, list, coverage.covered);
    }

    public long from() {
        return from;
    }

    public long to() {
        return to;
    }

    /** Disjoint, sorted by offset. */
    public List<Extent> extents() {
        return extents;
    }

    /** Bytes of the range some before-image covers. */
    public long coveredBytes() {
        return coveredBytes;
    }

    /** True when no byte of the range is covered: the target holds the whole range as it was at the point. */
    public boolean isEmpty() {
        return extents.isEmpty();
    }

    /**
     * The parts of the range no extent covers, as [from, to) pairs in offset order: where the target still holds
     * the bytes of the point. Each gap is widened to multiples of {@code alignment} (within the range), and gaps
     * less than {@code mergeBytes} apart are joined, so one request reads them with the covered bytes between
     * (whoever reads them lays the extents over those).
     */
    public List<long[]> gaps(int alignment, int mergeBytes) {
        List<long[]> gaps = new ArrayList<>();
        long pos = from;
        for (Extent e : extents) {
            if (e.offset() > pos) {
                addGap(gaps, pos, e.offset(), alignment, mergeBytes);
            }
            pos = Math.max(pos, e.end());
        }
        if (pos < to) {
            addGap(gaps, pos, to, alignment, mergeBytes);
        }
        return gaps;
    }

    /**
     * The parts of the range the extents cover, as [from, to) pairs in offset order, each at most
     * {@code maxBytes} long (when {@code maxBytes} is a multiple of {@code alignment}): widened to multiples of
     * {@code alignment} (within the range), and joined when less than {@code mergeBytes} apart. What a reader of
     * the target's current bytes under the extents reads, in few large requests.
     */
    public List<long[]> coveredSpans(int alignment, int mergeBytes, int maxBytes) {
        List<long[]> spans = new ArrayList<>();
        for (Extent e : extents) {
            addSpan(spans, e.offset(), e.end(), alignment, mergeBytes, maxBytes);
        }
        return spans;
    }

    private void addGap(List<long[]> gaps, long lo, long hi, int alignment, int mergeBytes) {
        addSpan(gaps, lo, hi, alignment, mergeBytes, Integer.MAX_VALUE);
    }

    /** Adds [lo, hi) widened to the alignment, joined to the last span when close enough and short enough. */
    private void addSpan(List<long[]> spans, long lo, long hi, int alignment, int mergeBytes, int maxBytes) {
        long start = Math.max(from, lo - Math.floorMod(lo, alignment));
        long end = Math.min(to, hi + Math.floorMod(-hi, alignment));
        long[] last = spans.isEmpty() ? null : spans.get(spans.size() - 1);
        if (last != null && start - last[1] < mergeBytes) {
            start = Math.max(start, last[1]);
            long room = maxBytes - (last[1] - last[0]);
            long joined = Math.min(end, last[1] + Math.max(0, room));
            if (joined > last[1] || end <= last[1]) {
                last[1] = Math.max(last[1], joined);
                start = Math.max(start, last[1]);
            }
        }
        while (start < end) {
            long stop = Math.min(end, start + maxBytes);
            spans.add(new long[] {start, stop});
            start = stop;
        }
    }

    /**
     * Groups the extents into runs of adjacent extents (no gap between them) of at most {@code maxBytes} each: what
     * a rollback writes with one request. An extent longer than {@code maxBytes} is cut.
     */
    public List<List<Extent>> adjacentRuns(int maxBytes) {
        List<List<Extent>> runs = new ArrayList<>();
        List<Extent> run = null;
        long runStart = 0;
        long runEnd = 0;
        for (Extent e : extents) {
            long off = e.offset();
            while (off < e.end()) {
                if (run == null || off != runEnd || runEnd - runStart >= maxBytes) {
                    run = new ArrayList<>();
                    runs.add(run);
                    runStart = off;
                    runEnd = off;
                }
                int n = (int) Math.min(e.end() - off, maxBytes - (runEnd - runStart));
                run.add(new Extent(off, n, e.image()));
                off += n;
                runEnd = off;
            }
        }
        return runs;
    }

    /**
     * The parts of this overlay's extents that {@code earlier} (an overlay of the same range at the same point,
     * resolved before this one) does not cover, in offset order. Since a later resolution only adds coverage (an
     * image appended later is never the earliest for a byte already covered), these are exactly its new bytes.
     */
    public List<Extent> beyond(ViewExtents earlier) {
        List<Extent> out = new ArrayList<>();
        List<Extent> old = earlier.extents;
        int j = 0;
        for (Extent e : extents) {
            long pos = e.offset();
            while (j < old.size() && old.get(j).end() <= pos) {
                j++;
            }
            for (int k = j; pos < e.end(); k++) {
                Extent o = k < old.size() ? old.get(k) : null;
                long stop = o == null ? e.end() : Math.min(e.end(), o.offset());
                if (stop > pos) {
                    out.add(new Extent(pos, (int) (stop - pos), e.image()));
                }
                if (o == null || o.offset() >= e.end()) {
                    break;
                }
                pos = Math.max(pos, o.end());
            }
        }
        return out;
    }

    /** Covered intervals of the range and the extents that cover them. Not thread-safe (one resolution). */
    private static final class Coverage {
        final long from;
        final long to;
        /** Extents by offset (disjoint). */
        final TreeMap<Long, Extent> extents = new TreeMap<>();
        long covered;

        Coverage(long from, long to) {
            this.from = from;
            this.to = to;
        }

        boolean full() {
            return covered == to - from;
        }

        /** Adds the parts of {@code r} (clipped to the range) that no earlier image covers. */
        void add(RetentionJournal.ImageRef r) {
            long lo = Math.max(from, r.offset());
            long hi = Math.min(to, r.offset() + r.length());
            if (lo >= hi) {
                return;
            }
            long pos = lo;
            Map.Entry<Long, Extent> before = extents.floorEntry(lo);
            if (before != null && before.getValue().end() > pos) {
                pos = before.getValue().end();
            }
            while (pos < hi) {
                Map.Entry<Long, Extent> next = extents.ceilingEntry(pos);
                long gapEnd = next == null ? hi : Math.min(hi, next.getKey());
                if (gapEnd > pos) {
                    extents.put(pos, new Extent(pos, (int) (gapEnd - pos), r));
                    covered += gapEnd - pos;
                }
                if (next == null || next.getKey() >= hi) {
                    break;
                }
                pos = next.getValue().end();
            }
        }
    }
}
