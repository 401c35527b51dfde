package io.mtagent.agent.bench;

import io.mtagent.protocol.TagType;
import io.mtagent.protocol.client.ClientOptions;
import io.mtagent.protocol.client.DiskStream;
import io.mtagent.protocol.client.ReplicationClient;
import io.netty.buffer.Unpooled;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Consumer;

/**
 * Drives an agent with a {@link BenchProfile}: opens the disks on {@code connections} clients, runs one sender
 * thread per disk for the duration (rate-limited and window-limited as asked), measures the latency from
 * sending each write to its acknowledgement, then waits until everything is acknowledged and, when an
 * {@link AgentProbe} is given, applied.
 *
 * <p>Not reusable: one {@link #run} per instance. Counters are written by the sender threads and read by the
 * progress reporter; per-disk counters have a single writer.
 */
public final class LoadRunner {
    private final LoadOptions options;
    private final ClientOptions client;
    private final List<String> diskIds;
    private final AgentProbe probe;
    private final LatencyHistogram latency = new LatencyHistogram();
    private final AtomicReference<Throwable> failure = new AtomicReference<>();
    private volatile boolean stop;

    /** What one run measured. Rates are over the time from the first write to the last ack (or apply). */
    public record Result(long bytes, long writes, long tags, double sendSeconds, double ackedSeconds,
                         double appliedSeconds, LatencyHistogram latency, double[] perDiskMbPerSecond,
                         boolean allAcked, long unacked, String failure) {
    }

    public LoadRunner(LoadOptions options, ClientOptions client, List<String> diskIds, AgentProbe probe) {
        this.options = options;
        this.client = client;
        this.diskIds = List.copyOf(diskIds);
        this.probe = probe;
    }

    /** One disk's sender and its counters. */
    private final class Sender implements Runnable {
        final DiskStream stream;
        final WritePattern pattern;
        final PayloadPool pool;
        final long rateBytesPerSecond;
        final int mask;
        final AtomicLongArray sentSeq;
        final AtomicLongArray sentNanos;
        volatile long bytes;
        volatile long writes;
        volatile long tags;
        volatile long lastSeq;

        Sender(DiskStream stream, int index, PayloadPool pool, long rateBytesPerSecond) {
            this.stream = stream;
            this.pattern = new WritePattern(options.profile(), stream.sizeBytes(), options.seed() + index);
            this.pool = pool;
            this.rateBytesPerSecond = rateBytesPerSecond;
            int ring = Integer.highestOneBit(Math.max(options.window(), 64)) * 4;
            this.mask = ring - 1;
            this.sentSeq = new AtomicLongArray(ring);
            this.sentNanos = new AtomicLongArray(ring);
            this.lastSeq = stream.nextSeq() - 1;
            stream.ackListener(this::acked);
        }

        /** On the client's I/O thread: one latency sample per acknowledged write still in the ring. */
        void acked(long previous, long now) {
            long t = System.nanoTime();
            for (long s = Math.max(previous + 1, now - mask); s <= now; s++) {
                int i = (int) (s & mask);
                if (sentSeq.get(i) == s) {
                    latency.record(t - sentNanos.get(i));
                }
            }
        }

        @Override
        public void run() {
            try {
                long start = System.nanoTime();
                long nextTag = options.tagSeconds() > 0 ? start + options.tagSeconds() * 1_000_000_000L : Long.MAX_VALUE;
                long sent = 0;
                byte[] data = pool.array();
                while (!stop) {
                    int length = pattern.length();
                    long offset = pattern.offset(length);
                    if (rateBytesPerSecond > 0) {
                        long due = start + (long) (sent * 1e9 / rateBytesPerSecond);
                        long wait = due - System.nanoTime();
                        if (wait > 0) {
                            LockSupport.parkNanos(Math.min(wait, 100_000_000L));
                            if (wait > 100_000_000L) {
                                // re-check stop at least every 100 ms; the write is re-drawn, harmless
                                continue;
                            }
                        }
                    }
                    long seq = stream.nextSeq();
                    if (seq - options.window() > stream.ackedSeq()) {
                        stream.awaitAcked(seq - options.window(), Duration.ofMinutes(2));
                    }
                    int i = (int) (seq & mask);
                    sentNanos.set(i, System.nanoTime());
                    sentSeq.set(i, seq);
                    int from = pool.sliceOffset(pattern.random(), length);
                    long got = stream.write(offset, Unpooled.wrappedBuffer(data, from, length),
                            System.currentTimeMillis() * 1000);
                    if (got != seq) {
                        throw new IllegalStateException("disk " + stream.diskId() + ": another writer on this stream");
                    }
                    sent += length;
                    bytes = sent;
                    writes++;
                    lastSeq = seq;
                    long now = System.nanoTime();
                    if (now >= nextTag) {
                        tags++;
                        boolean app = tags % 10 == 0;
                        lastSeq = stream.tag(app ? TagType.APP_CONSISTENT : TagType.CRASH_CONSISTENT, "bench-" + tags,
                                System.currentTimeMillis() * 1000);
                        nextTag = now + options.tagSeconds() * 1_000_000_000L;
                    }
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } catch (Throwable e) {
                failure.compareAndSet(null, e);
                stop = true;
            }
        }
    }

