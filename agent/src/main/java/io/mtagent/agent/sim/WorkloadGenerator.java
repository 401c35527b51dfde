package io.mtagent.agent.sim;

import java.util.SplittableRandom;

/**
 * A seeded, realistic mix of change blocks: mostly small writes with some large ones (4 KiB to 1 MiB,
 * 512-byte aligned), concentrated on a hot region so that writes overlap, and data that is half compressible
 * (patterned, as file-system metadata and zeroed blocks are) and half random. Not thread-safe: one per stream.
 */
public final class WorkloadGenerator {
    private static final int[] SIZES = {4096, 4096, 4096, 8192, 16384, 32768, 65536, 65536, 131072, 262144, 1 << 20};
    private final SplittableRandom random;
    private final long diskSize;
    private final int maxWrite;

    /** One write: where and what. */
    public record Change(long offset, byte[] data) {
    }

    public WorkloadGenerator(long seed, long diskSize, int maxWrite) {
        this.random = new SplittableRandom(seed);
        this.diskSize = diskSize;
        this.maxWrite = maxWrite;
    }

    public Change next() {
        int length = SIZES[random.nextInt(SIZES.length)];
        length = (int) Math.min(Math.min(length, maxWrite), diskSize);
        long sectors = (diskSize - length) / 512;
        long offset;
        if (random.nextInt(3) == 0) {
            // The hot eighth of the disk: overlapping rewrites, like a database's log and metadata.
            offset = random.nextLong(Math.max(1, Math.min(sectors + 1, diskSize / 8 / 512))) * 512;
        } else {
            offset = random.nextLong(sectors + 1) * 512;
        }
        return new Change(offset, data(length));
    }

    private byte[] data(int length) {
        byte[] b = new byte[length];
        if (random.nextBoolean()) {
            random.nextBytes(b);
        } else {
            byte seed = (byte) random.nextInt();
            int period = 16 + random.nextInt(240);
            for (int i = 0; i < length; i++) {
                b[i] = (byte) (seed + (i % period));
            }
            // A few random bytes so that compressible blocks still differ from each other.
            for (int i = 0; i < 8; i++) {
                b[random.nextInt(length)] = (byte) random.nextInt();
            }
        }
        return b;
    }

    public SplittableRandom random() {
        return random;
    }
}
