package io.mtagent.agent.ingest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mtagent.nativeio.AlignedBufferPool;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

class DirectPayloadBuffersTest {

    @Test
    void buffersAreAlignedDirectAndSizedToTheRequest() {
        DirectPayloadBuffers buffers = new DirectPayloadBuffers(8 << 20);
        try (DirectPayloadBuffers.Lease lease = buffers.lease()) {
            for (int size : new int[] {0, 1, 4095, 4096, 4097, 65536 + 7, 1 << 20}) {
                ByteBuffer b = lease.tryAcquire(size);
                assertThat(b).as("size %d", size).isNotNull();
                assertThat(AlignedBufferPool.isAligned(b, 4096)).as("aligned, size %d", size).isTrue();
                assertThat(b.position()).isZero();
                assertThat(b.limit()).isEqualTo(size);
                assertThat(b.capacity()).as("a power of two of at least 4096").isGreaterThanOrEqualTo(Math.max(4096, size));
                assertThat(Integer.bitCount(b.capacity())).isEqualTo(1);
            }
        }
        assertThat(buffers.inUseBytes()).as("closing the lease returns every buffer").isZero();
    }

    /** The budget caps buffers made, in use or idle; a full budget answers null (the heap fallback), never waits. */
    @Test
    void theBudgetIsNeverExceededAndReleasedBuffersAreReused() {
        DirectPayloadBuffers buffers = new DirectPayloadBuffers(64 << 10);
        List<ByteBuffer> first = new ArrayList<>();
        DirectPayloadBuffers.Lease lease = buffers.lease();
        for (int i = 0; i < 4; i++) {
            first.add(lease.tryAcquire(16 << 10));
        }
        assertThat(first).doesNotContainNull();
        assertThat(lease.tryAcquire(1)).as("budget full").isNull();
        assertThat(buffers.lease().tryAcquire(4096)).as("budget full for another lease too").isNull();
        assertThat(buffers.madeBytes()).isEqualTo(64 << 10);
        lease.close();
        lease.close(); // harmless
        assertThat(buffers.inUseBytes()).isZero();
        assertThat(buffers.madeBytes()).as("kept idle for reuse").isEqualTo(64 << 10);
        assertThatThrownBy(() -> lease.tryAcquire(1)).isInstanceOf(IllegalStateException.class);

        try (DirectPayloadBuffers.Lease again = buffers.lease()) {
            ByteBuffer b = again.tryAcquire(16 << 10);
            assertThat(first.stream().anyMatch(f -> f == b)).as("an idle buffer is reused, not a new one made").isTrue();
            assertThat(buffers.madeBytes()).isEqualTo(64 << 10);
        }
        try (DirectPayloadBuffers.Lease other = buffers.lease()) {
            ByteBuffer big = other.tryAcquire(64 << 10);
            assertThat(big).as("idle buffers of another size are dropped to make room").isNotNull();
            assertThat(buffers.madeBytes()).isEqualTo(64 << 10);
            assertThat(buffers.inUseBytes()).isEqualTo(64 << 10);
        }
        assertThat(new DirectPayloadBuffers(0).lease().tryAcquire(0)).as("a zero budget makes nothing").isNull();
        DirectPayloadBuffers.Lease shared = new DirectPayloadBuffers(1 << 20, 1 << 20).lease();
        assertThat(shared.takesBatchOf((1 << 20) - 1)).as("a quiet disk's small batch").isFalse();
        assertThat(shared.takesBatchOf(8 << 20)).as("a busy disk's batch").isTrue();
        assertThat(DirectPayloadBuffers.SHARED.lease().takesBatchOf(64 << 10)).as("the shared budget, 64 KiB")
                .isFalse();
    }

    /** Leases on several threads, closed on other threads than the ones that filled them: the sums stay right. */
    @Test
    void concurrentLeasesKeepTheBudgetAndReturnEverything() throws Exception {
        long budget = 1 << 20;
        DirectPayloadBuffers buffers = new DirectPayloadBuffers(budget);
        AtomicReference<Throwable> failure = new AtomicReference<>();
        List<Thread> threads = new ArrayList<>();
        for (int t = 0; t < 4; t++) {
            SplittableRandom r = new SplittableRandom(t);
            threads.add(new Thread(() -> {
                try {
                    for (int i = 0; i < 500; i++) {
                        DirectPayloadBuffers.Lease lease = buffers.lease();
                        for (int k = 0, n = 1 + r.nextInt(6); k < n; k++) {
                            ByteBuffer b = lease.tryAcquire(1 + r.nextInt(256 << 10));
                            if (b != null) {
                                b.put(0, (byte) 1).put(b.limit() - 1, (byte) 2); // usable to its limit
                            }
                            long made = buffers.madeBytes();
                            long inUse = buffers.inUseBytes();
                            if (made > budget || inUse > budget) {
                                throw new AssertionError("made " + made + ", in use " + inUse);
                            }
                        }
                        Thread closer = new Thread(lease::close);
                        closer.start();
                        closer.join();
                    }
                } catch (Throwable e) {
                    failure.compareAndSet(null, e);
                }
            }));
        }
        threads.forEach(Thread::start);
        for (Thread t : threads) {
            t.join();
        }
        assertThat(failure.get()).isNull();
        assertThat(buffers.inUseBytes()).isZero();
        assertThat(buffers.madeBytes()).isBetween(1L, budget);
    }
}
