package io.mtagent.agent.journal;

import io.mtagent.agent.log.CorruptLogException;
import io.mtagent.agent.log.RecordDamageException;
import io.mtagent.agent.log.SegmentReader;
import io.mtagent.agent.log.VerifiedRecord;
import io.mtagent.nativeio.AlignedBufferPool;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.zip.CRC32C;

/**
 * Reads the before-images behind a set of {@link ViewExtents.Extent}s from the journal in large sequential runs:
 * the records needed are sorted by segment and position and merged into one read where the records lie close
 * together ({@link #MAX_GAP} bytes of unneeded records between them are read and skipped, up to
 * {@link #MAX_RUN} bytes per read), and up to {@link #RUNS_IN_FLIGHT} runs are read at once. Every record read is
 * verified (length, chained CRC, seq, offset) before any of its bytes is used; one that does not verify is
 * reported as damage ({@link CorruptLogException}) and nothing of the call's result may be used.
 *
 * <p>Thread-safe: stateless; the journal's segment channels take positional reads from any thread.
 */
final class ImageRuns {
    /** Unneeded bytes between two needed records that are still read in the same request. */
    static final int MAX_GAP = 256 << 10;
    /** Largest single journal read (a record larger than this is read on its own). */
    static final int MAX_RUN = 4 << 20;
    /** Journal reads under way at once for one call (a virtual disk serves queued reads faster). */
    static final int RUNS_IN_FLIGHT = 8;
    /**
     * {@link #stream}'s gap: over a whole section the reads are many and queued deep (the device reorders and merges
     * them), so skipping the unneeded records between needed ones costs less than reading them.
     */
    static final int STREAM_MAX_GAP = 16 << 10;
    /** {@link #stream}'s reads under way at once. */
    static final int STREAM_RUNS_IN_FLIGHT = 16;
    /** {@link #stream}'s largest read (bounds its buffers: STREAM_RUNS_IN_FLIGHT of them). */
    static final int STREAM_MAX_RUN = 1 << 20;

    private static final AlignedBufferPool BUFFERS = new AlignedBufferPool(AlignedBufferPool.DEFAULT_ALIGNMENT, 8);
    /** Threads for all journals: they only wait on reads; a call has at most RUNS_IN_FLIGHT - 1 of them. */
    private static final ExecutorService READERS = new ThreadPoolExecutor(0, Integer.MAX_VALUE, 10, TimeUnit.SECONDS,
            new SynchronousQueue<>(), r -> {
                Thread t = new Thread(r, "journal-run-reader-" + Counter.N.incrementAndGet());
                t.setDaemon(true);
                return t;
            });

    private static final class Counter {
        static final AtomicInteger N = new AtomicInteger();
    }

    /** Records read with one request: [start, end) of one segment, and the extents each record supplies. */
    private record Run(long segment, long start, long end, Map<RetentionJournal.ImageRef, List<ViewExtents.Extent>> records) {
    }

    private ImageRuns() {
    }

    /**
     * Copies every extent's bytes from its before-image into {@code dst}, at {@code extent.offset - base}
     * (absolute positions; {@code dst}'s position and limit are not changed).
     */
    static void copy(RetentionJournal journal, List<ViewExtents.Extent> extents, long base, ByteBuffer dst)
            throws IOException {
        if (extents.isEmpty()) {
            return;
        }
        List<Run> runs = plan(extents);
        if (runs.size() == 1) {
            read(journal, runs.get(0), base, dst);
            return;
        }
        // Runs write disjoint parts of dst (the extents are disjoint): RUNS_IN_FLIGHT of them at once, the calling
        // thread reading one of them itself.
        List<CompletableFuture<Void>> pending = new ArrayList<>();
        IOException failure = null;
        try {
            for (int i = 0; i < runs.size(); i++) {
                Run run = runs.get(i);
                if (pending.size() == RUNS_IN_FLIGHT - 1 || i == runs.size() - 1) {
                    read(journal, run, base, dst);
                    awaitAll(pending);
                    continue;
                }
                pending.add(CompletableFuture.runAsync(() -> {
                    try {
                        read(journal, run, base, dst);
                    } catch (IOException e) {
                        throw new CompletionException(e);
                    }
                }, READERS));
            }
        } catch (IOException e) {
            failure = e;
        } finally {
            try {
                awaitAll(pending); // no read may still write into dst once this returns
            } catch (IOException e) {
                if (failure == null) {
                    failure = e;
                }
            }
        }
        if (failure != null) {
            throw failure;
        }
    }

