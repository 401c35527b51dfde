package io.mtagent.agent.recovery;

import io.mtagent.agent.disk.ReplicatedDisk;
import io.mtagent.agent.journal.PointInTimeView;
import io.mtagent.nativeio.AlignedBufferPool;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.logging.Logger;

/**
 * Writes a point-in-time view to a file or a block device at the disk's speed. A view at or below the applied
 * point is streamed ({@link StreamedCopy}: the journal read front to back, each piece written at its place); one
 * beyond it (read with the ingest log) is read in windows of {@link #CHUNK_BYTES}, {@link #WINDOWS_IN_FLIGHT}
 * windows at once on reader threads, and written in order by the calling thread.
 *
 * <p>Sparse: to a file, blocks of {@link #HOLE_BYTES} that read as zeros are not written; the file is sized up
 * front, so they stay holes (an export of a mostly empty disk takes the space of its data). A device is written
 * in full (it may hold anything).
 *
 * <p>Durability: to a file, the image is written to {@code <out>.partial} next to it, made durable
 * ({@code fdatasync}), renamed over {@code <out>} and the directory synced, so {@code <out>} is either absent (or
 * its old content) or the complete image — never a half export that looks finished. To a device (anything that
 * exists and is not a regular file) it is written in place and synced at the end.
 *
 * <p>Safety: an existing non-empty file or any device is only overwritten with {@code overwrite = true}.
 * Stateless and thread-safe; each export runs on the calling thread (and its window readers).
 */
public final class ExportService {
    private static final Logger LOG = Logger.getLogger(ExportService.class.getName());
    /** Bytes per window read and written: large sequential I/O, bounded memory. */
    public static final int CHUNK_BYTES = 4 << 20;
    /** Windows read at once (plus the one being written): reads queued at the device while the last is written. */
    static final int WINDOWS_IN_FLIGHT = 4;
    /** Zero detection unit: the file system's block, the smallest hole it keeps. */
    static final int HOLE_BYTES = 4096;
    private static final long REPORT_NANOS = 100_000_000L;
    private static final ByteBuffer ZEROS = ByteBuffer.allocateDirect(HOLE_BYTES);
    private static final AlignedBufferPool BUFFERS = new AlignedBufferPool(AlignedBufferPool.DEFAULT_ALIGNMENT,
            2 * (WINDOWS_IN_FLIGHT + 1));
    /** Window readers for all exports: they wait on reads; an export has at most WINDOWS_IN_FLIGHT of them. */
    private static final ExecutorService READERS = new ThreadPoolExecutor(0, Integer.MAX_VALUE, 10, TimeUnit.SECONDS,
            new SynchronousQueue<>(), r -> {
                Thread t = new Thread(r, "export-reader");
                t.setDaemon(true);
                return t;
            });

    /** What an export did: the image's size, and the bytes actually written (less when holes were skipped). */
    public record Result(Path out, long bytes, long bytesWritten, Duration elapsed) {
        public double megabytesPerSecond() {
            double s = elapsed.toNanos() / 1e9;
            return s <= 0 ? 0 : bytes / 1e6 / s;
        }
    }

    /** Exports {@code disk} at {@code point} to a new or empty file (waits up to 30 s for the applier). */
    public Result export(ReplicatedDisk disk, long point, Path out, ProgressListener listener)
            throws IOException, InterruptedException, TimeoutException {
        return export(disk, point, out, false, listener);
    }

    public Result export(ReplicatedDisk disk, long point, Path out, boolean overwrite, ProgressListener listener)
            throws IOException, InterruptedException, TimeoutException {
        try (PointInTimeView view = disk.view(point, Duration.ofSeconds(30))) {
            return export(view, out, overwrite, listener);
        }
    }

    /**
     * Refuses, before any work, to overwrite a device or an existing non-empty file without {@code overwrite}:
     * callers check this before they start a job or a progress bar, and {@link #export} checks it again.
     *
     * @throws IllegalStateException naming the path and the fix (another path, or --overwrite)
     */
    public static void refuseOverwrite(Path out, boolean overwrite) throws IOException {
        if (overwrite || !Files.exists(out)) {
            return;
        }
        if (!Files.isRegularFile(out)) {
            throw new IllegalStateException(out + " is a device, not a file: exporting overwrites all of it;"
                    + " add --overwrite if that is what you want");
        }
        if (Files.size(out) > 0) {
            throw new IllegalStateException(out + " exists and is not empty (" + Files.size(out) + " bytes);"
                    + " choose another path or add --overwrite");
        }
    }

