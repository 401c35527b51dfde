package io.mtagent.agent.send;

import io.mtagent.nativeio.nbd.ByteRange;
import io.mtagent.nativeio.nbd.NbdClient;
import io.mtagent.protocol.ResyncFrames;
import io.mtagent.protocol.client.DiskStream;
import io.mtagent.protocol.client.ReplicationException;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;

/**
 * A baseline send of an NBD export that skips its holes: the export's {@code base:allocation} extents split the
 * disk into chunks that hold data and chunks that read as zeros. Data chunks are read (pipelined) and sent — or,
 * when the agent's disk already holds something, compared by SHA-256 with the agent's digests and sent only when
 * they differ. Zero chunks are never read: their digest on the agent is compared with the digest of zeros, and
 * only a chunk the target does not hold as zeros is sent (as zeros, which LZ4 shrinks to almost nothing). So a
 * sparse source costs its allocated bytes, and a target that held other data still ends equal to the source.
 *
 * <p>Runs as one differential resync (SPEC.md §12): RESYNC_START, the writes in offset order, a RESYNC_PROGRESS
 * every 32 MiB, RESYNC_END (consistent: the export is a frozen view). A cut-off baseline is not resumed: the next
 * run starts a new one, which supersedes it.
 */
final class AllocationBaseline {
    private static final SecureRandom RANDOM = new SecureRandom();
    /** Chunks per CHECKSUM_REQUEST (the agent takes at most 4,096). */
    private static final int WINDOW_CHUNKS = 1024;
    /** Checksum requests kept ahead (the agent allows 4 outstanding per disk). */
    private static final int AHEAD = 3;
    private static final long PROGRESS_EVERY = 32L << 20;

    private final NbdClient nbd;
    private final boolean allocationKnown;
    private final DiskStream stream;
    private final int chunk;
    private final SendOptions options;
    private final SendProgress progress;
    private final MessageDigest sha;
    private final long size;
    private final int chunks;
    private final BitSet data;
    private final boolean compareData;
    private final ArrayDeque<Window> ahead = new ArrayDeque<>();
    private int nextWindow;
    private ByteBuffer zeros;
    private byte[] zeroDigest;
    private byte[] shortZeroDigest;
    private ResyncWriter writer;
    private long resyncId;
    private long handled;
    private long marked;
    private long zeroChunksRewritten;

    private record Window(int index, CompletableFuture<DiskStream.Digests> digests) {
    }

    AllocationBaseline(NbdClient nbd, boolean allocationKnown, DiskStream stream, int chunk, SendOptions options,
                       SendProgress progress) throws Exception {
        this.nbd = nbd;
        this.allocationKnown = allocationKnown;
        this.stream = stream;
        this.chunk = chunk;
        this.options = options;
        this.progress = progress;
        this.sha = MessageDigest.getInstance("SHA-256");
        this.size = nbd.size();
        this.chunks = (int) ((size + chunk - 1) / chunk);
        this.data = new BitSet(chunks);
        // On a disk that never held a write every data chunk differs anyway: comparing would only cost the
        // agent a read of its target. Anywhere else (a re-baseline after needs-resync) compare, send less.
        this.compareData = stream.info().lastDurableSeq() != 0 && !options.full();
    }

    DiskReport run(String why) throws Exception {
        long t0 = System.nanoTime();
        long checksum0 = stream.checksumTrafficBytes();
        mapData();
        long allocated = dataBytes();
        progress.plan(size);
        zeros = ByteBuffer.allocateDirect(chunk);
        zeroDigest = digest(zeros, 0, chunk);
        int tail = (int) (size - (long) (chunks - 1) * chunk);
        shortZeroDigest = digest(zeros, 0, tail);
        writer = new ResyncWriter(stream, options.bytesPerSecond());
        resyncId = RANDOM.nextLong() & Long.MAX_VALUE | 1;
        stream.resyncStart(resyncId, ResyncFrames.Mode.DIFFERENTIAL, chunk, 0, size);
        int readBytes = Math.max(chunk, options.readBytes() / chunk * chunk);
        nbd.readRanges(dataRanges(), options.readDepth(), readBytes, (offset, buf) -> {
            zeroChunks(handled, offset);
            dataChunks(offset, buf);
            handled = offset + buf.limit();
            mark();
        });
        zeroChunks(handled, size);
        long endSeq = stream.resyncEnd(resyncId, true, options.endName());
        stream.awaitAcked(endSeq, Duration.ofMinutes(10));
        double secs = (System.nanoTime() - t0) / 1e9;
        String note = why;
        if (zeroChunksRewritten > 0) {
            String z = zeroChunksRewritten + " zero chunk(s) of the source were not zero on the agent and were sent";
            note = note == null ? z : note + "; " + z;
        }
        return new DiskReport(stream.diskId(), nbd.uri(), "baseline", note, size, allocated, allocated,
                writer.bytesSent(), writer.wireBytes(), stream.checksumTrafficBytes() - checksum0, true,
                options.endName(), endSeq, secs);
    }

