package io.mtagent.protocol.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class CompressionBackoffTest {
    /** Runs {@code writes} writes whose data compresses when {@code compressible} says so; returns the attempts. */
    private static int run(CompressionBackoff b, int writes, java.util.function.IntPredicate compressible) {
        int attempts = 0;
        for (int i = 0; i < writes; i++) {
            if (b.shouldTry()) {
                attempts++;
                b.attempted(compressible.test(i));
            }
        }
        return attempts;
    }

    @Test
    void compressibleDataIsAlwaysTried() {
        assertEquals(10_000, run(new CompressionBackoff(), 10_000, i -> true));
    }

    @Test
    void incompressibleDataIsTriedAboutOnceInSixtyFiveWrites() {
        int attempts = run(new CompressionBackoff(), 65_000, i -> false);
        // 8 attempts, then probes after gaps of 1, 2, 4, ..., 64 writes: after the warm-up one in 65.
        assertTrue(attempts >= 1_000 && attempts <= 1_000 + 20, "attempts " + attempts);
    }

    @Test
    void aStreamThatTurnsCompressibleIsNoticedWithinSixtyFiveWritesAndThenAlwaysTried() {
        CompressionBackoff b = new CompressionBackoff();
        run(b, 10_000, i -> false);
        int skipped = 0;
        while (!b.shouldTry()) {
            skipped++;
        }
        b.attempted(true);
        assertTrue(skipped <= CompressionBackoff.MAX_SKIP, "skipped " + skipped);
        assertEquals(1_000, run(b, 1_000, i -> true));
    }

    @Test
    void occasionalFailuresDoNotStopTheAttempts() {
        // Seven failures in a row at most, then one that pays: every write is still tried.
        assertEquals(8_000, run(new CompressionBackoff(), 8_000, i -> i % 8 == 7));
    }
}
