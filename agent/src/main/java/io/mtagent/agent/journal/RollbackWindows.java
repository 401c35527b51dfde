package io.mtagent.agent.journal;

import io.mtagent.nativeio.AlignedBufferPool;
import io.mtagent.nativeio.BlockDevice;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The windows of a rollback pass over the disk, in offset order, each read one window ahead on another thread
 * while the caller writes the current one: its overlay at the point ({@link ViewExtents}), the before-images
 * laid out at their offsets in the window ({@link ImageRuns}, read and verified), and for the capture the
 * target's current bytes under the overlay, read in large aligned requests ({@link #TARGET_READ_BYTES}), up to
 * {@link #TARGET_READS_IN_FLIGHT} at once (a virtual disk serves queued reads faster) while the journal is read.
 *
 * <p>Protocol: {@link #next()} hands out each window once, in order; the caller closes it (its buffers go back to
 * the pool) before it asks for the window after the next. {@link #close()} waits for the read ahead, so no read
 * is under way once it returns. Nothing here writes: the target and the journal are only read. For one thread
 * (the rollback's); the reading runs on others.
 */
final class RollbackWindows implements AutoCloseable {
    /** Target bytes whose overlay is resolved and read at once. */
    static final int WINDOW_BYTES = 8 << 20;
    /** Largest target read of the capture. */
    static final int TARGET_READ_BYTES = 2 << 20;
    /** Target bytes between two extents still read with the same request (cheaper than a second request). */
    static final int TARGET_MERGE_BYTES = 256 << 10;
    /** Capture reads of the target under way at once. */
    static final int TARGET_READS_IN_FLIGHT = 4;
    private static final int ALIGNMENT = AlignedBufferPool.DEFAULT_ALIGNMENT;
    /**
     * In use: two windows (the one being written, the one read ahead), two buffers each for the capture. Idle:
     * two at most (direct memory is capped, and a rollback is rare).
     */
    private static final AlignedBufferPool BUFFERS = new AlignedBufferPool(ALIGNMENT, 2);
    /**
     * Threads for all rollbacks: they only wait on I/O; a pass uses one reading ahead plus the target reads (or
     * writes, {@link #inLanes}).
     */
    private static final ExecutorService READERS = new ThreadPoolExecutor(0, Integer.MAX_VALUE, 10, TimeUnit.SECONDS,
            new SynchronousQueue<>(), r -> {
                Thread t = new Thread(r, "rollback-reader-" + Counter.N.incrementAndGet());
                t.setDaemon(true);
                return t;
            });

    private static final class Counter {
        static final AtomicInteger N = new AtomicInteger();
    }

    /**
     * One window [{@code at}, {@code end}): its extents, the before-images at {@code offset - at} in
     * {@link #images}, and (capture) the target's current bytes at the same places in {@link #current}.
     */
    static final class Window implements AutoCloseable {
        private final long at;
        private final long end;
        private final ByteBuffer images;
        private final ByteBuffer current;
        private ViewExtents extents;

        private Window(long at, long end, boolean withCurrent) {
            this.at = at;
            this.end = end;
            this.images = BUFFERS.acquire(WINDOW_BYTES);
            this.current = withCurrent ? BUFFERS.acquire(WINDOW_BYTES) : null;
        }

        long end() {
            return end;
        }

        ViewExtents extents() {
            return extents;
        }

        ByteBuffer images() {
            return images;
        }

        /** The target's bytes under the extents (capture only). */
        ByteBuffer current() {
            return current;
        }

        /** The bytes of a run of adjacent extents in {@code buf} (images or current), as a buffer of their own. */
        ByteBuffer slice(ByteBuffer buf, List<ViewExtents.Extent> run) {
            ViewExtents.Extent last = run.get(run.size() - 1);
            int from = (int) (run.get(0).offset() - at);
            int to = (int) (last.offset() + last.length() - at);
            return buf.duplicate().limit(to).position(from).slice();
        }

        @Override
        public void close() {
            BUFFERS.release(images);
            if (current != null) {
                BUFFERS.release(current);
            }
        }
    }

    private final RetentionJournal journal;
    private final long point;
    private final BlockDevice target;
    private final boolean withCurrent;
    private long nextAt;
    private Future<Window> ahead;

    /** Starts reading the first window. */
    RollbackWindows(RetentionJournal journal, long point, BlockDevice target, boolean withCurrent) {
        this.journal = journal;
        this.point = point;
        this.target = target;
        this.withCurrent = withCurrent;
        readAhead();
    }

    /** The next window (the caller closes it), or null past the end; throws the failure of its reading. */
    Window next() throws IOException {
        if (ahead == null) {
            return null;
        }
        Future<Window> f = ahead;
        ahead = null;
        Window w = await(f);
        readAhead();
        return w;
    }

    private void readAhead() {
        long size = target.size();
        if (nextAt >= size) {
            return;
        }
        long at = nextAt;
        long end = Math.min(size, at + WINDOW_BYTES);
        nextAt = end;
        ahead = READERS.submit(() -> load(at, end));
    }

    /** Waits for the window read ahead (if any) and gives its buffers back. */
    @Override
    public void close() throws IOException {
        if (ahead != null) {
            Future<Window> f = ahead;
            ahead = null;
            try {
                await(f).close();
            } catch (IOException | RuntimeException e) {
                // the caller is already failing, or stopped early: this window is not wanted
            }
        }
    }

    private Window load(long at, long end) throws IOException {
        Window w = new Window(at, end, withCurrent);
        List<Future<Void>> reads = new ArrayList<>();
        try {
            w.extents = ViewExtents.resolve(journal, point, at, end);
            if (withCurrent) {
                readCurrent(w, reads);
            }
            ImageRuns.copy(journal, w.extents.extents(), at, w.images); // reads and verifies them
            awaitAll(reads);
            return w;
        } catch (IOException | RuntimeException | Error e) {
            try {
                awaitAll(reads); // no read may still fill a buffer once it goes back to the pool
            } catch (IOException | RuntimeException ignored) {
                // the first failure is the one reported
            }
            w.close();
            throw e;
        }
    }

    /**
     * Starts the target reads under the window's extents, {@link #TARGET_READS_IN_FLIGHT} at most at once: the
     * first ones on other threads, the rest queued behind them on the same threads.
     */
    private void readCurrent(Window w, List<Future<Void>> reads) {
        List<long[]> spans = w.extents.coveredSpans(ALIGNMENT, TARGET_MERGE_BYTES, TARGET_READ_BYTES);
        startLanes(spans, TARGET_READS_IN_FLIGHT, span -> {
            int from = (int) (span[0] - w.at);
            int to = (int) (span[1] - w.at);
            target.read(span[0], w.current.duplicate().limit(to).position(from).slice());
        }, reads);
    }

    /** One I/O request of a batch. */
    interface Request<T> {
        void run(T item) throws IOException;
    }

    /**
     * Runs {@code request} on every item, {@code lanes} at most at once (item i on lane i mod lanes, each lane's
     * items in order), on the readers' threads; returns when all are done, with the first failure (all have
     * ended by then).
     */
    static <T> void inLanes(List<T> items, int lanes, Request<T> request) throws IOException {
        List<Future<Void>> running = new ArrayList<>();
        startLanes(items, lanes, request, running);
        awaitAll(running);
    }

    private static <T> void startLanes(List<T> items, int lanes, Request<T> request, List<Future<Void>> started) {
        int n = Math.min(lanes, items.size());
        for (int lane = 0; lane < n; lane++) {
            int first = lane;
            started.add(READERS.submit(() -> {
                for (int i = first; i < items.size(); i += n) {
                    request.run(items.get(i));
                }
                return null;
            }));
        }
    }

    private static void awaitAll(List<Future<Void>> reads) throws IOException {
        IOException failure = null;
        RuntimeException unchecked = null;
        for (Future<Void> f : reads) {
            try {
                await(f);
            } catch (IOException e) {
                failure = failure == null ? e : failure;
            } catch (RuntimeException e) {
                unchecked = unchecked == null ? e : unchecked;
            }
        }
        if (failure != null) {
            throw failure;
        }
        if (unchecked != null) {
            throw unchecked;
        }
    }

    private static <T> T await(Future<T> f) throws IOException {
        try {
            return f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while reading the rollback's windows");
        } catch (ExecutionException e) {
            Throwable c = e.getCause();
            if (c instanceof IOException io) {
                throw io;
            }
            if (c instanceof RuntimeException re) {
                throw re;
            }
            if (c instanceof Error err) {
                throw err;
            }
            throw new IOException("reading the rollback's windows failed", c);
        }
    }
}
