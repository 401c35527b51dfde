package io.mtagent.agent.apply;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Writes in lanes end exactly as in order: a fuzz loop of batches crowded with overlapping writes, each write
 * copied into a shared array in two halves with a pause between (a torn write would show), with random delays, must
 * leave the array equal to applying the same writes one after another, and the lanes must really overlap.
 */
@Timeout(120)
class OverlapOrderedWritesTest {
    private static final ExecutorService POOL = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "test-lane");
        t.setDaemon(true);
        return t;
    });

    @AfterAll
    static void stop() {
        POOL.shutdownNow();
    }

    private record W(long offset, int length, byte fill) implements OverlapOrderedWrites.Write {
    }

    @Test
    void batchesCrowdedWithOverlapsEndAsIfWrittenInOrder() throws Exception {
        SplittableRandom r = new SplittableRandom(17);
        AtomicInteger inFlight = new AtomicInteger();
        AtomicInteger maxInFlight = new AtomicInteger();
        int disk = 64 << 10;
        for (int round = 0; round < 300; round++) {
            int lanes = 2 + r.nextInt(3);
            List<W> writes = new ArrayList<>();
            int n = 4 + r.nextInt(40);
            int hot = r.nextBoolean() ? disk : 8 << 10; // half the rounds in a small hot region: most writes overlap
            for (int i = 0; i < n; i++) {
                int len = 512 * (1 + r.nextInt(8));
                long off = 512L * r.nextInt((hot - len) / 512 + 1);
                writes.add(new W(off, len, (byte) (i + 1)));
            }
            byte[] model = new byte[disk];
            for (W w : writes) {
                Arrays.fill(model, (int) w.offset(), (int) w.offset() + w.length(), w.fill());
            }
            byte[] device = new byte[disk];
            long seed = r.nextLong();
            OverlapOrderedWrites.run(writes, lanes, POOL, (i, lane) -> {
                maxInFlight.accumulateAndGet(inFlight.incrementAndGet(), Math::max);
                try {
                    W w = writes.get(i);
                    int half = w.length() / 2;
                    Arrays.fill(device, (int) w.offset(), (int) w.offset() + half, w.fill());
                    LockSupport.parkNanos(new SplittableRandom(seed + i).nextInt(200_000)); // up to 0.2 ms
                    Arrays.fill(device, (int) w.offset() + half, (int) w.offset() + w.length(), w.fill());
                } finally {
                    inFlight.decrementAndGet();
                }
            });
            // The lanes' writes happen-before run() returns (it joins their futures).
            assertThat(device).as("round %d, %d writes in %d lanes", round, n, lanes).isEqualTo(model);
        }
        assertThat(maxInFlight.get()).as("writes really under way at once").isGreaterThan(1);
    }

    @Test
    void aFailedWriteStopsTheLanesAndIsThrownAfterAllOfThemEnded() {
        List<W> writes = new ArrayList<>();
        for (int i = 0; i < 200; i++) {
            writes.add(new W(512L * i, 512, (byte) 1));
        }
        AtomicInteger started = new AtomicInteger();
        AtomicInteger running = new AtomicInteger();
        assertThatThrownBy(() -> OverlapOrderedWrites.run(writes, 3, POOL, (i, lane) -> {
            started.incrementAndGet();
            running.incrementAndGet();
            try {
                // 1 ms per write after the failing one: the 179 after it would take the other lanes ~90 ms, far
                // longer than recording the failure, even on a loaded machine.
                LockSupport.parkNanos(i > 20 ? 1_000_000 : 100_000);
                if (i == 20) {
                    throw new IOException("injected failure of write " + i);
                }
            } finally {
                running.decrementAndGet();
            }
        })).isInstanceOf(IOException.class).hasMessage("injected failure of write 20");
        assertThat(running.get()).as("no lane still writing when run() threw").isZero();
        assertThat(started.get()).as("the lanes stopped taking writes after the failure").isLessThan(200);
    }

    @Test
    void oneLaneRunsEverythingOnTheCallingThreadInOrder() throws Exception {
        List<W> writes = new ArrayList<>();
        for (int i = 0; i < 50; i++) {
            writes.add(new W(0, 512, (byte) i));
        }
        List<Integer> order = new ArrayList<>();
        Thread caller = Thread.currentThread();
        OverlapOrderedWrites.run(writes, 1, POOL, (i, lane) -> {
            assertThat(Thread.currentThread()).isSameAs(caller);
            order.add(i);
        });
        assertThat(order).hasSize(50).isSorted();
    }
}
