package io.mtagent.agent.bench;

import java.util.SplittableRandom;

/**
 * Write data made once before the run, so that generating data costs the load generator nothing while it
 * runs (it shares the machine with the agent). Each 4 KiB block is {@code compressibility} zeros followed by
 * random bytes, so LZ4 shrinks it to about {@code 1 - compressibility} of its size. Writes take slices at
 * random 4 KiB offsets, so consecutive writes differ. Immutable after construction; thread-safe.
 */
public final class PayloadPool {
    private static final int BLOCK = 4096;
    private final byte[] data;
    private final double compressibility;

    /** @param compressibility 0 (random, incompressible) to 1 (all zeros) */
    public PayloadPool(int poolBytes, int maxWrite, double compressibility, long seed) {
        if (compressibility < 0 || compressibility > 1) {
            throw new IllegalArgumentException("compressibility is a fraction between 0 and 1, got " + compressibility);
        }
        this.compressibility = compressibility;
        this.data = new byte[poolBytes + maxWrite];
        SplittableRandom r = new SplittableRandom(seed);
        int zeros = (int) Math.round(BLOCK * compressibility);
        byte[] block = new byte[BLOCK - zeros];
        for (int off = 0; off < data.length; off += BLOCK) {
            r.nextBytes(block);
            int n = Math.min(block.length, data.length - off - zeros);
            if (n > 0) {
                System.arraycopy(block, 0, data, off + zeros, n);
            }
        }
    }

    public double compressibility() {
        return compressibility;
    }

    /** The backing array (read only by convention). */
    public byte[] array() {
        return data;
    }

    /** A random 4 KiB-aligned start offset in {@link #array()} for a write of {@code length} bytes. */
    public int sliceOffset(SplittableRandom random, int length) {
        int blocks = (data.length - length) / BLOCK;
        return random.nextInt(blocks + 1) * BLOCK;
    }
}