    /**
     * Runs the load and reports progress lines to {@code progress} about once a second.
     *
     * @throws Exception when the agent refuses the connection or a disk, or a sender fails
     */
    public Result run(Consumer<String> progress) throws Exception {
        List<ReplicationClient> clients = new ArrayList<>();
        try {
            for (int c = 0; c < options.connections(); c++) {
                clients.add(ReplicationClient.connect(client));
            }
            PayloadPool pool = new PayloadPool(16 << 20, options.profile().maxWriteBytes(), options.compressibility(),
                    options.seed());
            long perDiskRate = options.rateMbPerSecond() <= 0 ? 0
                    : (long) (options.rateMbPerSecond() * 1e6 / diskIds.size());
            List<Sender> senders = new ArrayList<>();
            for (int d = 0; d < diskIds.size(); d++) {
                DiskStream s = clients.get(d % clients.size()).openDisk(diskIds.get(d), options.epoch());
                senders.add(new Sender(s, d, pool, perDiskRate));
            }
            List<Thread> threads = new ArrayList<>();
            long t0 = System.nanoTime();
            for (Sender s : senders) {
                Thread t = new Thread(s, "bench-" + s.stream.diskId());
                t.setDaemon(true);
                threads.add(t);
                t.start();
            }
            long end = t0 + options.duration().toNanos();
            Progress p = new Progress(progress, senders, t0);
            while (System.nanoTime() < end && failure.get() == null) {
                Thread.sleep(Math.max(1, Math.min(1000, (end - System.nanoTime()) / 1_000_000)));
                p.report("sending");
            }
            stop = true;
            for (Thread t : threads) {
                t.join(120_000);
            }
            double sendSeconds = (System.nanoTime() - t0) / 1e9;
            if (failure.get() != null) {
                throw new IllegalStateException("the load failed: " + failure.get().getMessage(), failure.get());
            }
            boolean allAcked = true;
            long unacked = 0;
            for (Sender s : senders) {
                try {
                    s.stream.awaitAcked(s.lastSeq, Duration.ofMinutes(2));
                } catch (TimeoutException e) {
                    allAcked = false;
                }
                unacked += Math.max(0, s.lastSeq - s.stream.ackedSeq());
            }
            double ackedSeconds = (System.nanoTime() - t0) / 1e9;
            p.report("acknowledged");
            double appliedSeconds = Double.NaN;
            if (probe != null) {
                long deadline = System.nanoTime() + Duration.ofMinutes(5).toNanos();
                while (!applied(senders)) {
                    if (System.nanoTime() > deadline) {
                        throw new IllegalStateException("the agent did not apply everything within 5 minutes");
                    }
                    Thread.sleep(50);
                    p.report("applying");
                }
                appliedSeconds = (System.nanoTime() - t0) / 1e9;
            }
            p.done();
            long bytes = 0;
            long writes = 0;
            long tags = 0;
            double[] perDisk = new double[senders.size()];
            for (int i = 0; i < senders.size(); i++) {
                Sender s = senders.get(i);
                bytes += s.bytes;
                writes += s.writes;
                tags += s.tags;
                perDisk[i] = s.bytes / 1e6 / sendSeconds;
            }
            Arrays.sort(perDisk);
            return new Result(bytes, writes, tags, sendSeconds, ackedSeconds, appliedSeconds, latency, perDisk,
                    allAcked, unacked, null);
        } finally {
            for (ReplicationClient c : clients) {
                c.close();
            }
        }
    }

    private boolean applied(List<Sender> senders) throws Exception {
        Map<String, Long> seqs = probe.appliedSeqs();
        for (Sender s : senders) {
            Long a = seqs.get(s.stream.diskId());
            if (a == null || a < s.lastSeq) {
                return false;
            }
        }
        return true;
    }

    /** The live progress line: sent and acknowledged rates over the last interval. */
    private final class Progress {
        private final Consumer<String> out;
        private final List<Sender> senders;
        private final long t0;
        private long lastNanos;
        private long lastBytes;
        private long lastWrites;

        Progress(Consumer<String> out, List<Sender> senders, long t0) {
            this.out = out;
            this.senders = senders;
            this.t0 = t0;
            this.lastNanos = t0;
        }

        void report(String phase) {
            long now = System.nanoTime();
            if (now - lastNanos < 900_000_000L) {
                return;
            }
            long bytes = 0;
            long writes = 0;
            long unacked = 0;
            for (Sender s : senders) {
                bytes += s.bytes;
                writes += s.writes;
                unacked += Math.max(0, s.lastSeq - s.stream.ackedSeq());
            }
            double dt = (now - lastNanos) / 1e9;
            out.accept(String.format("bench %s [%5.1f s] %8.1f MB/s %9.0f writes/s, total %.0f MB, unacked %d,"
                            + " ack p99 %.1f ms", phase, (now - t0) / 1e9, (bytes - lastBytes) / 1e6 / dt,
                    (writes - lastWrites) / dt, bytes / 1e6, unacked, latency.percentile(0.99) / 1e6));
            lastNanos = now;
            lastBytes = bytes;
            lastWrites = writes;
        }

        void done() {
            out.accept(null);
        }
    }
}