    /**
     * Receives an extent's bytes (absolute disk offset; the buffer's position..limit, valid only during the call).
     * Called on several threads at once: implementations are thread-safe.
     */
    interface Pieces {
        void accept(long offset, ByteBuffer bytes) throws IOException;
    }

    /**
     * Hands every extent's bytes to {@code pieces}, reading the journal in file order: one plan for all the extents
     * (their records sorted by segment and position, coalesced into runs, {@link #plan}), the runs started in that
     * order, {@link #STREAM_RUNS_IN_FLIGHT} at once (each reader takes the next run when it is done); records at most
     * {@link #STREAM_MAX_GAP} apart share a read of at most {@link #STREAM_MAX_RUN}. For a reader that
     * can put the bytes anywhere (an export to a file): over a whole disk the journal is read front to back once,
     * instead of once per window with seeks back and forth between windows. Every record is verified before any of
     * its bytes is handed over; on a failure the remaining runs are not started, and the first failure is thrown
     * once every reader has stopped (no call to {@code pieces} follows the return).
     */
    static void stream(RetentionJournal journal, List<ViewExtents.Extent> extents, Pieces pieces) throws IOException {
        if (extents.isEmpty()) {
            return;
        }
        List<Run> runs = plan(extents, STREAM_MAX_GAP, STREAM_MAX_RUN);
        AtomicInteger next = new AtomicInteger();
        Runnable reader = () -> {
            for (int i = next.getAndIncrement(); i < runs.size(); i = next.getAndIncrement()) {
                try {
                    read(journal, runs.get(i), pieces);
                } catch (IOException e) {
                    next.set(runs.size()); // the others stop after the run they are reading
                    throw new UncheckedIOException(e);
                } catch (RuntimeException e) {
                    next.set(runs.size());
                    throw e;
                }
            }
        };
        List<CompletableFuture<Void>> pending = new ArrayList<>();
        for (int i = 1; i < Math.min(STREAM_RUNS_IN_FLIGHT, runs.size()); i++) {
            pending.add(CompletableFuture.runAsync(reader, READERS));
        }
        pending.add(CompletableFuture.runAsync(reader, Runnable::run)); // the calling thread reads too
        awaitAll(pending);
    }

    /**
     * The journal reads {@link #stream} issues for {@code extents}, in the order it starts them: [segment, start,
     * end) of each run.
     */
    static List<long[]> readPlan(List<ViewExtents.Extent> extents) {
        List<long[]> reads = new ArrayList<>();
        if (!extents.isEmpty()) {
            for (Run r : plan(extents, STREAM_MAX_GAP, STREAM_MAX_RUN)) {
                reads.add(new long[] {r.segment(), r.start(), r.end()});
            }
        }
        return reads;
    }

    private static void awaitAll(List<CompletableFuture<Void>> pending) throws IOException {
        IOException failure = null;
        for (CompletableFuture<Void> f : pending) {
            try {
                f.get();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                failure = new InterruptedIOException("interrupted while reading before-images");
            } catch (ExecutionException e) {
                Throwable c = e.getCause();
                if (failure == null) {
                    failure = c instanceof IOException io ? io : c instanceof UncheckedIOException u ? u.getCause()
                            : new IOException("reading before-images failed", c);
                }
            }
        }
        pending.clear();
        if (failure != null) {
            throw failure;
        }
    }

    /** The runs that read the records behind {@code extents}, in segment and position order. */
    private static List<Run> plan(List<ViewExtents.Extent> extents) {
        return plan(extents, MAX_GAP, MAX_RUN);
    }

