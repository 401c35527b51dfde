package io.mtagent.nativeio;

import java.nio.ByteBuffer;
import java.util.ArrayDeque;

/**
 * Direct buffers whose address and capacity are multiples of an alignment (4096: enough for every logical
 * sector size and for O_DIRECT on every Linux file system), kept for reuse by power-of-two size class.
 *
 * <p>Why pooled: a direct buffer costs a zeroed native allocation plus a cleaner; the bounce and read-modify-write
 * paths need one per call. Why bounded: at most {@code maxPerClass} idle buffers per class are kept, so memory
 * stays bounded with hundreds of disks; extra buffers are left to the garbage collector.
 *
 * <p>Thread-safe. A buffer must be released at most once and not used after release.
 */
public final class AlignedBufferPool {
    public static final int DEFAULT_ALIGNMENT = 4096;
    private static final int CLASSES = 31;

    private final int alignment;
    private final int maxPerClass;
    private final ArrayDeque<ByteBuffer>[] free;

    /** A shared pool: 4096-aligned, four idle buffers per size class. */
    public static final AlignedBufferPool SHARED = new AlignedBufferPool(DEFAULT_ALIGNMENT, 4);

    @SuppressWarnings("unchecked")
    public AlignedBufferPool(int alignment, int maxPerClass) {
        if (alignment <= 0 || Integer.bitCount(alignment) != 1) {
            throw new IllegalArgumentException("alignment must be a power of two, got " + alignment);
        }
        this.alignment = alignment;
        this.maxPerClass = maxPerClass;
        this.free = new ArrayDeque[CLASSES];
        for (int i = 0; i < CLASSES; i++) {
            free[i] = new ArrayDeque<>();
        }
    }

    public int alignment() { return alignment; }

    /** Allocates a new aligned direct buffer of exactly {@code capacity} bytes (not pooled). */
    public static ByteBuffer allocate(int capacity, int alignment) {
        // alignedSlice rounds the start up and the end down: room for a whole extra alignment unit on each side.
        int rounded = (capacity + alignment - 1) & -alignment;
        return ByteBuffer.allocateDirect(rounded + alignment).alignedSlice(alignment).limit(capacity).slice();
    }

    /**
     * A buffer with position 0 and limit {@code size}; its capacity is {@code size} rounded up to a power of two
     * (at least the alignment). Contents are undefined.
     */
    public ByteBuffer acquire(int size) {
        if (size < 0 || size > (1 << 30)) {
            throw new IllegalArgumentException("buffer size out of range: " + size);
        }
        int cap = Math.max(alignment, size <= 1 ? 1 : Integer.highestOneBit(size - 1) << 1);
        int cls = Integer.numberOfTrailingZeros(cap);
        ByteBuffer b;
        synchronized (free[cls]) {
            b = free[cls].pollFirst();
        }
        if (b == null) {
            b = allocate(cap, alignment);
        }
        return b.clear().limit(size);
    }

    /** Returns a buffer from {@link #acquire}; kept if its class has room. */
    public void release(ByteBuffer b) {
        int cap = b.capacity();
        if (Integer.bitCount(cap) != 1 || cap < alignment) {
            return; // not one of ours
        }
        int cls = Integer.numberOfTrailingZeros(cap);
        synchronized (free[cls]) {
            if (free[cls].size() < maxPerClass) {
                free[cls].addFirst(b);
            }
        }
    }

    /** True when the buffer is direct and its current position is at an aligned address. */
    public static boolean isAligned(ByteBuffer b, int alignment) {
        return b.isDirect() && b.alignmentOffset(b.position(), alignment) == 0;
    }
}
