package io.mtagent.agent.bench;

import io.mtagent.agent.ingest.FileTrees;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The baseline without fio: a plain Java writer ({@code FileChannel} positional writes and
 * {@code force(false)}, i.e. fdatasync; the target with the JDK's O_DIRECT option and page-aligned buffers, falling
 * back to buffered I/O where the file system refuses O_DIRECT) doing a {@link BaselineSpec}'s I/O with two threads per disk, one for
 * the ingest stream and one for the apply stream, as the agent does. No framing, no checksums, no network: what
 * the file system gives a trivial program. Reported as tool {@code java-writer}.
 */
public final class JavaBaseline {
    private JavaBaseline() {
    }

    public static BaselineResult run(BaselineSpec spec) throws Exception {
        Files.createDirectories(spec.dir());
        PayloadPool pool = new PayloadPool(16 << 20, spec.profile().maxWriteBytes(), 0, spec.seed());
        ByteBuffer data = ByteBuffer.allocateDirect(pool.array().length + 4096).alignedSlice(4096)
                .put(pool.array()).flip();
        long capNanos = spec.timeCap().toNanos();
        long t0 = System.nanoTime();
        long deadline = t0 + capNanos;
        AtomicReference<Throwable> failure = new AtomicReference<>();
        long[] ingestDone = new long[spec.disks()];
        long[] applyDone = new long[spec.disks()];
        List<Thread> threads = new ArrayList<>();
        for (int d = 0; d < spec.disks(); d++) {
            int disk = d;
            threads.add(start("baseline-ingest-" + d, failure, () -> ingestDone[disk] = ingest(spec, disk, data, deadline)));
            threads.add(start("baseline-apply-" + d, failure, () -> applyDone[disk] = apply(spec, disk, data, deadline)));
        }
        for (Thread t : threads) {
            t.join();
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        try {
            FileTrees.deleteRecursively(spec.dir());
        } catch (IOException ignored) {
            // a leftover temp folder is not worth failing the run for
        }
        if (failure.get() != null) {
            throw new IOException("the java-writer baseline failed in " + spec.dir() + ": " + failure.get(), failure.get());
        }
        long bytes = 0;
        for (int d = 0; d < spec.disks(); d++) {
            bytes += Math.min(ingestDone[d], applyDone[d]);
        }
        return new BaselineResult("java-writer", bytes / 1e6 / seconds, seconds, bytes, spec.describe(), Double.NaN);
    }

    private interface IoTask {
        void run() throws Exception;
    }

    private static Thread start(String name, AtomicReference<Throwable> failure, IoTask task) {
        Thread t = new Thread(() -> {
            try {
                task.run();
            } catch (Throwable e) {
                failure.compareAndSet(null, e);
            }
        }, name);
        t.setDaemon(true);
        t.start();
        return t;
    }

    private static ByteBuffer slice(ByteBuffer data, WritePattern p, int length) {
        int from = p.random().nextInt((data.capacity() - length) / 4096 + 1) * 4096;
        return data.duplicate().limit(from + length).position(from);
    }

    /** Sequential append of every write with an fdatasync per ingestSyncBytes; returns the bytes done. */
    private static long ingest(BaselineSpec spec, int disk, ByteBuffer data, long deadline) throws IOException {
        WritePattern p = new WritePattern(spec.profile(), spec.diskBytes(), spec.seed() + disk);
        long done = 0;
        long unsynced = 0;
        try (FileChannel log = FileChannel.open(spec.dir().resolve("log-" + disk), StandardOpenOption.CREATE,
                StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
            while (done < spec.bytesPerDisk() && System.nanoTime() < deadline) {
                int length = p.length();
                p.offset(length);
                ByteBuffer b = slice(data, p, length);
                while (b.hasRemaining()) {
                    log.write(b);
                }
                unsynced += length;
                if (unsynced >= spec.ingestSyncBytes()) {
                    log.force(false);
                    done += unsynced;
                    unsynced = 0;
                }
            }
            log.force(false);
            return done + unsynced;
        }
    }

    /** The target as the agent opens it: O_DIRECT where the file system allows it, else buffered. */
    private static FileChannel openTarget(Path path) throws IOException {
        try {
            return FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE,
                    com.sun.nio.file.ExtendedOpenOption.DIRECT);
        } catch (UnsupportedOperationException | IOException e) {
            return FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE);
        }
    }

    /** Apply batches: (before-image read + journal append + fdatasync) then target writes + fdatasync. */
    private static long apply(BaselineSpec spec, int disk, ByteBuffer data, long deadline) throws IOException {
        WritePattern p = new WritePattern(spec.profile(), spec.diskBytes(), spec.seed() + disk);
        ByteBuffer before = ByteBuffer.allocateDirect(spec.profile().maxWriteBytes() + 4096).alignedSlice(4096);
        long done = 0;
        Path targetPath = spec.dir().resolve("target-" + disk);
        try (FileChannel sizer = FileChannel.open(targetPath, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
            if (sizer.size() < spec.diskBytes()) {
                sizer.write(ByteBuffer.wrap(new byte[] {0}), spec.diskBytes() - 1); // sparse, as the agent's targets
            }
        }
        try (FileChannel target = openTarget(targetPath);
             FileChannel journal = spec.retention() ? FileChannel.open(spec.dir().resolve("journal-" + disk),
                     StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING) : null) {
            long[] offsets = new long[spec.applyBatchBytes() / 4096 + 1];
            int[] lengths = new int[offsets.length];
            while (done < spec.bytesPerDisk() && System.nanoTime() < deadline) {
                int n = 0;
                int batch = 0;
                while (n < offsets.length && batch < spec.applyBatchBytes() && done + batch < spec.bytesPerDisk()) {
                    lengths[n] = p.length();
                    offsets[n] = p.offset(lengths[n]);
                    batch += lengths[n];
                    n++;
                }
                if (journal != null) {
                    for (int i = 0; i < n; i++) {
                        before.clear().limit(lengths[i]);
                        while (before.hasRemaining() && target.read(before, offsets[i] + before.position()) >= 0) {
                            // read the before-image fully (a sparse hole reads as zeros)
                        }
                        before.flip();
                        while (before.hasRemaining()) {
                            journal.write(before);
                        }
                    }
                    journal.force(false);
                }
                for (int i = 0; i < n; i++) {
                    ByteBuffer b = slice(data, p, lengths[i]);
                    long pos = offsets[i];
                    while (b.hasRemaining()) {
                        pos += target.write(b, pos);
                    }
                }
                target.force(false);
                done += batch;
            }
            return done;
        }
    }
}