    /** Exports {@code view}; the caller keeps the view's journal segments pinned (a {@link ViewLease}) meanwhile. */
    public Result export(PointInTimeView view, Path out, boolean overwrite, ProgressListener listener)
            throws IOException {
        refuseOverwrite(out, overwrite);
        boolean device = Files.exists(out) && !Files.isRegularFile(out);
        Path target = device ? out : out.resolveSibling(out.getFileName() + ".partial");
        long start = System.nanoTime();
        long size = view.size();
        if (!device) {
            Files.deleteIfExists(target); // a leftover, or a link planted there: never written through
        }
        long written;
        try (FileChannel ch = device ? FileChannel.open(target, StandardOpenOption.WRITE) : sizedFile(target, size)) {
            written = copy(view, ch, !device, start, listener);
            ch.force(false); // fdatasync: the image is on disk before it gets its final name
        } catch (IOException | RuntimeException e) {
            if (!device) {
                Files.deleteIfExists(target);
            }
            throw e;
        }
        if (!device) {
            try {
                Files.move(target, out, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(target, out, StandardCopyOption.REPLACE_EXISTING);
            }
            syncDirectory(out.toAbsolutePath().getParent());
        }
        long elapsed = System.nanoTime() - start;
        listener.progress(progress(size, size, elapsed, true));
        Result r = new Result(out, size, written, Duration.ofNanos(elapsed));
        LOG.info(() -> String.format("exported the view at seq %d (%d bytes, %d written, the rest holes) to %s in"
                + " %.1f s, %.1f MB/s", view.point(), size, written, out, elapsed / 1e9, r.megabytesPerSecond()));
        return r;
    }

    /**
     * A new file of {@code size} bytes, all holes (the zero blocks the export skips stay holes): created, never
     * opened through a link, and sized by its last byte (one block, written over if it holds data).
     */
    private static FileChannel sizedFile(Path file, long size) throws IOException {
        FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE,
                LinkOption.NOFOLLOW_LINKS);
        try {
            if (size > 0) {
                ch.write(ByteBuffer.allocate(1), size - 1);
            }
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
        return ch;
    }

    /** One window being read: its range and buffer. */
    private record Window(long offset, ByteBuffer buffer, Future<?> read) {
    }

    /**
     * Reads the view window by window, {@link #WINDOWS_IN_FLIGHT} ahead, and writes each in order.
     *
     * @return bytes written
     */
    private static long copy(PointInTimeView view, FileChannel ch, boolean sparse, long start,
                             ProgressListener listener) throws IOException {
        if (view.streamable()) {
            return StreamedCopy.copy(view, ch, sparse, start, REPORT_NANOS, listener);
        }
        long size = view.size();
        ArrayDeque<Window> ahead = new ArrayDeque<>();
        long next = 0;
        long written = 0;
        long lastReport = start;
        listener.progress(new ProgressListener.Progress(0, size, 0, null, false));
        try {
            while (next < size || !ahead.isEmpty()) {
                while (ahead.size() < WINDOWS_IN_FLIGHT && next < size) {
                    int n = (int) Math.min(CHUNK_BYTES, size - next);
                    ByteBuffer buf = BUFFERS.acquire(n);
                    long at = next;
                    Callable<Void> read = () -> {
                        view.read(at, buf.duplicate());
                        return null;
                    };
                    ahead.add(new Window(at, buf, READERS.submit(read)));
                    next += n;
                }
                Window w = ahead.poll();
                await(w.read());
                written += sparse ? writeSparse(ch, w.offset(), w.buffer()) : writeAll(ch, w.offset(), w.buffer());
                BUFFERS.release(w.buffer());
                long done = w.offset() + w.buffer().limit();
                long now = System.nanoTime();
                if (now - lastReport >= REPORT_NANOS && done < size) {
                    lastReport = now;
                    listener.progress(progress(done, size, now - start, false));
                }
            }
        } finally {
            for (Window w : ahead) {
                try {
                    await(w.read()); // no reader may still fill a buffer once it goes back to the pool
                } catch (IOException | RuntimeException ignored) {
                    // the first failure is the one reported
                }
                BUFFERS.release(w.buffer());
            }
        }
        return written;
    }

    private static void await(Future<?> read) throws IOException {
        try {
            read.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("export interrupted");
        } catch (ExecutionException e) {
            Throwable c = e.getCause();
            if (c instanceof IOException io) {
                throw io;
            }
            if (c instanceof RuntimeException re) {
                throw re;
            }
            throw new IOException("reading the view failed", c);
        }
    }

    static long writeAll(FileChannel ch, long offset, ByteBuffer buf) throws IOException {
        ByteBuffer b = buf.duplicate();
        while (b.hasRemaining()) {
            ch.write(b, offset + b.position());
        }
        return buf.remaining();
    }

    /** Writes the runs of non-zero {@link #HOLE_BYTES} blocks; zero blocks are left as holes. */
    static long writeSparse(FileChannel ch, long offset, ByteBuffer buf) throws IOException {
        int n = buf.limit();
        long written = 0;
        int runStart = -1;
        // One step past the end, so the last run is written also when n is not a multiple of HOLE_BYTES (a piece of
        // a streamed export, or the tail of a disk whose size is not).
        for (int at = 0; at < n + HOLE_BYTES; at += HOLE_BYTES) {
            boolean data = at < n && !isZero(buf, at, Math.min(HOLE_BYTES, n - at));
            if (data && runStart < 0) {
                runStart = at;
            } else if (!data && runStart >= 0) {
                int end = Math.min(at, n);
                written += writeAll(ch, offset + runStart, buf.duplicate().position(runStart).limit(end).slice());
                runStart = -1;
            }
        }
        return written;
    }

    static boolean isZero(ByteBuffer buf, int at, int length) {
        return buf.slice(at, length).mismatch(ZEROS.duplicate().limit(length)) == -1;
    }
    static ProgressListener.Progress progress(long done, long total, long elapsedNanos, boolean finished) {
        double rate = elapsedNanos <= 0 ? 0 : done / (elapsedNanos / 1e9);
        Duration eta = finished ? Duration.ZERO : rate <= 0 ? null
                : Duration.ofMillis((long) ((total - done) / rate * 1000));
        return new ProgressListener.Progress(done, total, rate, eta, finished);
    }

    private static void syncDirectory(Path dir) throws IOException {
        if (dir == null) {
            return;
        }
        try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
            d.force(true);
        } catch (IOException e) {
            // Some file systems (and Windows) cannot open a directory for sync; the file itself is synced.
            LOG.fine(() -> "cannot sync directory " + dir + ": " + e.getMessage());
        }
    }
}
