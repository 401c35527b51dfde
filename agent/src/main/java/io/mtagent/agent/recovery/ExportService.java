package io.mtagent.agent.recovery;

import io.mtagent.agent.disk.ReplicatedDisk;
import io.mtagent.agent.retention.PointInTimeView;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.concurrent.TimeoutException;
import java.util.logging.Logger;

/**
 * Writes a point-in-time view to a file or a block device with large sequential reads and writes.
 *
 * <p>Durability: to a file, the image is written to {@code <out>.partial} next to it, made durable
 * ({@code fdatasync}), renamed over {@code <out>} and the directory synced, so {@code <out>} is either absent (or
 * its old content) or the complete image — never a half export that looks finished. To a device (anything that
 * exists and is not a regular file) it is written in place and synced at the end.
 *
 * <p>Safety: an existing non-empty file or any device is only overwritten with {@code overwrite = true}.
 * Stateless and thread-safe; each export runs on the calling thread.
 */
public final class ExportService {
    private static final Logger LOG = Logger.getLogger(ExportService.class.getName());
    /** Bytes per read and write: large sequential I/O, bounded memory (one chunk). */
    public static final int CHUNK_BYTES = 4 << 20;
    private static final long REPORT_NANOS = 100_000_000L;

    /** What an export did. */
    public record Result(Path out, long bytes, Duration elapsed) {
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
        return export(disk.view(point, Duration.ofSeconds(30)), out, overwrite, listener);
    }

    /** Exports {@code view}; the caller keeps the view's journal segments pinned (a {@link ViewLease}) meanwhile. */
    public Result export(PointInTimeView view, Path out, boolean overwrite, ProgressListener listener)
            throws IOException {
        boolean device = Files.exists(out) && !Files.isRegularFile(out);
        if (!overwrite) {
            if (device) {
                throw new IllegalStateException(out + " is a device, not a file: exporting overwrites all of it;"
                        + " add --overwrite if that is what you want");
            }
            if (Files.exists(out) && Files.size(out) > 0) {
                throw new IllegalStateException(out + " exists and is not empty (" + Files.size(out) + " bytes);"
                        + " choose another path or add --overwrite");
            }
        }
        Path target = device ? out : out.resolveSibling(out.getFileName() + ".partial");
        long start = System.nanoTime();
        long size = view.size();
        if (!device) {
            Files.deleteIfExists(target); // a leftover, or a link planted there: never written through
        }
        try (FileChannel ch = device ? FileChannel.open(target, StandardOpenOption.WRITE)
                : FileChannel.open(target, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE,
                LinkOption.NOFOLLOW_LINKS)) {
            long lastReport = start;
            listener.progress(new ProgressListener.Progress(0, size, 0, null, false));
            for (long pos = 0; pos < size; ) {
                int n = (int) Math.min(CHUNK_BYTES, size - pos);
                ByteBuffer chunk = ByteBuffer.wrap(view.read(pos, n));
                while (chunk.hasRemaining()) {
                    ch.write(chunk, pos + chunk.position());
                }
                pos += n;
                long now = System.nanoTime();
                if (now - lastReport >= REPORT_NANOS && pos < size) {
                    lastReport = now;
                    listener.progress(progress(pos, size, now - start, false));
                }
            }
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
        Result r = new Result(out, size, Duration.ofNanos(elapsed));
        LOG.info(() -> String.format("exported the view at seq %d (%d bytes) to %s in %.1f s, %.1f MB/s",
                view.point(), size, out, elapsed / 1e9, r.megabytesPerSecond()));
        return r;
    }

    private static ProgressListener.Progress progress(long done, long total, long elapsedNanos, boolean finished) {
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
