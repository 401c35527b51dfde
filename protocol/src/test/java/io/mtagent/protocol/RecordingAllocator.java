package io.mtagent.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.CompositeByteBuf;
import io.netty.buffer.UnpooledByteBufAllocator;
import java.util.ArrayList;
import java.util.List;

/**
 * A heap allocator that records every buffer it hands out and the largest capacity anybody asked for, so tests
 * can assert "no allocation driven by a length word" and "everything allocated was released" without the cost of
 * the paranoid leak detector. Backed by an {@link UnpooledByteBufAllocator} with leak detection off (capacities
 * are exact, nothing is pooled). Not thread-safe: one per event loop / test thread.
 */
final class RecordingAllocator implements ByteBufAllocator {
    private final UnpooledByteBufAllocator delegate = new UnpooledByteBufAllocator(false, true);
    private final List<ByteBuf> allocated = new ArrayList<>();
    private int largestRequest;
    private int requests;

    /** Forgets what was recorded (call between cases). */
    void reset() {
        allocated.clear();
        largestRequest = 0;
        requests = 0;
    }

    int largestRequest() { return largestRequest; }
    int requests() { return requests; }

    /** Every buffer allocated since the last reset, for refCnt checks. */
    List<ByteBuf> allocated() { return allocated; }

    /** The first allocated buffer still referenced, or null. */
    ByteBuf firstUnreleased() {
        for (ByteBuf b : allocated) {
            if (b.refCnt() != 0) {
                return b;
            }
        }
        return null;
    }

    private <T extends ByteBuf> T record(int initialCapacity, T buf) {
        requests++;
        largestRequest = Math.max(largestRequest, Math.max(initialCapacity, buf.capacity()));
        allocated.add(buf);
        return buf;
    }

    @Override public ByteBuf buffer() { return record(256, delegate.heapBuffer()); }
    @Override public ByteBuf buffer(int c) { return record(c, delegate.heapBuffer(c)); }
    @Override public ByteBuf buffer(int c, int max) { return record(c, delegate.heapBuffer(c, max)); }
    @Override public ByteBuf ioBuffer() { return buffer(); }
    @Override public ByteBuf ioBuffer(int c) { return buffer(c); }
    @Override public ByteBuf ioBuffer(int c, int max) { return buffer(c, max); }
    @Override public ByteBuf heapBuffer() { return buffer(); }
    @Override public ByteBuf heapBuffer(int c) { return buffer(c); }
    @Override public ByteBuf heapBuffer(int c, int max) { return buffer(c, max); }
    @Override public ByteBuf directBuffer() { return buffer(); }
    @Override public ByteBuf directBuffer(int c) { return buffer(c); }
    @Override public ByteBuf directBuffer(int c, int max) { return buffer(c, max); }
    @Override public CompositeByteBuf compositeBuffer() { return record(0, delegate.compositeHeapBuffer()); }
    @Override public CompositeByteBuf compositeBuffer(int n) { return record(0, delegate.compositeHeapBuffer(n)); }
    @Override public CompositeByteBuf compositeHeapBuffer() { return compositeBuffer(); }
    @Override public CompositeByteBuf compositeHeapBuffer(int n) { return compositeBuffer(n); }
    @Override public CompositeByteBuf compositeDirectBuffer() { return compositeBuffer(); }
    @Override public CompositeByteBuf compositeDirectBuffer(int n) { return compositeBuffer(n); }
    @Override public boolean isDirectBufferPooled() { return false; }
    @Override public int calculateNewCapacity(int minNewCapacity, int maxCapacity) {
        return delegate.calculateNewCapacity(minNewCapacity, maxCapacity);
    }
}
