package io.mtagent.protocol.client;

import io.mtagent.protocol.ResyncFrames;
import io.netty.buffer.Unpooled;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;

/**
 * The process-server side of a resync (SPEC.md §12): RESYNC_START, then for each range of chunks the agent's
 * digests (CHECKSUM_REQUEST, a few requests in flight ahead) compared with the source's, a resync write for each
 * chunk that differs, a RESYNC_PROGRESS after each range, and RESYNC_END. A resync the agent reports in progress
 * (RESYNC_STATE) is resumed at its durable offset instead of starting over.
 *
 * <p><b>Ordering rule.</b> Each range is read from the source and its differing chunks sent while holding
 * {@link DiskStream#sourceOrderLock()}, after the agent's digests for it arrived; a live writer holding the same
 * lock around "change the source, send the write" then never crosses a resync write of the same range.
 *
 * <p><b>Passes.</b> With {@code maxPasses > 1} the source is read again after the first pass and every chunk
 * whose content changed since it was compared is sent again; when a pass finds no change, the target equals the
 * image the source had at the end of the previous pass (a consistent end marker). Otherwise the end marker says
 * "not consistent". One instance runs one resync; not thread-safe.
 */
public final class Resync {
    /** How to run it. */
    public record Options(ResyncFrames.Mode mode, int chunkSize, long bytesPerSecond, int maxPasses, String endName,
                          boolean consistentSource, Duration ackTimeout, Consumer<Progress> progress) {
        public static Options defaults() {
            return new Options(ResyncFrames.Mode.DIFFERENTIAL, ResyncFrames.MAX_CHUNK_SIZE, 0, 1, "", true,
                    Duration.ofMinutes(10), p -> { });
        }

        public Options withMode(ResyncFrames.Mode m) {
            return new Options(m, chunkSize, bytesPerSecond, maxPasses, endName, consistentSource, ackTimeout, progress);
        }

        public Options withChunkSize(int c) {
            return new Options(mode, c, bytesPerSecond, maxPasses, endName, consistentSource, ackTimeout, progress);
        }

        public Options withRate(long bps) {
            return new Options(mode, chunkSize, bps, maxPasses, endName, consistentSource, ackTimeout, progress);
        }

        /** {@code passes > 1}: re-check the source for chunks that changed during the run (snapshot-style send). */
        public Options withPasses(int passes) {
            return new Options(mode, chunkSize, bytesPerSecond, passes, endName, consistentSource, ackTimeout, progress);
        }

        public Options withEndName(String n) {
            return new Options(mode, chunkSize, bytesPerSecond, maxPasses, n, consistentSource, ackTimeout, progress);
        }

        /** false: the caller cannot vouch that the source stood still; only a converged second pass makes it consistent. */
        public Options withConsistentSource(boolean c) {
            return new Options(mode, chunkSize, bytesPerSecond, maxPasses, endName, c, ackTimeout, progress);
        }

        public Options withProgress(Consumer<Progress> p) {
            return new Options(mode, chunkSize, bytesPerSecond, maxPasses, endName, consistentSource, ackTimeout, p);
        }
    }

    /** A progress report, after each range. */
    public record Progress(int pass, long doneOffset, long endOffset, long bytesCompared, long chunksDiffering,
                           long bytesSent, double seconds) {
    }

    /**
     * What a resync did.
     *
     * @param bytesSent uncompressed bytes of resync writes sent
     * @param wireBytesSent the resync writes' bytes on the wire (compressed data and headers)
     * @param checksumBytes CHECKSUM_REQUEST and CHECKSUMS bytes (both directions)
     * @param consistent whether the end marker is a recovery point (source frozen, or a pass found no change)
     * @param resumedFrom offset where this run started (past 0 when it resumed an interrupted resync)
     */
    public record Result(long resyncId, ResyncFrames.Mode mode, int chunkSize, long bytesCompared, long chunksCompared,
                         long chunksDiffering, long bytesSent, long wireBytesSent, long checksumBytes, int passes,
                         long chunksChangedInLastPass, boolean consistent, long resumedFrom, long endSeq,
                         double seconds) {
    }

    /** Most bytes per CHECKSUM_REQUEST and per RESYNC_PROGRESS: 8 MiB (at most 4,096 chunks). */
    static final long MAX_RANGE_BYTES = 8L << 20;
    /** The range per request/progress marker: about 1/64 of the resync (so a small disk still resumes mid-way). */
    private long rangeBytes = MAX_RANGE_BYTES;

