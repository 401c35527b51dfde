package io.mtagent.agent.bench;

import java.util.SplittableRandom;

/**
 * Where and how large the next write of one disk is, for a {@link BenchProfile}. The same class drives the
 * agent load and the baselines, so both do the same pattern. Not thread-safe: one per disk and thread.
 */
public final class WritePattern {
    static final int MIXED_MAX = 1 << 20;
    private static final int[] MIXED_SIZES = {4096, 4096, 4096, 8192, 16384, 32768, 65536, 65536, 131072, 262144,
        MIXED_MAX};

    private final BenchProfile profile;
    private final long diskBytes;
    private final SplittableRandom random;
    private long nextSequential;

    /** @param diskBytes the disk size; at least {@link BenchProfile#maxWriteBytes()} */
    public WritePattern(BenchProfile profile, long diskBytes, long seed) {
        if (diskBytes < profile.maxWriteBytes()) {
            throw new IllegalArgumentException("a " + profile + " disk needs at least " + profile.maxWriteBytes()
                    + " bytes; this one has " + diskBytes);
        }
        this.profile = profile;
        this.diskBytes = diskBytes;
        this.random = new SplittableRandom(seed);
    }

    /** The next write's length. Call {@link #offset(int)} with it next. */
    public int length() {
        return profile.writeBytes() != 0 ? profile.writeBytes() : MIXED_SIZES[random.nextInt(MIXED_SIZES.length)];
    }

    /** The next write's offset for a write of {@code length} bytes: aligned to its size (at most 64 KiB). */
    public long offset(int length) {
        if (!profile.random()) {
            if (nextSequential + length > diskBytes) {
                nextSequential = 0;
            }
            long o = nextSequential;
            nextSequential += length;
            return o;
        }
        int align = Math.min(length, 64 << 10);
        long slots = (diskBytes - length) / align + 1;
        if (profile == BenchProfile.MIXED && random.nextInt(3) == 0) {
            slots = Math.max(1, slots / 8); // the hot eighth: overlapping rewrites
        }
        return random.nextLong(slots) * align;
    }

    public SplittableRandom random() {
        return random;
    }
}