    /** The same, joining records at most {@code maxGap} bytes apart into reads of at most {@code maxRun}. */
    private static List<Run> plan(List<ViewExtents.Extent> extents, int maxGap, int maxRun) {
        Map<RetentionJournal.ImageRef, List<ViewExtents.Extent>> byImage = new LinkedHashMap<>();
        for (ViewExtents.Extent e : extents) {
            byImage.computeIfAbsent(e.image(), k -> new ArrayList<>()).add(e);
        }
        List<RetentionJournal.ImageRef> images = new ArrayList<>(byImage.keySet());
        images.sort(Comparator.comparingLong(RetentionJournal.ImageRef::segment)
                .thenComparingLong(RetentionJournal.ImageRef::position));
        List<Run> runs = new ArrayList<>();
        Map<RetentionJournal.ImageRef, List<ViewExtents.Extent>> records = null;
        long segment = -1;
        long start = 0;
        long end = 0;
        for (RetentionJournal.ImageRef r : images) {
            long recEnd = r.position() + JournalFormat.recordLength(r.length());
            boolean joins = records != null && r.segment() == segment && r.position() - end <= maxGap
                    && recEnd - start <= maxRun;
            if (!joins) {
                if (records != null) {
                    runs.add(new Run(segment, start, end, records));
                }
                records = new LinkedHashMap<>();
                segment = r.segment();
                start = r.position();
            }
            records.put(r, byImage.get(r));
            end = recEnd;
        }
        runs.add(new Run(segment, start, end, records));
        return runs;
    }

    private static void read(RetentionJournal journal, Run run, long base, ByteBuffer dst) throws IOException {
        read(journal, run, (offset, bytes) -> dst.put((int) (offset - base), bytes, bytes.position(), bytes.remaining()));
    }

    /** Reads one run, verifies each of its records, and hands each extent's bytes to {@code pieces}. */
    private static void read(RetentionJournal journal, Run run, Pieces pieces) throws IOException {
        int length = (int) (run.end() - run.start());
        ByteBuffer buf = BUFFERS.acquire(length);
        try {
            FileChannel ch = journal.segmentChannel(run.segment());
            readFully(ch, buf, run.start());
            CRC32C crc = new CRC32C();
            for (Map.Entry<RetentionJournal.ImageRef, List<ViewExtents.Extent>> e : run.records().entrySet()) {
                RetentionJournal.ImageRef r = e.getKey();
                int at = (int) (r.position() - run.start());
                verify(journal, r, buf.duplicate().position(Math.min(at, buf.limit())), crc);
                int payload = at + JournalFormat.PAYLOAD_OFFSET;
                for (ViewExtents.Extent x : e.getValue()) {
                    int from = payload + (int) (x.offset() - r.offset());
                    pieces.accept(x.offset(), buf.duplicate().limit(from + x.length()).position(from));
                }
            }
        } finally {
            BUFFERS.release(buf);
        }
    }

    /** Reads one before-image's bytes, verifying its record. */
    static byte[] readOne(RetentionJournal journal, RetentionJournal.ImageRef r) throws IOException {
        int recordBytes = JournalFormat.PAYLOAD_OFFSET + r.length();
        ByteBuffer b = ByteBuffer.allocate(recordBytes);
        readFully(journal.segmentChannel(r.segment()), b, r.position());
        verify(journal, r, b, new CRC32C());
        byte[] out = new byte[r.length()];
        b.get(JournalFormat.PAYLOAD_OFFSET, out);
        return out;
    }

    /**
     * Verifies the record of {@code r} at {@code record}'s position (the buffer is not moved): length, chained
     * CRC, seq and offset.
     */
    private static void verify(RetentionJournal journal, RetentionJournal.ImageRef r, ByteBuffer record, CRC32C crc)
            throws CorruptLogException {
        int at = record.position();
        try { // no file named here: damaged() names it (a path per image read would cost more than the check)
            VerifiedRecord v = SegmentReader.verifyIn(JournalFormat.KIND, null, record, at, r.position(),
                    JournalFormat.BODY_HEADER_LENGTH + r.length(), r.prevChain(), crc);
            if (v.seq() != r.seq() || v.bodyHeader().getLong(JournalFormat.OFFSET_OFFSET) != r.offset()) {
                throw journal.damaged(r, "the before-image of seq " + r.seq() + " is not the record its index names");
            }
        } catch (RecordDamageException e) {
            throw journal.damaged(r, "the before-image of seq " + r.seq() + " does not verify ("
                    + e.stop().describe() + ")");
        }
    }

    /** Reads {@code b.remaining()} bytes at {@code pos} (fewer at the end of the file); flips {@code b}. */
    private static void readFully(FileChannel ch, ByteBuffer b, long pos) throws IOException {
        long at = pos;
        while (b.hasRemaining()) {
            int n = ch.read(b, at);
            if (n < 0) {
                break;
            }
            at += n;
        }
        b.flip();
    }
}
