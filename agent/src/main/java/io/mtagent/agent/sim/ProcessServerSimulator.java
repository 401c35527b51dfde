package io.mtagent.agent.sim;

import io.mtagent.protocol.TagType;
import io.mtagent.protocol.client.DiskStream;
import io.netty.buffer.Unpooled;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A built-in process server: one thread per disk stream sends a {@link WorkloadGenerator} mix with
 * crash-consistent tags every 25 writes and app-consistent tags every 250, and records every write in that
 * disk's {@link DiskModel} in sequence order. Used by {@code mtagent demo} and the tests.
 *
 * <p>Thread-safe counters; each model is written only by its disk's thread.
 */
public final class ProcessServerSimulator {
    private final List<DiskStream> streams;
    private final List<DiskModel> models;
    private final long seed;
    private final AtomicLong bytesSent = new AtomicLong();
    private final AtomicLong writesSent = new AtomicLong();
    private final AtomicLong tagsSent = new AtomicLong();
    private final AtomicReference<Throwable> failure = new AtomicReference<>();
    private final List<Thread> threads = new ArrayList<>();
    private volatile boolean stop;
    private volatile boolean captureNextAppPoint;
    private volatile long capturedSeq;
    private volatile byte[] capturedImage;

    public ProcessServerSimulator(List<DiskStream> streams, List<DiskModel> models, long seed) {
        this.streams = streams;
        this.models = models;
        this.seed = seed;
    }

    /** Starts one sender thread per disk; they run until {@link #stop()} (or {@code maxWritesPerDisk}). */
    public void start(int maxWrite, long maxWritesPerDisk) {
        for (int i = 0; i < streams.size(); i++) {
            DiskStream s = streams.get(i);
            DiskModel m = models.get(i);
            WorkloadGenerator gen = new WorkloadGenerator(seed + i, m.size(), maxWrite);
            Thread t = new Thread(() -> run(s, m, gen, maxWritesPerDisk), "sim-" + s.diskId());
            t.setDaemon(true);
            threads.add(t);
            t.start();
        }
    }

    private void run(DiskStream s, DiskModel model, WorkloadGenerator gen, long maxWrites) {
        try {
            for (long n = 1; !stop && n <= maxWrites; n++) {
                WorkloadGenerator.Change c = gen.next();
                long now = System.currentTimeMillis() * 1000;
                s.write(c.offset(), Unpooled.wrappedBuffer(c.data()), now);
                model.apply(c.offset(), c.data());
                bytesSent.addAndGet(c.data().length);
                writesSent.incrementAndGet();
                if (n % 25 == 0) {
                    boolean app = n % 250 == 0;
                    long seq = s.tag(app ? TagType.APP_CONSISTENT : TagType.CRASH_CONSISTENT, "sim-" + n, now);
                    tagsSent.incrementAndGet();
                    if (app && captureNextAppPoint && s == streams.get(0)) {
                        capturedImage = model.snapshot();
                        capturedSeq = seq;
                        captureNextAppPoint = false;
                    }
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (Throwable e) {
            failure.compareAndSet(null, e);
        }
    }

    /** Stops sending and waits for the threads; then waits until everything sent is acknowledged. */
    public void stopAndFlush(Duration timeout) throws Exception {
        stop = true;
        for (Thread t : threads) {
            t.join(timeout.toMillis());
        }
        if (failure.get() != null) {
            throw new IllegalStateException("simulated process server failed: " + failure.get(), failure.get());
        }
        for (DiskStream s : streams) {
            s.flush(timeout);
        }
    }

    /** Waits for the sender threads to finish their fixed number of writes. */
    public void join(Duration timeout) throws Exception {
        for (Thread t : threads) {
            t.join(timeout.toMillis());
            if (t.isAlive()) {
                throw new IllegalStateException(t.getName() + " still running after " + timeout);
            }
        }
        if (failure.get() != null) {
            throw new IllegalStateException("simulated process server failed: " + failure.get(), failure.get());
        }
    }

    /** Asks the first disk's sender to remember the disk image at its next app-consistent tag. */
    public void captureNextAppPoint() {
        captureNextAppPoint = true;
    }

    /** The sequence number of the captured app-consistent tag, or 0 when none was captured. */
    public long capturedSeq() { return capturedSeq; }

    /** The first disk's image at {@link #capturedSeq()}. */
    public byte[] capturedImage() { return capturedImage; }

    public Throwable failure() { return failure.get(); }
    public long bytesSent() { return bytesSent.get(); }
    public long writesSent() { return writesSent.get(); }
    public long tagsSent() { return tagsSent.get(); }
}
