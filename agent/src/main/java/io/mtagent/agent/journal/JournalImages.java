package io.mtagent.agent.journal;

import io.mtagent.agent.log.LogFileNames;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Finds a retention journal's before-images and points by sequence number, time and target range, one segment's
 * index at a time (the current segment's in memory, sealed ones from the shared {@link IndexCache}, their
 * {@code .idx} file, or a rebuild by {@link JournalVerifier#scanSealed}), and hands out the segments' shared read
 * handles. The bytes themselves are read and verified by {@link ImageRuns}.
 *
 * <p>Thread-safety: any thread; bookkeeping under the {@link JournalState} monitor, index loads and reads outside
 * it. Callers that walk images hold a lease (or the applier is paused) so the segments stay.
 */
final class JournalImages {
    private final Path dir;
    private final JournalState state;
    private final IndexCache cache;
    private final JournalVerifier verifier;
    /** Read channels per segment, shared by readers (positional reads are thread-safe); closed on prune/close. */
    private final ConcurrentHashMap<Long, FileChannel> readers = new ConcurrentHashMap<>();

    JournalImages(Path dir, JournalState state, IndexCache cache, JournalVerifier verifier) {
        this.dir = dir;
        this.state = state;
        this.cache = cache;
        this.verifier = verifier;
    }

    /** A sealed segment's index, from the cache, its file, or a scan. */
    private SegmentIndex indexOf(SegmentIndex.Summary s) throws IOException {
        try {
            return cache.get(dir, s.segment(), () -> {
                SegmentIndex idx = SegmentIndex.read(dir, s.segment(), s.incarnation(), s.fileLength());
                return idx != null ? idx : verifier.scanSealed(s);
            });
        } catch (NoSuchFileException e) {
            throw prunedOr(s.segment(), e);
        }
    }

    /**
     * {@code e} (a segment's file was missing) as a {@link SegmentPrunedException} when the segment was pruned
     * meanwhile, which a reader without a lease can meet; otherwise {@code e} itself (a file lost otherwise).
     */
    private IOException prunedOr(long segment, NoSuchFileException e) {
        synchronized (state) {
            boolean held = state.current != null && state.current.segment == segment;
            for (SegmentIndex.Summary s : state.sealed.values()) {
                held |= s.segment() == segment;
            }
            return held ? e : new SegmentPrunedException(segment, state.prunedThrough);
        }
    }

    /** A resolution (which takes no lease) met a segment pruned meanwhile: a refusal, not an error. */
    private static IllegalStateException noLongerHeld(SegmentPrunedException e) {
        return new IllegalStateException(e.getMessage(), e);
    }

    /** The largest journaled seq whose timestamp is ≤ {@code timestampMicros}, or 0 when none is. */
    long seqAtOrBefore(long timestampMicros) {
        SegmentIndex.Summary hit = null;
        synchronized (state) {
            SegmentIndex current = state.current;
            if (current != null && current.count() > 0 && current.firstTimestamp() <= timestampMicros) {
                return current.seqAtOrBefore(timestampMicros);
            }
            // Timestamps are non-decreasing: the answer is in the last segment starting at or before the time.
            for (SegmentIndex.Summary s : state.sealed.descendingMap().values()) {
                if (s.firstTs() <= timestampMicros) {
                    hit = s;
                    break;
                }
            }
            if (hit == null) {
                return 0;
            }
            if (hit.lastTs() <= timestampMicros) {
                return hit.lastSeq();
            }
        }
        try {
            return indexOf(hit).seqAtOrBefore(timestampMicros);
        } catch (SegmentPrunedException e) {
            throw noLongerHeld(e);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Timestamp of journaled seq, or -1. */
    long timestampOf(long seq) {
        SegmentIndex.Summary hit;
        synchronized (state) {
            SegmentIndex current = state.current;
            if (current != null && current.count() > 0 && seq >= current.firstSeq()) {
                return current.timestampOf(seq);
            }
            var e = state.sealed.floorEntry(seq);
            if (e == null || seq > e.getValue().lastSeq()) {
                return -1;
            }
            hit = e.getValue();
            if (seq == hit.lastSeq()) {
                return hit.lastTs();
            }
            if (seq == hit.firstSeq()) {
                return hit.firstTs();
            }
        }
        try {
            return indexOf(hit).timestampOf(seq);
        } catch (SegmentPrunedException e) {
            throw noLongerHeld(e);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** How many before-images have seq &gt; {@code point}, and their bytes. */
    long[] imagesAfter(long point) throws IOException {
        List<SegmentIndex.Summary> segs;
        long[] sum;
        synchronized (state) {
            segs = state.sealedAfterLocked(point);
            sum = state.current == null ? new long[2] : state.current.imagesAfter(point);
        }
        for (SegmentIndex.Summary s : segs) {
            long[] part = s.firstSeq() > point ? new long[] {s.imageCount(), s.imageBytes()} : indexOf(s).imagesAfter(point);
            sum[0] += part[0];
            sum[1] += part[1];
        }
        return sum;
    }

    /** See {@link RetentionJournal#forEachImageAfter}. */
    void forEachImageAfter(long point, boolean newestFirst, RetentionJournal.ImageVisitor visitor) throws IOException {
        List<SegmentIndex.Summary> segs;
        List<RetentionJournal.ImageRef> tail = new ArrayList<>();
        synchronized (state) {
            segs = state.sealedAfterLocked(point);
            SegmentIndex current = state.current;
            if (current != null) {
                for (int i = (int) Math.max(0, point + 1 - current.firstSeq()); i < current.count(); i++) {
                    if (current.isImage(i)) {
                        tail.add(current.ref(i));
                    }
                }
            }
        }
        if (newestFirst) {
            Collections.reverse(tail);
            Collections.reverse(segs);
            for (RetentionJournal.ImageRef r : tail) {
                visitor.visit(r);
            }
        }
        for (SegmentIndex.Summary s : segs) {
            SegmentIndex idx = indexOf(s);
            int from = (int) Math.max(0, point + 1 - idx.firstSeq());
            if (newestFirst) {
                for (int i = idx.count() - 1; i >= from; i--) {
                    if (idx.isImage(i)) {
                        visitor.visit(idx.ref(i));
                    }
                }
            } else {
                for (int i = from; i < idx.count(); i++) {
                    if (idx.isImage(i)) {
                        visitor.visit(idx.ref(i));
                    }
                }
            }
        }
        if (!newestFirst) {
            for (RetentionJournal.ImageRef r : tail) {
                visitor.visit(r);
            }
        }
    }

    /** See {@link RetentionJournal#overlapping}. */
    void overlapping(long point, long from, long to, RetentionJournal.SegmentImages visitor) throws IOException {
        List<SegmentIndex.Summary> segs;
        List<RetentionJournal.ImageRef> tail = new ArrayList<>();
        synchronized (state) {
            segs = state.sealedAfterLocked(point);
            if (state.current != null) {
                state.current.overlapping(point, from, to, tail);
            }
        }
        List<RetentionJournal.ImageRef> candidates = new ArrayList<>();
        for (SegmentIndex.Summary s : segs) {
            candidates.clear();
            indexOf(s).overlapping(point, from, to, candidates);
            if (!candidates.isEmpty() && !visitor.accept(candidates)) {
                return;
            }
        }
        if (!tail.isEmpty()) {
            visitor.accept(tail);
        }
    }

    Path segmentFile(long segment) {
        return dir.resolve(LogFileNames.segment(JournalFormat.KIND, segment));
    }

    /** The shared read channel of a segment (opened on first use; closed when it is pruned or at close). */
    FileChannel segmentChannel(long segment) throws IOException {
        FileChannel ch = readers.get(segment);
        if (ch == null) {
            FileChannel opened;
            try {
                opened = FileChannel.open(segmentFile(segment), StandardOpenOption.READ);
            } catch (NoSuchFileException e) {
                throw prunedOr(segment, e);
            }
            ch = readers.putIfAbsent(segment, opened);
            if (ch == null) {
                ch = opened;
            } else {
                opened.close();
            }
        }
        return ch;
    }

    /** Closes the read channel of a pruned segment. */
    void forget(long segment) throws IOException {
        FileChannel reader = readers.remove(segment);
        if (reader != null) {
            reader.close();
        }
    }

    void close() throws IOException {
        for (FileChannel ch : readers.values()) {
            ch.close();
        }
        readers.clear();
    }
}
