package io.mtagent.agent.ingest;

import io.mtagent.agent.apply.ApplyStage;
import io.mtagent.nativeio.AlignedBufferPool;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

/**
 * Direct, 4096-aligned buffers that hold apply batches' payloads as read from the ingest log, under one byte
 * budget shared by every disk.
 *
 * <p>Why: the applier reads each record's payload straight into an aligned buffer and hands that buffer to the
 * O_DIRECT target write as it is (and the journaling stage overlays from it). The heap path it replaces zeroed a
 * new array per record (a humongous one for a 1 MiB write), copied the payload into it and copied it again into
 * an aligned buffer: three passes over every byte on the two cores the agent shares with TLS (bench/RESULTS.md).
 *
 * <p>Why a budget: a pipelined applier holds up to two batches ({@code 2 × apply.batch.bytes}, 16 MiB by
 * default); hundreds of disks each holding that in direct memory would not fit. Buffers made (in use or kept
 * idle for reuse) never exceed the budget; when a buffer does not fit, {@link Lease#tryAcquire} returns null and
 * the reader falls back to a heap array for that record. It never waits, so two batches of one disk can never
 * deadlock on the budget. Idle buffers of other sizes are dropped to make room before giving up.
 *
 * <p>Thread-safe. A {@link Lease} is taken by an applier for one batch and closed (releasing every buffer it
 * handed out) once nothing reads the batch any more: after it landed and the next batch's capture returned
 * ({@link ApplyStage}, payload lifetime).
 */
public final class DirectPayloadBuffers {
    /**
     * The budget every disk's appliers share: an eighth of the maximum heap, at most 64 MiB. The buffers stand in
     * for heap arrays the batches would otherwise take, so they scale with the heap the operator sized; 64 MiB
     * holds the two batches of four busy disks at the default batch size. With 256 disks and a 256 MiB heap that is
     * 32 MiB, inside the 512 MiB RSS target (bench/RESULTS.md, many-disks).
     */
    public static final long DEFAULT_BUDGET_BYTES = Math.min(64L << 20, Runtime.getRuntime().maxMemory() / 8);
    /**
     * Batches smaller than this (stored bytes) read onto the heap. Copies of a small batch cost little, and with
     * hundreds of quiet disks their small batches could keep the whole budget made and idle: many-disks with a
     * 256 MiB heap had 490 and 525 MiB RSS (medians of two series) against 451 without direct payloads, and
     * 450–460 with this rule (bench/RESULTS.md). A busy disk's batches are 8 MiB.
     */
    public static final long DEFAULT_MIN_BATCH_BYTES = 1 << 20;
    /** Shared by every applier in this process. */
    public static final DirectPayloadBuffers SHARED =
            new DirectPayloadBuffers(DEFAULT_BUDGET_BYTES, DEFAULT_MIN_BATCH_BYTES);

    private static final int MIN_CLASS = 12; // 4096 bytes: the alignment
    private static final int CLASSES = 31;

    private final long budget;
    private final long minBatchBytes;
    // Guarded by this.
    private long made;
    private long inUse;
    @SuppressWarnings("unchecked")
    private final ArrayDeque<ByteBuffer>[] idle = new ArrayDeque[CLASSES];

    /** A budget that takes batches of any size (tests). */
    public DirectPayloadBuffers(long budgetBytes) {
        this(budgetBytes, 0);
    }

    public DirectPayloadBuffers(long budgetBytes, long minBatchBytes) {
        if (budgetBytes < 0 || minBatchBytes < 0) {
            throw new IllegalArgumentException("budget and minimum batch must be >= 0, got " + budgetBytes + " and "
                    + minBatchBytes);
        }
        this.budget = budgetBytes;
        this.minBatchBytes = minBatchBytes;
        for (int i = 0; i < CLASSES; i++) {
            idle[i] = new ArrayDeque<>();
        }
    }

    /** A lease for one batch. */
    public Lease lease() {
        return new Lease();
    }

    /** Bytes of buffers handed out and not yet released (tests: a closed lease leaves nothing in use). */
    public synchronized long inUseBytes() {
        return inUse;
    }

    /** Bytes of buffers made and not dropped: in use plus kept idle. Never above the budget. */
    public synchronized long madeBytes() {
        return made;
    }

    private synchronized ByteBuffer tryAcquire(int size) {
        if (size < 0 || size > (1 << 30)) {
            throw new IllegalArgumentException("buffer size out of range: " + size);
        }
        int cls = Math.max(MIN_CLASS, 32 - Integer.numberOfLeadingZeros(Math.max(1, size) - 1));
        long cap = 1L << cls;
        ByteBuffer b = idle[cls].pollFirst();
        if (b == null) {
            for (int c = CLASSES - 1; c >= 0 && made + cap > budget; c--) {
                while (made + cap > budget && !idle[c].isEmpty()) {
                    idle[c].pollFirst(); // dropped: its native memory goes with the next GC
                    made -= 1L << c;
                }
            }
            if (made + cap > budget) {
                return null;
            }
            try {
                b = AlignedBufferPool.allocate((int) cap, AlignedBufferPool.DEFAULT_ALIGNMENT);
            } catch (OutOfMemoryError directMemoryFull) {
                // -XX:MaxDirectMemorySize below this budget plus the rest of the agent's direct buffers: the heap
                // fallback keeps the disk applying rather than failing it.
                return null;
            }
            made += cap;
        }
        inUse += cap;
        return b.clear().limit(size);
    }

    private synchronized void release(ByteBuffer b) {
        int cls = Integer.numberOfTrailingZeros(b.capacity());
        inUse -= b.capacity();
        idle[cls].addFirst(b);
    }

    /**
     * The buffers of one batch. {@link #tryAcquire} on the reading thread, {@link #close} once the batch is
     * written, possibly on another thread; closing twice is harmless. Thread-safe.
     */
    public final class Lease implements AutoCloseable {
        private final List<ByteBuffer> held = new ArrayList<>();
        private boolean closed;

        /** Whether a batch of {@code storedBytes} should read into direct buffers at all (else: the heap). */
        public boolean takesBatchOf(long storedBytes) {
            return storedBytes >= minBatchBytes;
        }

        /**
         * An aligned direct buffer with position 0 and limit {@code size}, contents undefined, or null when the
         * budget has no room (the caller uses the heap instead).
         */
        public synchronized ByteBuffer tryAcquire(int size) {
            if (closed) {
                throw new IllegalStateException("lease already closed");
            }
            ByteBuffer b = DirectPayloadBuffers.this.tryAcquire(size);
            if (b != null) {
                held.add(b);
            }
            return b;
        }

        /** Releases every buffer handed out; the batch's records must not be read after this. */
        @Override
        public synchronized void close() {
            if (closed) {
                return;
            }
            closed = true;
            for (ByteBuffer b : held) {
                release(b);
            }
            held.clear();
        }
    }
}
