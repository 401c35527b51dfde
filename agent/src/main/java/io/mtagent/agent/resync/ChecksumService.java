package io.mtagent.agent.resync;

import io.mtagent.agent.disk.ReplicatedDisk;
import io.mtagent.nativeio.AlignedBufferPool;
import io.mtagent.protocol.ResyncFrames;
import java.io.Closeable;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Answers CHECKSUM_REQUESTs (SPEC.md §12.4) for every disk of the agent on a bounded pool of hash workers.
 *
 * <ul>
 *   <li><b>Reads</b> the target in large sequential reads ({@link #READ_BYTES}, from page-aligned buffers so an
 *       O_DIRECT target takes them as they are), each between two of the applier's batches
 *       ({@link io.mtagent.agent.storage.Applier#readBetweenBatches}) so no chunk is torn by a concurrent apply.</li>
 *   <li><b>Bounded:</b> at most {@code threads} requests are hashed at once, agent-wide; the rest wait in order.
 *       With the {@link ByteRateLimiter}, that is what keeps hashing from starving other disks' appliers.</li>
 *   <li><b>Flow control:</b> before each CHECKSUMS frame the worker waits until the connection can take more
 *       ({@link Sink#awaitWritable}), so a slow process server slows only its own requests.</li>
 *   <li><b>SHA-256</b> through the JDK's {@link MessageDigest} (SHA-NI intrinsics on modern x86).</li>
 * </ul>
 * Thread-safe.
 */
public final class ChecksumService implements Closeable {
    private static final Logger LOG = Logger.getLogger(ChecksumService.class.getName());
    /** One read: 1 MiB, a multiple of every allowed chunk size. */
    public static final int READ_BYTES = ResyncFrames.MAX_CHUNK_SIZE;

    /** Where one request's answers go (the session's connection). */
    public interface Sink {
        /** Blocks until the peer can take another frame; false when the request is to be abandoned. */
        boolean awaitWritable() throws InterruptedException;

        void send(ResyncFrames.Checksums frame);

        /** Called exactly once per request, after its last frame or its failure ({@code error} null on success). */
        void finished(String error);
    }

    private final ExecutorService workers;
    private final ByteRateLimiter limiter;
    private final ThreadLocal<ByteBuffer> buffers = ThreadLocal.withInitial(
            () -> AlignedBufferPool.allocate(READ_BYTES, AlignedBufferPool.DEFAULT_ALIGNMENT));
    private final ThreadLocal<MessageDigest> sha = ThreadLocal.withInitial(ChecksumService::sha256);

    public ChecksumService(int threads, long bytesPerSecond) {
        AtomicInteger n = new AtomicInteger();
        this.workers = Executors.newFixedThreadPool(threads, r -> {
            Thread t = new Thread(r, "resync-hash-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        this.limiter = new ByteRateLimiter(bytesPerSecond);
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
            workers.execute(() -> run(disk, req, sink));
        } catch (RejectedExecutionException e) {
            sink.finished("the agent is shutting down");
        }
    }

    private void run(ReplicatedDisk disk, ResyncFrames.ChecksumRequest req, Sink sink) {
        String error = null;
        try {
            hash(disk, req, sink);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            error = "interrupted";
        } catch (Exception e) {
            LOG.log(Level.WARNING, "checksums of disk " + disk.id() + " at " + req.offset() + " failed", e);
            error = "reading the target failed: " + e.getMessage();
        } finally {
            sink.finished(error);
        }
    }

    private void hash(ReplicatedDisk disk, ResyncFrames.ChecksumRequest req, Sink sink) throws Exception {
        ByteBuffer buf = buffers.get();
        MessageDigest md = sha.get();
        int chunk = req.chunkSize();
        long end = req.offset() + req.length();
        ResyncStats stats = disk.resyncStats();
        for (long pos = req.offset(); pos < end; ) {
            int n = (int) Math.min(READ_BYTES, end - pos);
            limiter.acquire(n);
            buf.clear().limit(n);
            long at = pos;
            long seq = disk.applier().readBetweenBatches(t -> t.read(at, buf));
            int chunks = (n + chunk - 1) / chunk;
            byte[] digests = new byte[chunks * ResyncFrames.DIGEST_LENGTH];
            for (int i = 0; i < chunks; i++) {
                int from = i * chunk;
                int to = Math.min(n, from + chunk);
                buf.limit(to).position(from);
                md.update(buf);
                md.digest(digests, i * ResyncFrames.DIGEST_LENGTH, ResyncFrames.DIGEST_LENGTH);
            }
            stats.hashed(n, chunks);
            pos += n;
            if (!sink.awaitWritable()) {
                return;
            }
            sink.send(new ResyncFrames.Checksums(req.handle(), req.requestId(), at, seq,
                    pos >= end ? ResyncFrames.FLAG_LAST : 0, digests));
        }
    }

    @Override
    public void close() {
        workers.shutdownNow();
        try {
            workers.awaitTermination(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
