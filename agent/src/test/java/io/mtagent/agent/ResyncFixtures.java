package io.mtagent.agent;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.SplittableRandom;

/** Source and target images for resync tests: random content, chunk-level damage, byte comparison. */
final class ResyncFixtures {
    /**
     * Disk size of the differential-resync tests: 16 MiB by default (the helpers' ≤ 16 MiB rule), the issue's
     * 256 MiB or 1 GiB with {@code -Dmtagent.resync.bytes=268435456} (see README, "Resync tests").
     */
    static final long DISK_BYTES = Long.getLong("mtagent.resync.bytes", 16L << 20);

    private ResyncFixtures() {
    }

    /** Incompressible random content, so compression cannot make a sent chunk look cheaper than it is. */
    static void random(Path file, long size, long seed) throws IOException {
        Files.createDirectories(file.toAbsolutePath().getParent());
        SplittableRandom r = new SplittableRandom(seed);
        byte[] buf = new byte[1 << 20];
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
            f.setLength(size);
            for (long pos = 0; pos < size; pos += buf.length) {
                r.nextBytes(buf);
                f.write(buf, 0, (int) Math.min(buf.length, size - pos));
            }
        }
    }

    /** Overwrites {@code count} distinct chunks of {@code file} with fresh random bytes; returns their indexes. */
    static int[] damageChunks(Path file, int chunk, int count, long seed) throws IOException {
        SplittableRandom r = new SplittableRandom(seed);
        long chunks = Files.size(file) / chunk;
        int[] picked = r.ints(0, (int) chunks).distinct().limit(count).sorted().toArray();
        byte[] buf = new byte[chunk];
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
            for (int c : picked) {
                r.nextBytes(buf);
                f.seek((long) c * chunk);
                f.write(buf);
            }
        }
        return picked;
    }

    /** Offset of the first differing byte, or -1 when the files are equal. */
    static long firstDifference(Path a, Path b) throws IOException {
        try (RandomAccessFile fa = new RandomAccessFile(a.toFile(), "r"); RandomAccessFile fb = new RandomAccessFile(b.toFile(), "r")) {
            if (fa.length() != fb.length()) {
                return Math.min(fa.length(), fb.length());
            }
            byte[] x = new byte[1 << 20];
            byte[] y = new byte[1 << 20];
            for (long pos = 0; pos < fa.length(); pos += x.length) {
                int n = (int) Math.min(x.length, fa.length() - pos);
                fa.readFully(x, 0, n);
                fb.readFully(y, 0, n);
                int i = Arrays.mismatch(x, 0, n, y, 0, n);
                if (i >= 0) {
                    return pos + i;
                }
            }
            return -1;
        }
    }

    static void write(Path file, long offset, byte[] data) throws IOException {
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
            f.seek(offset);
            f.write(data);
        }
    }
}
