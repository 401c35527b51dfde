package io.mtagent.agent.retention;

import io.mtagent.agent.storage.IngestRecord;
import io.mtagent.nativeio.AlignedBufferPool;
import io.mtagent.nativeio.BlockDevice;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Reads one batch's before-images from the target ahead of the journal append, in order, on a pooled thread:
 * the target's random reads overlap the journal's appends instead of alternating with them on the applier thread
 * (fio's baseline runs them as separate jobs; bench/RESULTS.md). At most {@code depth} images are read ahead, each
 * in its own aligned direct buffer (the O_DIRECT read lands in it with no bounce copy).
 *
 * <p>Protocol: {@link #next()} returns the images in the order of the writes given; the caller hands each back
 * with {@link #done} before it asks for more than {@code depth}; {@link #close()} stops the reading thread and
 * waits for it, so no read of this batch is under way once it returns (the applier starts the batch's target writes
 * only after the capture returned). What is read is the target as it is while the previous batch may still land:
 * the caller overlays, exactly as for a read on its own thread.
 *
 * <p>{@link #next}, {@link #done} and {@link #close} are for one thread (the applier's); the reading runs on
 * another.
 */
final class BeforeImageReader implements AutoCloseable {
    /**
     * Threads for all disks: unbounded and queue-less, so one disk's slow target never delays another's reads; a
     * disk uses one only while it captures a batch, and idle threads end after 10 s.
     */
    private static final ExecutorService READERS = new ThreadPoolExecutor(0, Integer.MAX_VALUE, 10, TimeUnit.SECONDS,
            new SynchronousQueue<>(), r -> {
                Thread t = new Thread(r, "before-image-reader-" + Counter.N.incrementAndGet());
                t.setDaemon(true);
                return t;
            });
    /** Idle before-image buffers kept for the next batch, per size class, for all disks. */
    private static final AlignedBufferPool BUFFERS = new AlignedBufferPool(AlignedBufferPool.DEFAULT_ALIGNMENT, 16);

    private static final class Counter {
        static final AtomicInteger N = new AtomicInteger();
    }

    /** What the reading thread hands over: an image, or the failure that ended the reading. */
    private record Item(ByteBuffer image, IOException failure) {
    }

    private final List<ByteBuffer> buffers = new ArrayList<>();
    private final BlockingQueue<ByteBuffer> free;
    private final BlockingQueue<Item> filled;
    private final Future<?> task;
    private volatile boolean stopping;

    /**
     * Starts reading the before-image of each of {@code writes} (WRITE records, in apply order).
     *
     * @param depth images read ahead at most (buffers held); at least 1
     */
    BeforeImageReader(BlockDevice target, List<IngestRecord> writes, int depth) {
        int largest = 512;
        for (IngestRecord w : writes) {
            largest = Math.max(largest, w.length());
        }
        int n = Math.max(1, Math.min(depth, writes.size()));
        free = new ArrayBlockingQueue<>(n + 1);
        filled = new ArrayBlockingQueue<>(n + 1);
        for (int i = 0; i < n; i++) {
            ByteBuffer b = BUFFERS.acquire(largest);
            buffers.add(b);
            free.add(b);
        }
        task = READERS.submit(() -> read(target, writes));
    }

    private void read(BlockDevice target, List<IngestRecord> writes) {
        try {
            for (IngestRecord w : writes) {
                ByteBuffer b = free.take();
                if (stopping) {
                    return;
                }
                b.clear().limit(w.length());
                target.read(w.offset(), b.duplicate());
                filled.put(new Item(b, null));
            }
        } catch (IOException e) {
            filled.offer(new Item(null, e)); // room: at most n images are out, and the queue holds n + 1
        } catch (InterruptedException e) {
            filled.offer(new Item(null, new InterruptedIOException("before-image reader interrupted")));
        } catch (RuntimeException e) {
            filled.offer(new Item(null, new IOException("before-image read failed", e)));
        }
    }

    /** The next before-image (position 0, limit the write's length); throws the read's failure. */
    ByteBuffer next() throws IOException {
        Item item;
        try {
            item = filled.take();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while waiting for a before-image");
        }
        if (item.failure() != null) {
            throw item.failure();
        }
        return item.image();
    }

    /** Gives an image's buffer back for the next read. */
    void done(ByteBuffer image) {
        free.add(image);
    }

    /** Stops reading (when not all images were taken) and waits for the thread; the buffers go back to the pool. */
    @Override
    public void close() throws IOException {
        stopping = true;
        free.offer(ByteBuffer.allocate(0)); // wakes a reader waiting for a buffer; it sees stopping and ends
        try {
            task.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while stopping the before-image reader");
        } catch (ExecutionException e) {
            throw new IOException("before-image reader failed", e.getCause());
        }
        for (ByteBuffer b : buffers) {
            BUFFERS.release(b);
        }
    }
}