    /** Marks every chunk that holds a byte base:allocation does not report as zero (all of them without it). */
    private void mapData() throws Exception {
        if (!allocationKnown) {
            data.set(0, chunks);
            return;
        }
        nbd.extents(0, size, NbdClient.BASE_ALLOCATION, (offset, length, flags) -> {
            if ((flags & NbdClient.STATE_ZERO) == 0) {
                data.set((int) (offset / chunk), (int) ((offset + length + chunk - 1) / chunk));
            }
        });
    }

    private long dataBytes() {
        long n = (long) data.cardinality() * chunk;
        if (data.get(chunks - 1)) {
            n -= (long) chunks * chunk - size;
        }
        return n;
    }

    /** The runs of data chunks as byte ranges, in order. */
    private List<ByteRange> dataRanges() {
        List<ByteRange> out = new ArrayList<>();
        for (int i = data.nextSetBit(0); i >= 0; ) {
            int end = data.nextClearBit(i);
            long from = (long) i * chunk;
            out.add(new ByteRange(from, Math.min(size, (long) end * chunk) - from));
            i = end >= chunks ? -1 : data.nextSetBit(end);
        }
        return out;
    }

    /** Data chunks read at {@code offset}: sent, or compared first when the target may already hold them. */
    private void dataChunks(long offset, ByteBuffer buf) throws Exception {
        int n = buf.limit();
        if (!compareData) {
            writer.send(offset, buf);
        } else {
            for (int lo = 0; lo < n; lo += chunk) {
                int hi = Math.min(n, lo + chunk);
                int index = (int) ((offset + lo) / chunk);
                byte[] theirs = digestOf(index);
                if (!Arrays.equals(digest(buf, lo, hi), theirs)) {
                    ByteBuffer piece = buf.duplicate();
                    piece.limit(hi).position(lo);
                    writer.send(offset + lo, piece);
                }
            }
        }
        progress.advance(n);
    }

    /** The zero chunks in [from, to): sent as zeros only where the agent's digest says the target is not zero. */
    private void zeroChunks(long from, long to) throws Exception {
        for (long pos = from; pos < to; pos += chunk) {
            int index = (int) (pos / chunk);
            int len = (int) Math.min(chunk, size - pos);
            byte[] expected = len == chunk ? zeroDigest : shortZeroDigest;
            if (!Arrays.equals(digestOf(index), expected)) {
                ByteBuffer z = zeros.duplicate();
                z.limit(len).position(0);
                writer.send(pos, z);
                zeroChunksRewritten++;
            }
            progress.advance(len);
            handled = pos + len;
            mark();
        }
    }

    /** The agent's digest of chunk {@code index}, requesting windows ahead as the send moves on. */
    private byte[] digestOf(int index) throws Exception {
        int w = index / WINDOW_CHUNKS;
        while (!ahead.isEmpty() && ahead.peekFirst().index() < w) {
            ahead.pollFirst();
        }
        int windows = (chunks + WINDOW_CHUNKS - 1) / WINDOW_CHUNKS;
        nextWindow = Math.max(nextWindow, w);
        while (ahead.size() < AHEAD && nextWindow < windows) {
            if (needsDigests(nextWindow)) {
                long off = (long) nextWindow * WINDOW_CHUNKS * chunk;
                long len = Math.min((long) WINDOW_CHUNKS * chunk, size - off);
                ahead.addLast(new Window(nextWindow, stream.checksums(off, len, chunk)));
            }
            nextWindow++;
        }
        Window first = ahead.peekFirst();
        if (first == null || first.index() != w) {
            throw new IllegalStateException("no digests requested for window " + w);
        }
        return await(first.digests()).digest(index - w * WINDOW_CHUNKS);
    }

    private boolean needsDigests(int window) {
        int from = window * WINDOW_CHUNKS;
        int to = Math.min(chunks, from + WINDOW_CHUNKS);
        return compareData || data.nextClearBit(from) < to;
    }

    private void mark() throws ReplicationException, InterruptedException {
        long done = handled / chunk * chunk;
        if (done - marked >= PROGRESS_EVERY) {
            stream.resyncProgress(resyncId, done);
            marked = done;
        }
    }

    private static DiskStream.Digests await(CompletableFuture<DiskStream.Digests> f) throws Exception {
        try {
            return f.get();
        } catch (ExecutionException e) {
            if (e.getCause() instanceof Exception cause) {
                throw cause;
            }
            throw e;
        }
    }

    private byte[] digest(ByteBuffer buf, int lo, int hi) {
        ByteBuffer slice = buf.duplicate();
        slice.limit(hi).position(lo);
        sha.update(slice);
        return sha.digest();
    }
}
