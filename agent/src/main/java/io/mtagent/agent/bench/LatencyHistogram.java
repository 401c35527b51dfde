package io.mtagent.agent.bench;

import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * A lock-free latency histogram with logarithmic buckets: each power of two of nanoseconds is split into 16
 * linear sub-buckets, so any recorded value is reported within 1/16 (6.25 %) of its true value, from 1 µs to
 * about 9 minutes, in 4 KiB of counters. Enough for p50/p99/p99.9 of ack latency without a dependency.
 *
 * <p>Thread-safe: {@link #record} from any thread (one atomic increment); percentiles are read while recording
 * continues and then reflect some moment during the call.
 */
public final class LatencyHistogram {
    private static final int SUB_BITS = 4;
    private static final int SUB = 1 << SUB_BITS;
    private static final int MIN_SHIFT = 10; // values below 1024 ns share the first buckets
    private static final int MAGNITUDES = 40 - MIN_SHIFT;
    private final AtomicLongArray counts = new AtomicLongArray(MAGNITUDES * SUB + SUB);
    private final AtomicLong max = new AtomicLong();

    public void record(long nanos) {
        long v = Math.max(0, nanos);
        counts.incrementAndGet(index(v));
        max.accumulateAndGet(v, Math::max);
    }

    static int index(long v) {
        if (v < (1L << MIN_SHIFT)) {
            return (int) (v >>> (MIN_SHIFT - SUB_BITS));
        }
        int magnitude = 63 - Long.numberOfLeadingZeros(v); // >= MIN_SHIFT
        int sub = (int) ((v >>> (magnitude - SUB_BITS)) & (SUB - 1));
        int m = Math.min(magnitude - MIN_SHIFT + 1, MAGNITUDES);
        return m * SUB + sub;
    }

    /** The upper edge of a bucket: a percentile is reported as at most this, never less than the true value. */
    static long upperEdge(int index) {
        int m = index / SUB;
        int sub = index % SUB;
        if (m == 0) {
            return ((long) (sub + 1) << (MIN_SHIFT - SUB_BITS)) - 1;
        }
        int magnitude = m - 1 + MIN_SHIFT;
        return (1L << magnitude) + ((long) (sub + 1) << (magnitude - SUB_BITS)) - 1;
    }

    public long count() {
        long n = 0;
        for (int i = 0; i < counts.length(); i++) {
            n += counts.get(i);
        }
        return n;
    }

    /** The value at {@code fraction} (0.99 for p99) in nanoseconds, or 0 when nothing was recorded. */
    public long percentile(double fraction) {
        long total = count();
        if (total == 0) {
            return 0;
        }
        long rank = (long) Math.ceil(fraction * total);
        long seen = 0;
        for (int i = 0; i < counts.length(); i++) {
            seen += counts.get(i);
            if (seen >= rank && seen > 0) {
                return Math.min(upperEdge(i), max.get());
            }
        }
        return max.get();
    }

    public long max() {
        return max.get();
    }
}