    private void sizeRanges(long bytes, int chunk) {
        long r = Math.max(chunk, Math.min(MAX_RANGE_BYTES, bytes / 64) / chunk * chunk);
        rangeBytes = r;
    }
    /** Requests kept in flight ahead of the comparison (the agent allows 4 per handle). */
    static final int AHEAD = 3;
    private static final SecureRandom RANDOM = new SecureRandom();

    private final DiskStream stream;
    private final SourceDevice source;
    private final Options options;
    private final MessageDigest sha;
    private long bytesCompared;
    private long chunksCompared;
    private long chunksDiffering;
    private long bytesSent;
    private long wireBytesSent;
    private long rateStartNanos;

    public Resync(DiskStream stream, SourceDevice source, Options options) {
        this.stream = stream;
        this.source = source;
        this.options = options;
        try {
            this.sha = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    public Result run() throws ReplicationException, InterruptedException, IOException, TimeoutException {
        long size = stream.sizeBytes();
        if (source.size() != size) {
            throw new IllegalArgumentException("source is " + source.size() + " bytes but disk " + stream.diskId()
                    + " on the agent is " + size + " bytes; a resync needs equal sizes");
        }
        long t0 = System.nanoTime();
        rateStartNanos = t0;
        long checksum0 = stream.checksumTrafficBytes();
        ResyncFrames.ResyncState resume = stream.resyncState();
        long id;
        ResyncFrames.Mode mode;
        int chunk;
        long from;
        long end;
        if (resume != null) {
            id = resume.resyncId();
            mode = resume.mode();
            chunk = resume.chunkSize();
            from = resume.doneOffset();
            end = resume.offset() + resume.length();
        } else {
            id = RANDOM.nextLong() & Long.MAX_VALUE | 1;
            mode = options.mode();
            chunk = options.chunkSize();
            from = 0;
            end = size;
            stream.resyncStart(id, mode, chunk, 0, size);
        }
        long resumedFrom = from;
        sizeRanges(end - from, chunk);
        int chunks = (int) ((end - from + chunk - 1) / chunk);
        byte[] sourceDigests = options.maxPasses() > 1 ? new byte[chunks * ResyncFrames.DIGEST_LENGTH] : null;
        // Pass 1: compare with the agent's digests (or send everything in full mode).
        ArrayDeque<CompletableFuture<DiskStream.Digests>> ahead = new ArrayDeque<>();
        long nextRequest = from;
        for (long pos = from; pos < end; ) {
            long len = Math.min(rangeBytes, end - pos);
            DiskStream.Digests theirs = null;
            if (mode != ResyncFrames.Mode.FULL) {
                while (ahead.size() < AHEAD && nextRequest < end) {
                    long l = Math.min(rangeBytes, end - nextRequest);
                    ahead.add(stream.checksums(nextRequest, l, chunk));
                    nextRequest += l;
                }
                theirs = await(ahead.poll());
            }
            compareAndSend(pos, len, chunk, theirs, sourceDigests, (int) ((pos - from) / chunk));
            pos += len;
            stream.resyncProgress(id, pos);
            options.progress().accept(new Progress(1, pos, end, bytesCompared, chunksDiffering, bytesSent, seconds(t0)));
        }
        // Further passes: only chunks whose source content changed since they were compared.
        int passes = 1;
        long changed = 0;
        boolean consistent = options.consistentSource();
        if (sourceDigests != null) {
            consistent = false;
            while (passes < options.maxPasses()) {
                passes++;
                changed = recheck(from, end, chunk, sourceDigests, passes, t0);
                if (changed == 0) {
                    // A resumed run compared only from its resume offset in this process, so the chunks before
                    // it were not re-checked: it cannot vouch for one instant of the source. Run again.
                    consistent = resume == null || resume.doneOffset() <= resume.offset();
                    break;
                }
            }
        }
        long endSeq = stream.resyncEnd(id, consistent, options.endName());
        stream.awaitAcked(endSeq, options.ackTimeout());
        return new Result(id, mode, chunk, bytesCompared, chunksCompared, chunksDiffering, bytesSent, wireBytesSent,
                stream.checksumTrafficBytes() - checksum0, passes, changed, consistent, resumedFrom, endSeq, seconds(t0));
    }

    private static double seconds(long t0) {
        return (System.nanoTime() - t0) / 1e9;
    }

    private DiskStream.Digests await(CompletableFuture<DiskStream.Digests> f) throws ReplicationException,
            InterruptedException {
        try {
            return f.get();
        } catch (ExecutionException e) {
            if (e.getCause() instanceof ReplicationException re) {
                throw re;
            }
            throw new ReplicationException("checksums failed: " + e.getCause(), e.getCause());
        }
    }

    /** Reads [pos, pos+len) under the ordering lock and sends each chunk that differs from {@code theirs}. */
    private void compareAndSend(long pos, long len, int chunk, DiskStream.Digests theirs, byte[] sourceDigests,
                                int firstIndex) throws IOException, ReplicationException, InterruptedException {
        stream.sourceOrderLock().lock();
        try {
            ByteBuffer buf = readSource(pos, (int) len);
            int n = (int) ((len + chunk - 1) / chunk);
            for (int i = 0; i < n; i++) {
                int lo = i * chunk;
                int hi = (int) Math.min(len, lo + (long) chunk);
                byte[] mine = digest(buf, lo, hi);
                if (sourceDigests != null) {
                    System.arraycopy(mine, 0, sourceDigests, (firstIndex + i) * ResyncFrames.DIGEST_LENGTH,
                            ResyncFrames.DIGEST_LENGTH);
                }
                chunksCompared++;
                bytesCompared += hi - lo;
                if (theirs == null || !Arrays.equals(mine, theirs.digest(i))) {
                    chunksDiffering++;
                    send(pos + lo, buf, lo, hi);
                }
            }
        } finally {
            stream.sourceOrderLock().unlock();
        }
    }

    private long recheck(long from, long end, int chunk, byte[] sourceDigests, int pass, long t0)
            throws IOException, ReplicationException, InterruptedException {
        long changed = 0;
        for (long pos = from; pos < end; ) {
            long len = Math.min(rangeBytes, end - pos);
            stream.sourceOrderLock().lock();
            try {
                ByteBuffer buf = readSource(pos, (int) len);
                int n = (int) ((len + chunk - 1) / chunk);
                int first = (int) ((pos - from) / chunk);
                for (int i = 0; i < n; i++) {
                    int lo = i * chunk;
                    int hi = (int) Math.min(len, lo + (long) chunk);
                    byte[] mine = digest(buf, lo, hi);
                    int at = (first + i) * ResyncFrames.DIGEST_LENGTH;
                    if (!Arrays.equals(mine, 0, mine.length, sourceDigests, at, at + mine.length)) {
                        changed++;
                        System.arraycopy(mine, 0, sourceDigests, at, mine.length);
                        send(pos + lo, buf, lo, hi);
                    }
                }
            } finally {
                stream.sourceOrderLock().unlock();
            }
            pos += len;
            options.progress().accept(new Progress(pass, pos, end, bytesCompared, chunksDiffering, bytesSent, seconds(t0)));
        }
        return changed;
    }

    private ByteBuffer readBuf;

    private ByteBuffer readSource(long pos, int len) throws IOException {
        if (readBuf == null || readBuf.capacity() < len) {
            readBuf = ByteBuffer.allocateDirect(len);
        }
        readBuf.clear().limit(len);
        source.read(pos, readBuf);
        readBuf.flip();
        return readBuf;
    }

    private byte[] digest(ByteBuffer buf, int lo, int hi) {
        ByteBuffer slice = buf.duplicate();
        slice.limit(hi).position(lo);
        sha.update(slice);
        return sha.digest();
    }

    /** One resync write per max-write-sized piece of the chunk, rate-limited when asked. */
    private void send(long offset, ByteBuffer buf, int lo, int hi) throws ReplicationException, InterruptedException {
        int max = stream.maxWriteBytes();
        for (int p = lo; p < hi; p += max) {
            int q = Math.min(hi, p + max);
            ByteBuffer piece = buf.duplicate();
            piece.limit(q).position(p);
            long before = stream.wireBytesQueued();
            stream.resyncWrite(offset + (p - lo), Unpooled.wrappedBuffer(piece), System.currentTimeMillis() * 1000);
            wireBytesSent += stream.wireBytesQueued() - before;
            bytesSent += q - p;
            throttle();
        }
    }

    private void throttle() throws InterruptedException {
        long bps = options.bytesPerSecond();
        if (bps <= 0) {
            return;
        }
        long dueNanos = (long) (bytesSent * 1e9 / bps);
        long sleep = dueNanos - (System.nanoTime() - rateStartNanos);
        if (sleep > 0) {
            Thread.sleep(sleep / 1_000_000, (int) (sleep % 1_000_000));
        }
    }

    /**
     * Online verify (SPEC.md §12.8): compares the agent's digests of the whole disk with {@code source} while
     * replication may continue, and returns the differing ranges (chunk-aligned, adjacent chunks merged). A
     * difference is confirmed by asking again once the agent applied everything sent before the source was read.
     */
    public static List<long[]> verify(DiskStream stream, SourceDevice source, int chunk, Duration timeout)
            throws ReplicationException, InterruptedException, IOException, TimeoutException {
        Resync r = new Resync(stream, source, Options.defaults().withChunkSize(chunk));
        long size = stream.sizeBytes();
        r.sizeRanges(size, chunk);
        List<Long> suspects = new ArrayList<>();
        for (long pos = 0; pos < size; pos += r.rangeBytes) {
            long len = Math.min(r.rangeBytes, size - pos);
            DiskStream.Digests theirs = r.await(stream.checksums(pos, len, chunk));
            stream.sourceOrderLock().lock();
            try {
                ByteBuffer buf = r.readSource(pos, (int) len);
                for (int i = 0; i < theirs.count(); i++) {
                    int lo = i * chunk;
                    int hi = (int) Math.min(len, lo + (long) chunk);
                    if (!Arrays.equals(r.digest(buf, lo, hi), theirs.digest(i))) {
                        suspects.add(pos + lo);
                    }
                }
            } finally {
                stream.sourceOrderLock().unlock();
            }
        }
        // Confirm: the agent must have applied what was sent when the source was read, then compare again.
        List<long[]> out = new ArrayList<>();
        for (long off : suspects) {
            int len = (int) Math.min(chunk, size - off);
            long deadline = System.nanoTime() + timeout.toNanos();
            boolean differs;
            while (true) {
                long sent;
                ByteBuffer buf;
                stream.sourceOrderLock().lock();
                try {
                    sent = stream.nextSeq() - 1;
                    buf = r.readSource(off, len);
                } finally {
                    stream.sourceOrderLock().unlock();
                }
                byte[] mine = r.digest(buf, 0, len);
                DiskStream.Digests theirs = r.await(stream.checksums(off, len, chunk));
                differs = !Arrays.equals(mine, theirs.digest(0));
                if (!differs || theirs.minAppliedSeq() >= sent || System.nanoTime() > deadline) {
                    break;
                }
                Thread.sleep(20);
            }
            if (differs) {
                if (!out.isEmpty() && out.get(out.size() - 1)[1] == off) {
                    out.get(out.size() - 1)[1] = off + len;
                } else {
                    out.add(new long[] {off, off + len});
                }
            }
        }
        return out;
    }

    /**
     * Repairs the ranges an online verify found (mode "ranges"): RESYNC_START over the disk, the current source
     * content of each range as resync writes, RESYNC_END.
     */
    public static Result repair(DiskStream stream, SourceDevice source, List<long[]> ranges, int chunk, String endName)
            throws ReplicationException, InterruptedException, IOException, TimeoutException {
        Resync r = new Resync(stream, source, Options.defaults().withChunkSize(chunk).withMode(ResyncFrames.Mode.RANGES));
        r.rangeBytes = MAX_RANGE_BYTES;
        long t0 = System.nanoTime();
        long id = RANDOM.nextLong() & Long.MAX_VALUE | 1;
        stream.resyncStart(id, ResyncFrames.Mode.RANGES, chunk, 0, stream.sizeBytes());
        for (long[] range : ranges) {
            for (long pos = range[0]; pos < range[1]; pos += r.rangeBytes) {
                int len = (int) Math.min(r.rangeBytes, range[1] - pos);
                stream.sourceOrderLock().lock();
                try {
                    ByteBuffer buf = r.readSource(pos, len);
                    r.chunksDiffering += (len + chunk - 1) / chunk;
                    r.send(pos, buf, 0, len);
                } finally {
                    stream.sourceOrderLock().unlock();
                }
            }
        }
        long endSeq = stream.resyncEnd(id, true, endName);
        stream.awaitAcked(endSeq, Duration.ofMinutes(10));
        return new Result(id, ResyncFrames.Mode.RANGES, chunk, 0, 0, r.chunksDiffering, r.bytesSent, r.wireBytesSent,
                0, 1, 0, true, 0, endSeq, seconds(t0));
    }
}
