package io.mtagent.agent.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class LatencyHistogramTest {
    @Test
    void percentilesAreWithinOneSixteenthAndNeverBelowTheTrueValue() {
        LatencyHistogram h = new LatencyHistogram();
        long[] values = new long[100_000];
        SplittableRandom r = new SplittableRandom(1);
        for (int i = 0; i < values.length; i++) {
            values[i] = 1_000 + r.nextLong(50_000_000); // 1 µs .. 50 ms
            h.record(values[i]);
        }
        java.util.Arrays.sort(values);
        for (double q : new double[] {0.5, 0.99, 0.999}) {
            long truth = values[(int) Math.ceil(q * values.length) - 1];
            assertThat(h.percentile(q)).isBetween(truth, truth + truth / 16 + 1);
        }
        assertThat(h.count()).isEqualTo(values.length);
        assertThat(h.max()).isEqualTo(values[values.length - 1]);
    }

    @Test
    void bucketsCoverEveryValueInOrder() {
        long previousEdge = -1;
        for (long v : new long[] {0, 1, 63, 64, 1023, 1024, 1025, 2047, 2048, 1_000_000, 1L << 38, Long.MAX_VALUE}) {
            int i = LatencyHistogram.index(v);
            if (v < (1L << 39)) {
                assertThat(LatencyHistogram.upperEdge(i)).isGreaterThanOrEqualTo(v);
            }
            assertThat(LatencyHistogram.upperEdge(i)).isGreaterThanOrEqualTo(previousEdge);
            previousEdge = LatencyHistogram.upperEdge(i);
        }
        assertThat(new LatencyHistogram().percentile(0.99)).isZero();
    }
}
