package io.mtagent.agent.journal;

import io.mtagent.nativeio.AlignedBufferPool;
import io.mtagent.nativeio.BlockDevice;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Streams a range of the disk as it was at a point the target has applied, as pieces handed to a writer that puts
 * each at its place (an export: positioned writes into the image, whose order does not matter before its final
 * sync). Section by section ({@link #SECTION_BYTES} of the disk): the section's overlay is resolved
 * ({@link ViewExtents}), its before-images are read with the journal in file order ({@link ImageRuns#stream}) while
 * the target is read where no image lies, in large aligned requests ({@link #TARGET_READ_BYTES},
 * {@link #TARGET_READS_IN_FLIGHT} at once, started in offset order). A window-by-window read instead reads the
 * journal once per window, back and forth over the same segments.
 *
 * <p>Pieces: every byte of the range is handed over once, except after a race with the applier: if the journal
 * grew while the target was read (a write may have landed in bytes read as target bytes), the overlay is resolved
 * again after those reads and its new extents (each covering bytes handed over before as target bytes, with the
 * before-image of the write that may have changed them) are handed over after all the target pieces, flagged
 * {@code overwrites}: the writer applies pieces in the order it gets them for the same bytes, so the result is the
 * view (the same argument as {@link PointInTimeView}'s re-resolution). Pieces of one pass are disjoint and come from
 * several threads at once.
 *
 * <p>Thread-safe: stateless; the caller holds a lease at or below the point (a view).
 */
final class ViewStreamer {
    /** Disk bytes whose overlay is resolved (and whose before-images are read in journal order) at once. */
    static final int SECTION_BYTES = 256 << 20;
    /** Largest target read. */
    static final int TARGET_READ_BYTES = 4 << 20;
    /** Target reads under way at once (beside the journal's). */
    static final int TARGET_READS_IN_FLIGHT = 2;
    /** Target reads start and end on this boundary (an O_DIRECT target reads aligned ranges with no bounce). */
    static final int GAP_ALIGNMENT = AlignedBufferPool.DEFAULT_ALIGNMENT;
    /** Gaps closer than this are read with one request (the covered bytes between are read and not handed over). */
    static final int MERGE_BYTES = 256 << 10;

    private static final AlignedBufferPool BUFFERS = new AlignedBufferPool(GAP_ALIGNMENT, TARGET_READS_IN_FLIGHT);
    /** Threads for all streams: they wait on reads; a stream uses at most TARGET_READS_IN_FLIGHT at once. */
    private static final ExecutorService READERS = new ThreadPoolExecutor(0, Integer.MAX_VALUE, 10, TimeUnit.SECONDS,
            new SynchronousQueue<>(), r -> {
                Thread t = new Thread(r, "view-streamer-" + Counter.N.incrementAndGet());
                t.setDaemon(true);
                return t;
            });

    private static final class Counter {
        static final AtomicInteger N = new AtomicInteger();
    }

    private ViewStreamer() {
    }

    /** Hands [{@code from}, {@code to}) of the disk at {@code point} (≤ the applied point) to {@code pieces}. */
    static void stream(BlockDevice target, RetentionJournal journal, long point, long from, long to,
                       PointInTimeView.Pieces pieces) throws IOException {
        for (long at = from; at < to; at = Math.min(to, at + SECTION_BYTES)) {
            section(target, journal, point, at, Math.min(to, at + SECTION_BYTES), pieces);
        }
    }

    private static void section(BlockDevice target, RetentionJournal journal, long point, long from, long to,
                                PointInTimeView.Pieces pieces) throws IOException {
        long lastSeq = journal.lastSeq();
        ViewExtents first = ViewExtents.resolve(journal, point, from, to);
        CompletableFuture<Void> images = CompletableFuture.runAsync(() -> {
            try {
                ImageRuns.stream(journal, first.extents(), (offset, bytes) -> pieces.accept(offset, bytes, false));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }, READERS);
        IOException failure = null;
        try {
            readGaps(target, first, pieces);
        } catch (IOException e) {
            failure = e;
        }
        try {
            await(List.of(images)); // both passes have ended before anything is reported
        } catch (IOException e) {
            failure = failure == null ? e : failure;
        }
        if (failure != null) {
            throw failure;
        }
        if (journal.lastSeq() != lastSeq) { // a write may have landed in the target bytes read: cover it
            ViewExtents again = ViewExtents.resolve(journal, point, from, to);
            ImageRuns.stream(journal, again.beyond(first), (offset, bytes) -> pieces.accept(offset, bytes, true));
        }
    }

    /**
     * Reads the target's bytes of the overlay's gaps, in aligned requests of at most {@link #TARGET_READ_BYTES}
     * started in offset order, and hands over exactly the gaps' bytes.
     */
    private static void readGaps(BlockDevice target, ViewExtents extents, PointInTimeView.Pieces pieces)
            throws IOException {
        List<long[]> exact = extents.gaps(1, 0);
        if (exact.isEmpty()) {
            return;
        }
        List<long[]> reads = new ArrayList<>();
        for (long[] span : extents.gaps(GAP_ALIGNMENT, MERGE_BYTES)) {
            for (long at = span[0]; at < span[1]; at = Math.min(span[1], at + TARGET_READ_BYTES)) {
                reads.add(new long[] {at, Math.min(span[1], at + TARGET_READ_BYTES)});
            }
        }
        AtomicInteger next = new AtomicInteger();
        Runnable reader = () -> {
            ByteBuffer buf = BUFFERS.acquire(TARGET_READ_BYTES);
            try {
                for (int i = next.getAndIncrement(); i < reads.size(); i = next.getAndIncrement()) {
                    long[] read = reads.get(i);
                    ByteBuffer b = buf.clear().limit((int) (read[1] - read[0])).slice();
                    target.read(read[0], b.duplicate());
                    handOver(exact, read[0], b, pieces);
                }
            } catch (IOException e) {
                next.set(reads.size());
                throw new UncheckedIOException(e);
            } catch (RuntimeException e) {
                next.set(reads.size());
                throw e;
            } finally {
                BUFFERS.release(buf);
            }
        };
        List<CompletableFuture<Void>> running = new ArrayList<>();
        for (int i = 1; i < Math.min(TARGET_READS_IN_FLIGHT, reads.size()); i++) {
            running.add(CompletableFuture.runAsync(reader, READERS));
        }
        running.add(CompletableFuture.runAsync(reader, Runnable::run));
        await(running);
    }

    /** Hands over the parts of {@code exact} (sorted, disjoint) inside [{@code at}, +{@code bytes.limit()}). */
    private static void handOver(List<long[]> exact, long at, ByteBuffer bytes, PointInTimeView.Pieces pieces)
            throws IOException {
        long end = at + bytes.limit();
        int lo = 0;
        int hi = exact.size();
        while (lo < hi) { // the first gap ending after `at`
            int mid = (lo + hi) >>> 1;
            if (exact.get(mid)[1] <= at) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        for (int i = lo; i < exact.size() && exact.get(i)[0] < end; i++) {
            long a = Math.max(at, exact.get(i)[0]);
            long b = Math.min(end, exact.get(i)[1]);
            pieces.accept(a, bytes.duplicate().limit((int) (b - at)).position((int) (a - at)), false);
        }
    }

    private static void await(List<CompletableFuture<Void>> running) throws IOException {
        IOException failure = null;
        RuntimeException unchecked = null;
        for (CompletableFuture<Void> f : running) {
            try {
                f.get();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                failure = failure == null ? new InterruptedIOException("interrupted while streaming a view") : failure;
            } catch (ExecutionException e) {
                Throwable c = e.getCause();
                if (c instanceof UncheckedIOException u) {
                    failure = failure == null ? u.getCause() : failure;
                } else if (c instanceof RuntimeException r) {
                    unchecked = unchecked == null ? r : unchecked;
                } else {
                    failure = failure == null ? new IOException("streaming a view failed", c) : failure;
                }
            }
        }
        if (failure != null) {
            throw failure;
        }
        if (unchecked != null) {
            throw unchecked;
        }
    }
}
