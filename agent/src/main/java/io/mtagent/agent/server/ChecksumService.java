package io.mtagent.agent.server;

import io.mtagent.agent.disk.ReplicatedDisk;
import io.mtagent.agent.resync.ResyncStats;
import io.mtagent.nativeio.AlignedBufferPool;
import io.mtagent.protocol.ResyncFrames;
import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.security.DigestException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayDeque;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Answers CHECKSUM_REQUESTs (SPEC.md §12.4) for every disk of the agent, at the disk's sequential read rate.
 *
 * <p>A request is cut into units of {@link #READ_BYTES} (1 MiB). Each unit is read on an I/O thread and then
 * hashed on one of {@code threads} hash workers; {@link #READS_IN_FLIGHT} units of a request are under way at
 * once, so the device always has reads queued while the CPUs hash the units already read, and the units of one
 * request are hashed by every free worker. The request's own thread ({@code threads} of them, agent-wide) sends
 * the units' CHECKSUMS frames in order.
 *
 * <ul>
 *   <li><b>Reads</b> are large and sequential, into page-aligned buffers so an O_DIRECT target takes them as they
 *       are, each between two of the applier's batches ({@link io.mtagent.agent.apply.Applier#readBetweenBatches},
 *       a lock readers share) so no chunk is torn by a concurrent apply.</li>
 *   <li><b>Bounded:</b> at most {@code threads} requests are served at once and at most {@code threads} units are
 *       hashed at once, agent-wide (the rest wait in order): with the {@link ByteRateLimiter}, that is what keeps
 *       hashing from starving other disks' appliers. Memory: {@code threads × READS_IN_FLIGHT} buffers of 1 MiB.</li>
 *   <li><b>Flow control:</b> before each CHECKSUMS frame the request's thread waits until the connection can take
 *       more ({@link Sink#awaitWritable}), so a slow process server slows only its own requests.</li>
 *   <li><b>SHA-256</b> through the JDK's {@link MessageDigest} (SHA-NI intrinsics on modern x86): a guest cannot
 *       craft a collision to hide a difference.</li>
 * </ul>
 * Thread-safe.
 */
public final class ChecksumService implements Closeable {
    private static final Logger LOG = Logger.getLogger(ChecksumService.class.getName());
    /** One read: 1 MiB, a multiple of every allowed chunk size. */
    public static final int READ_BYTES = ResyncFrames.MAX_CHUNK_SIZE;
    /**
     * Units of one request read or hashed at once. A virtual disk reaches its sequential rate only with several
     * reads queued; four 1 MiB reads keep it busy while two cores hash.
     */
    static final int READS_IN_FLIGHT = 4;
    private static final AlignedBufferPool BUFFERS = new AlignedBufferPool(AlignedBufferPool.DEFAULT_ALIGNMENT, 16);

    /** Where one request's answers go (the session's connection). */
    public interface Sink {
        /** Blocks until the peer can take another frame; false when the request is to be abandoned. */
        boolean awaitWritable() throws InterruptedException;

        void send(ResyncFrames.Checksums frame);

        /** Called exactly once per request, after its last frame or its failure ({@code error} null on success). */
        void finished(String error);
    }

    /** One unit's answer: its offset, the seq the target reflected when it was read, the chunks' digests. */
    private record Unit(long offset, long seq, int bytes, int chunks, byte[] digests) {
    }

    private final ExecutorService requests;
    private final ExecutorService hashers;
    /** Reads only (they wait on the device): unbounded, since the units in flight bound them. */
    private final ExecutorService readers;
    private final ByteRateLimiter limiter;
    private final ThreadLocal<MessageDigest> sha = ThreadLocal.withInitial(ChecksumService::sha256);

    /**
     * @param threads requests served at once and units hashed at once ({@code resync.hash.threads})
     * @param bytesPerSecond read rate for all requests together, 0 for unlimited ({@code resync.hash.rate})
     */
    public ChecksumService(int threads, long bytesPerSecond) {
        this.requests = Executors.newFixedThreadPool(threads, named("resync-request-"));
        this.hashers = Executors.newFixedThreadPool(threads, named("resync-hash-"));
        this.readers = new ThreadPoolExecutor(0, Integer.MAX_VALUE, 10, TimeUnit.SECONDS, new SynchronousQueue<>(),
                named("resync-read-"));
        this.limiter = new ByteRateLimiter(bytesPerSecond);
    }

    private static ThreadFactory named(String prefix) {
        AtomicInteger n = new AtomicInteger();
        return r -> {
            Thread t = new Thread(r, prefix + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
    }

    static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JDK has no SHA-256", e);
        }
    }

    /** Queues one request; the request's range was checked by the session (aligned, inside the disk). */
    public void submit(ReplicatedDisk disk, ResyncFrames.ChecksumRequest req, Sink sink) {
        try {
            requests.execute(() -> run(disk, req, sink));
        } catch (RejectedExecutionException e) {
            sink.finished("the agent is shutting down");
        }
    }

    private void run(ReplicatedDisk disk, ResyncFrames.ChecksumRequest req, Sink sink) {
        String error = null;
        ArrayDeque<CompletableFuture<Unit>> ahead = new ArrayDeque<>();
        try {
            hash(disk, req, sink, ahead);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            error = "interrupted";
        } catch (Exception e) {
            Throwable cause = e instanceof ExecutionException || e instanceof CompletionException ? e.getCause() : e;
            LOG.log(Level.WARNING, "checksums of disk " + disk.id() + " at " + req.offset() + " failed", cause);
            error = "reading the target failed: " + cause.getMessage();
        } finally {
            for (CompletableFuture<Unit> f : ahead) {
                try {
                    f.join(); // an abandoned request's units finish (a few MiB) before their buffers go back
                } catch (RuntimeException ignored) {
                    // the first failure is the one reported
                }
            }
            sink.finished(error);
        }
    }

    private void hash(ReplicatedDisk disk, ResyncFrames.ChecksumRequest req, Sink sink,
                      ArrayDeque<CompletableFuture<Unit>> ahead) throws Exception {
        int chunk = req.chunkSize();
        long end = req.offset() + req.length();
        ResyncStats stats = disk.resyncStats();
        long next = req.offset();
        while (next < end || !ahead.isEmpty()) {
            while (ahead.size() < READS_IN_FLIGHT && next < end) {
                int n = (int) Math.min(READ_BYTES, end - next);
                limiter.acquire(n);
                ahead.add(unit(disk, next, n, chunk));
                next += n;
            }
            Unit u = ahead.poll().get();
            stats.hashed(u.bytes(), u.chunks());
            if (!sink.awaitWritable()) {
                return;
            }
            boolean last = u.offset() + u.bytes() >= end;
            sink.send(new ResyncFrames.Checksums(req.handle(), req.requestId(), u.offset(), u.seq(),
                    last ? ResyncFrames.FLAG_LAST : 0, u.digests()));
        }
    }

    /** Reads [{@code at}, +{@code n}) on an I/O thread, then hashes its chunks on a hash worker. */
    private CompletableFuture<Unit> unit(ReplicatedDisk disk, long at, int n, int chunk) {
        ByteBuffer buf = BUFFERS.acquire(n);
        CompletableFuture<Unit> f = CompletableFuture.supplyAsync(() -> {
            try {
                return disk.applyControl().readBetweenBatches(t -> t.read(at, buf.duplicate()));
            } catch (IOException e) {
                throw new CompletionException(e);
            }
        }, readers).thenApplyAsync(seq -> digest(buf, at, n, chunk, seq), hashers);
        // Never cancelled: it completes only after its read and its hash are over, so the buffer is free.
        return f.whenComplete((u, e) -> BUFFERS.release(buf));
    }

    private Unit digest(ByteBuffer buf, long at, int n, int chunk, long seq) {
        MessageDigest md = sha.get();
        int chunks = (n + chunk - 1) / chunk;
        byte[] digests = new byte[chunks * ResyncFrames.DIGEST_LENGTH];
        ByteBuffer b = buf.duplicate();
        for (int i = 0; i < chunks; i++) {
            int from = i * chunk;
            b.limit(Math.min(n, from + chunk)).position(from);
            md.update(b);
            try {
                md.digest(digests, i * ResyncFrames.DIGEST_LENGTH, ResyncFrames.DIGEST_LENGTH);
            } catch (DigestException e) {
                throw new IllegalStateException(e); // the array has room for every digest
            }
        }
        return new Unit(at, seq, n, chunks, digests);
    }

    @Override
    public void close() {
        requests.shutdownNow();
        hashers.shutdownNow();
        readers.shutdownNow();
        try {
            requests.awaitTermination(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
