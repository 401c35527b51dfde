package io.mtagent.protocol.client;

/**
 * Decides, write by write, whether a stream tries LZ4 at all. A disk whose data does not compress (encrypted
 * volumes, media, already-compressed databases) made the client run the compressor over every byte for nothing:
 * 4.7 % of the load generator's CPU in the rand-64k bench (bench/RESULTS.md). After {@link #GIVE_UP_AFTER}
 * attempts in a row that did not pay, only every n-th write is tried, n doubling from 2 up to {@link #MAX_SKIP} while
 * the probes keep failing; one attempt that pays goes back to trying every write. So a stream that turns
 * compressible again is noticed within {@code MAX_SKIP} writes, and an incompressible one spends about 1/64 of the
 * compression work.
 *
 * <p>Thread-safe (a stream's writers may call from several threads).
 */
final class CompressionBackoff {
    /** Failed attempts in a row before attempts are skipped. */
    static final int GIVE_UP_AFTER = 8;
    /** At most this many writes between two attempts. */
    static final int MAX_SKIP = 64;

    private int failuresInARow;
    private int skip; // writes between attempts now; 0 = try every write
    private int untilNextTry;

    /** True when this write should be offered to the compressor. */
    synchronized boolean shouldTry() {
        if (skip == 0) {
            return true;
        }
        if (untilNextTry > 0) {
            untilNextTry--;
            return false;
        }
        untilNextTry = skip;
        return true;
    }

    /** The outcome of an attempt {@link #shouldTry} allowed: whether the compressed form was used. */
    synchronized void attempted(boolean paid) {
        if (paid) {
            failuresInARow = 0;
            skip = 0;
            untilNextTry = 0;
            return;
        }
        failuresInARow++;
        if (skip > 0) {
            skip = Math.min(MAX_SKIP, skip * 2);
            untilNextTry = skip;
        } else if (failuresInARow >= GIVE_UP_AFTER) {
            skip = 1;
            untilNextTry = skip;
        }
    }
}
