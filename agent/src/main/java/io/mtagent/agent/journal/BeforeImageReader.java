package io.mtagent.agent.journal;

import io.mtagent.agent.ingest.IngestRecord;
import io.mtagent.nativeio.AlignedBufferPool;
import io.mtagent.nativeio.BlockDevice;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
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
 * Reads one batch's before-images from the target ahead of the journal append, in order, on pooled threads:
 * the target's random reads overlap the journal's appends instead of alternating with them on the applier thread
 * (fio's baseline runs them as separate jobs; bench/RESULTS.md), and {@code lanes} reads are under way at once (a
 * device serves two concurrent reads faster than one after the other). At most {@code depth} images per lane are
 * read ahead, each in its own aligned direct buffer (the O_DIRECT read lands in it with no bounce copy).
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

    /**
     * One reading thread's share: the images whose index is {@code lane} modulo the lane count, in order, with its
     * own buffers. The consumer takes image i from lane i mod n, so each lane's FIFO keeps the overall order.
     */
    private static final class Lane {
        final BlockingQueue<ByteBuffer> free;
        final BlockingQueue<Item> filled;
        Future<?> task;

        Lane(int buffers) {
            free = new ArrayBlockingQueue<>(buffers + 1);
            filled = new ArrayBlockingQueue<>(buffers + 1);
        }
    }

    private final List<ByteBuffer> buffers = new ArrayList<>();
    /** Which lane each buffer belongs to (by identity: the lanes hand out the buffers themselves). */
    private final Map<ByteBuffer, Lane> laneOf = new IdentityHashMap<>();
    private final Lane[] lanes;
    private int taken;
    private volatile boolean stopping;

    /**
     * Starts reading the before-image of each of {@code writes} (WRITE records, in apply order).
     *
     * @param depth images read ahead at most per lane (buffers held); at least 1
     * @param lanes reads under way at once (threads); at least 1. Two reads in flight get more out of a device
     *              than one: 1.37 × the random-read rate of one on the bench machine's virtual disk (fio, 4 files)
     */
    BeforeImageReader(BlockDevice target, List<IngestRecord> writes, int depth, int lanes) {
        int largest = 512;
        for (IngestRecord w : writes) {
            largest = Math.max(largest, w.length());
        }
        int n = Math.max(1, Math.min(lanes, writes.size()));
        this.lanes = new Lane[n];
        for (int l = 0; l < n; l++) {
            int share = (writes.size() - l + n - 1) / n; // images of this lane
            int held = Math.max(1, Math.min(depth, share));
            Lane lane = new Lane(held);
            for (int i = 0; i < held; i++) {
                ByteBuffer b = BUFFERS.acquire(largest);
                buffers.add(b);
                laneOf.put(b, lane);
                lane.free.add(b);
            }
            this.lanes[l] = lane;
        }
        for (int l = 0; l < n; l++) {
            List<IngestRecord> mine = new ArrayList<>();
            for (int i = l; i < writes.size(); i += n) {
                mine.add(writes.get(i));
            }
            Lane lane = this.lanes[l];
            lane.task = READERS.submit(() -> read(target, mine, lane));
        }
    }

    private void read(BlockDevice target, List<IngestRecord> writes, Lane lane) {
        try {
            for (IngestRecord w : writes) {
                ByteBuffer b = lane.free.take();
                if (stopping) {
                    return;
                }
                b.clear().limit(w.length());
                target.read(w.offset(), b.duplicate());
                lane.filled.put(new Item(b, null));
            }
        } catch (IOException e) {
            lane.filled.offer(new Item(null, e)); // room: at most the lane's buffers are out, the queue holds one more
        } catch (InterruptedException e) {
            lane.filled.offer(new Item(null, new InterruptedIOException("before-image reader interrupted")));
        } catch (RuntimeException e) {
            lane.filled.offer(new Item(null, new IOException("before-image read failed", e)));
        }
    }

    /** The next before-image (position 0, limit the write's length); throws the read's failure. */
    ByteBuffer next() throws IOException {
        Item item;
        try {
            item = lanes[taken++ % lanes.length].filled.take();
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
        Lane lane = laneOf.get(image);
        if (lane == null) {
            throw new IllegalArgumentException("not an image of this reader");
        }
        lane.free.add(image);
    }

    /** Stops reading (when not all images were taken) and waits for the thread; the buffers go back to the pool. */
    @Override
    public void close() throws IOException {
        stopping = true;
        for (Lane lane : lanes) {
            lane.free.offer(ByteBuffer.allocate(0)); // wakes a reader waiting for a buffer; it sees stopping and ends
        }
        try {
            for (Lane lane : lanes) {
                lane.task.get();
            }
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
