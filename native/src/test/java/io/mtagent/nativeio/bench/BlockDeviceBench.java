package io.mtagent.nativeio.bench;

import io.mtagent.nativeio.AlignedBufferPool;
import io.mtagent.nativeio.BlockDeviceOptions;
import io.mtagent.nativeio.LinuxBlockDevice;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.SplittableRandom;

/**
 * A JMH-free write benchmark run by {@code bench/blockdevice.sh} (never by the test suite): random, block-aligned
 * overwrites of a preallocated file with an fdatasync every 32 writes (the applier's pattern: a batch, then
 * flush), through {@link LinuxBlockDevice} with O_DIRECT and through a buffered {@link FileChannel}, for each block
 * size. The script runs fio with the same pattern on the same file in the same run.
 *
 * <p>Usage: {@code BlockDeviceBench FILE SECONDS BS...}; prints {@code bs=<n> impl=<name> MBps=<x> iops=<y>}.
 */
public final class BlockDeviceBench {
    private static final int SYNC_EVERY = 32;

    public static void main(String[] args) throws IOException {
        Path file = Path.of(args[0]);
        double seconds = Double.parseDouble(args[1]);
        for (int i = 2; i < args.length; i++) {
            int bs = Integer.parseInt(args[i]);
            // warm-up once per block size, then measure; alternate to spread disk noise over both
            run(file, bs, seconds / 4, true);
            report(bs, "blockdevice-odirect", run(file, bs, seconds, true));
            run(file, bs, seconds / 4, false);
            report(bs, "filechannel", run(file, bs, seconds, false));
        }
    }

    private static void report(int bs, String impl, double[] r) {
        System.out.printf("bs=%d impl=%s MBps=%.1f iops=%.0f%n", bs, impl, r[0] / 1e6, r[1]);
    }

    /** Returns {bytes per second, writes per second}. */
    private static double[] run(Path file, int bs, double seconds, boolean native_) throws IOException {
        ByteBuffer data = AlignedBufferPool.allocate(bs, 4096);
        new SplittableRandom(bs).ints(bs, 0, 256).forEach(b -> data.put((byte) b));
        data.flip();
        SplittableRandom r = new SplittableRandom(42);
        long writes = 0;
        long end;
        long start = System.nanoTime();
        long deadline = start + (long) (seconds * 1e9);
        if (native_) {
            try (LinuxBlockDevice d = LinuxBlockDevice.open(file, BlockDeviceOptions.defaults())) {
                long blocks = d.size() / bs;
                while (System.nanoTime() < deadline) {
                    d.write(r.nextLong(blocks) * bs, data.duplicate());
                    if (++writes % SYNC_EVERY == 0) {
                        d.flush();
                    }
                }
                d.flush();
            }
        } else {
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
                long blocks = ch.size() / bs;
                while (System.nanoTime() < deadline) {
                    ByteBuffer b = data.duplicate();
                    long pos = r.nextLong(blocks) * bs;
                    while (b.hasRemaining()) {
                        pos += ch.write(b, pos);
                    }
                    if (++writes % SYNC_EVERY == 0) {
                        ch.force(false);
                    }
                }
                ch.force(false);
            }
        }
        end = System.nanoTime();
        double secs = (end - start) / 1e9;
        return new double[] {writes * (double) bs / secs, writes / secs};
    }
}
