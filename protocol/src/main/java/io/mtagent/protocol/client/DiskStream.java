package io.mtagent.protocol.client;

import io.mtagent.protocol.ErrorCode;
import io.mtagent.protocol.Frame;
import io.mtagent.protocol.Frames;
import io.mtagent.protocol.DiskState;
import io.mtagent.protocol.Protocol;
import io.mtagent.protocol.ResyncFrames;
import io.mtagent.protocol.TagType;
import io.mtagent.protocol.WriteFrame;
import io.mtagent.protocol.WritePayloads;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import java.io.IOException;
import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.LongFunction;
import java.util.function.Supplier;

/**
 * One disk's ordered stream of writes and tags on a {@link ReplicationClient}.
 *
 * <p>Sequence numbers are assigned here, one per WRITE or TAG, in call order. Every frame stays in memory
 * until the agent acknowledges it (ACK means durable), so that after a reconnect the unacknowledged tail is
 * re-sent from the agent's {@code lastDurableSeq + 1}. Memory is bounded by the agent's credit window: a call
 * blocks while the disk has no credit (SPEC.md §7), which is exactly per-disk back-pressure.
 *
 * <p>Thread-safe: any thread may call {@link #write}, {@link #tag} and {@link #awaitAcked}; calls on one stream
 * are serialised so sequence order equals send order.
 */
public final class DiskStream {
    private final ReplicationClient client;
    private final String diskId;
    private final long epoch;
    private final int handle;

    private final ReentrantLock lock = new ReentrantLock();
    /** Whether to offer this stream's next write to LZ4: an incompressible disk stops paying for the attempts. */
    private final CompressionBackoff compression = new CompressionBackoff();
    private final Condition changed = lock.newCondition();
    // Everything below is guarded by lock.
    /** Sequence numbers, credit and the unacknowledged frames. */
    private final StreamWindow window = new StreamWindow();
    private Channel channel;
    private ReplicationException stopped;
    private Frames.DiskOpened opened;
    private ResyncFrames.ResyncState resyncState;
    private final ReentrantLock sourceOrder = new ReentrantLock();
    private final ChecksumCalls calls;

    /**
     * Told when the acknowledged point advances (load generators measure ack latency with it). Called on the
     * client's I/O thread with the stream's lock held: it must be quick and must not call back into the stream.
     */
    @FunctionalInterface
    public interface AckListener {
        /** Every sequence number in {@code (previousAcked, newAcked]} is now durable on the agent. */
        void acked(long previousAcked, long newAcked);
    }

    private volatile AckListener ackListener;

    DiskStream(ReplicationClient client, String diskId, long epoch, int handle) {
        this.client = client;
        this.diskId = diskId;
        this.epoch = epoch;
        this.handle = handle;
        this.calls = new ChecksumCalls(diskId);
    }

    public String diskId() { return diskId; }
    public long epoch() { return epoch; }
    int handle() { return handle; }

    /** What the agent said when the disk was (re)opened last: size, sector size, state, durable point. */
    public Frames.DiskOpened info() {
        return locked(() -> opened);
    }

    public long sizeBytes() { return info().sizeBytes(); }
    public DiskState state() { return info().state(); }

    /** Highest sequence number the agent has acknowledged as durable. */
    public long ackedSeq() {
        return locked(() -> window.ackedSeq());
    }

    /** The sequence number the next write or tag will get. */
    public long nextSeq() {
        return locked(() -> window.nextSeq());
    }

    /** Bytes still unacknowledged (kept for re-sending). */
    public int unackedFrames() {
        return locked(() -> window.unackedFrames());
    }

    /** The error that stopped this stream (needs-resync, refused write, fencing), or null. */
    public ReplicationException stoppedBy() {
        return locked(() -> stopped);
    }

    /**
     * The lock a process server holds from "read a chunk of the source" to "send its resync write", and from
     * "capture a live write" to "send it", so that a chunk is read only after every earlier live write to it was
     * sent and every later one follows its resync write (SPEC.md §12.5). {@link Resync} takes it per chunk;
     * a live writer that runs during a resync must take it too. Not used by the stream itself.
     */
    public ReentrantLock sourceOrderLock() {
        return sourceOrder;
    }

    /** The resync the agent reported in progress at the last (re)open (RESYNC_STATE), or null. */
    public ResyncFrames.ResyncState resyncState() {
        return locked(() -> resyncState);
    }

    /**
     * Differential resync of this disk from {@code source} (SPEC.md §12): compares checksums chunk by chunk and
     * sends only the chunks that differ, resuming a resync the agent reports in progress. Blocks until the end
     * marker is acknowledged.
     */
    public Resync.Result resync(SourceDevice source) throws ReplicationException, InterruptedException,
            IOException, TimeoutException {
        return new Resync(this, source, Resync.Options.defaults()).run();
    }

    /** A resync with explicit options (mode, chunk size, rate, passes, end-marker name). */
    public Resync.Result resync(SourceDevice source, Resync.Options options) throws ReplicationException,
            InterruptedException, IOException, TimeoutException {
        return new Resync(this, source, options).run();
    }

    /** Sets (or with null clears) the listener told about every advance of the acknowledged point. */
    public void ackListener(AckListener listener) {
        this.ackListener = listener;
    }

    /** Writes {@code data} at {@code offset} with the source time now. */
    public long write(long offset, byte[] data) throws ReplicationException, InterruptedException {
        return write(offset, Unpooled.wrappedBuffer(data), System.currentTimeMillis() * 1000);
    }

    /**
     * Sends one WRITE of {@code data}'s readable bytes (not consumed, not released) and returns its sequence
     * number. Blocks while the disk has no credit. Returns once the frame is queued for sending, not when it is
     * durable: use {@link #awaitAcked}.
     *
     * @throws ReplicationException if the stream was stopped by the agent or the connection is down (then the
     *         write was not assigned a sequence number and can be retried after {@link ReplicationClient#reconnect})
     */
    public long write(long offset, ByteBuf data, long timestampMicros) throws ReplicationException, InterruptedException {
        return write(offset, data, timestampMicros, 0);
    }

    /**
     * Sends one resync write (WRITE with the RESYNC flag, protocol v2) between {@link #resyncStart} and
     * {@link #resyncEnd}; otherwise as {@link #write(long, ByteBuf, long)}.
     */
    public long resyncWrite(long offset, ByteBuf data, long timestampMicros) throws ReplicationException,
            InterruptedException {
        requireV2("a resync write");
        return write(offset, data, timestampMicros, Protocol.FLAG_RESYNC);
    }

    private long write(long offset, ByteBuf data, long timestampMicros, int extraFlags) throws ReplicationException,
            InterruptedException {
        boolean tryLz4 = client.options().compress && compression.shouldTry();
        WriteFrame encoded = WritePayloads.encode(client.alloc(), handle, 0, timestampMicros, offset, data, tryLz4);
        if (tryLz4 && encoded.length() >= WritePayloads.MIN_COMPRESS_BYTES) {
            compression.attempted(encoded.compressed());
        }
        try {
            lock.lock();
            try {
                long seq = window.nextSeq();
                WriteFrame frame = new WriteFrame(handle, seq, timestampMicros, offset, encoded.length(),
                        encoded.crc32c(), encoded.flags() | extraFlags, encoded.data().retain());
                if (!send(frame, frame.wireLength())) {
                    frame.release();
                }
                return seq;
            } finally {
                lock.unlock();
            }
        } finally {
            encoded.release();
        }
    }

    /** Sends a consistency tag; it becomes a recovery point once acknowledged. Returns its sequence number. */
    public long tag(TagType type, String name, long timestampMicros) throws ReplicationException, InterruptedException {
        return sendNumbered(seq -> new Frames.Tag(handle, seq, timestampMicros, type, name));
    }

    /** RESYNC_START (v2): opens resync {@code resyncId} over [offset, offset+length). Returns its seq. */
    public long resyncStart(long resyncId, ResyncFrames.Mode mode, int chunkSize, long offset, long length)
            throws ReplicationException, InterruptedException {
        requireV2("RESYNC_START");
        return sendNumbered(seq -> new ResyncFrames.ResyncStart(handle, seq, System.currentTimeMillis() * 1000,
                resyncId, mode, chunkSize, offset, length));
    }

    /** RESYNC_PROGRESS (v2): every chunk below {@code doneOffset} was compared and, if different, sent. */
    public long resyncProgress(long resyncId, long doneOffset) throws ReplicationException, InterruptedException {
        return sendNumbered(seq -> new ResyncFrames.ResyncProgress(handle, seq, System.currentTimeMillis() * 1000,
                resyncId, doneOffset));
    }

    /** RESYNC_END (v2): the end marker; a recovery point named {@code name} when {@code consistent}. */
    public long resyncEnd(long resyncId, boolean consistent, String name) throws ReplicationException,
            InterruptedException {
        return sendNumbered(seq -> new ResyncFrames.ResyncEnd(handle, seq, System.currentTimeMillis() * 1000,
                resyncId, consistent, name));
    }

    /** The digests of one CHECKSUM_REQUEST, in chunk order. */
    public record Digests(long offset, long length, int chunkSize, byte[] digests, long minAppliedSeq) {
        public int count() {
            return digests.length / ResyncFrames.DIGEST_LENGTH;
        }

        /** The digest of chunk {@code i} of the request. */
        public byte[] digest(int i) {
            return Arrays.copyOfRange(digests, i * ResyncFrames.DIGEST_LENGTH,
                    (i + 1) * ResyncFrames.DIGEST_LENGTH);
        }
    }

    /**
     * Sends a CHECKSUM_REQUEST (v2) for [offset, offset+length) in chunks of {@code chunkSize}; the future
     * completes with every chunk's SHA-256 once the agent sent the last CHECKSUMS frame. Keep at most 4
     * outstanding per stream (SPEC.md §12.4).
     */
    public CompletableFuture<Digests> checksums(long offset, long length, int chunkSize) throws ReplicationException {
        requireV2("CHECKSUM_REQUEST");
        ResyncFrames.ChecksumRequest req = new ResyncFrames.ChecksumRequest(handle, calls.nextRequestId(),
                offset, length, chunkSize, ResyncFrames.ALGORITHM_SHA256);
        lock.lock();
        try {
            checkUsable();
            CompletableFuture<Digests> done = calls.register(req);
            channel.writeAndFlush(req);
            return done;
        } finally {
            lock.unlock();
        }
    }

    /** Wire bytes of every WRITE, TAG and resync frame queued on this stream so far (re-sends not counted). */
    public long wireBytesQueued() {
        return locked(() -> window.wireQueued());
    }

    /** The largest write the agent accepts (AUTH_OK.maxWriteBytes). */
    public int maxWriteBytes() {
        return client.maxWriteBytes();
    }

    /** Bytes of checksum traffic so far on this stream (requests sent plus answers received), for reports. */
    public long checksumTrafficBytes() {
        return calls.trafficBytes();
    }

    void onChecksums(ResyncFrames.Checksums f) {
        calls.answered(f);
    }

    void onResyncState(ResyncFrames.ResyncState state) {
        underLock(() -> resyncState = state);
    }

    private void requireV2(String what) throws ReplicationException {
        if (client.protocolVersion() < Protocol.VERSION_2) {
            throw new ReplicationException(ErrorCode.UNSUPPORTED_VERSION, what + " needs protocol version 2; the agent"
                    + " negotiated " + client.protocolVersion() + " (upgrade the agent)");
        }
    }

    /** Builds a frame (TAG, RESYNC_*) with the next sequence number and sends it; returns that number. */
    private long sendNumbered(LongFunction<Frame> build) throws ReplicationException, InterruptedException {
        lock.lock();
        try {
            long seq = window.nextSeq();
            Frame f = build.apply(seq);
            send(f, Protocol.LENGTH_FIELD_LENGTH + 1 + f.bodyLength());
            return seq;
        } finally {
            lock.unlock();
        }
    }

    private void underLock(Runnable action) {
        lock.lock();
        try {
            action.run();
        } finally {
            lock.unlock();
        }
    }

    private <T> T locked(Supplier<T> read) {
        lock.lock();
        try {
            return read.get();
        } finally {
            lock.unlock();
        }
    }

    /** Sends a frame with the next sequence number; true if it was queued (ownership moved to the stream). */
    private boolean send(Frame frame, int cost) throws ReplicationException, InterruptedException {
        while (true) {
            checkUsable();
            if (window.hasCredit(cost)) {
                break;
            }
            if (!changed.await(1, TimeUnit.SECONDS)) {
                client.checkConnected();
            }
        }
        window.sent(StreamWindow.seq(frame), frame, cost);
        channel.writeAndFlush(duplicateForSend(frame));
        return true;
    }

    private static Frame duplicateForSend(Frame f) {
        return f instanceof WriteFrame w ? w.retainedDuplicate() : f;
    }

    private void checkUsable() throws ReplicationException {
        if (stopped != null) {
            throw stopped;
        }
        client.checkConnected();
    }

    /** Blocks until every sequence number up to {@code seq} is acknowledged (durable on the agent). */
    public void awaitAcked(long seq, Duration timeout) throws ReplicationException, InterruptedException, TimeoutException {
        long deadline = System.nanoTime() + timeout.toNanos();
        lock.lock();
        try {
            while (window.ackedSeq() < seq) {
                if (stopped != null) {
                    throw stopped;
                }
                client.checkConnected();
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    throw new TimeoutException("disk " + diskId + ": seq " + seq + " not acknowledged within "
                            + timeout + " (acked " + window.ackedSeq() + ")");
                }
                changed.awaitNanos(Math.min(left, TimeUnit.MILLISECONDS.toNanos(200)));
            }
        } finally {
            lock.unlock();
        }
    }

    /** Waits until everything sent so far is acknowledged. */
    public void flush(Duration timeout) throws ReplicationException, InterruptedException, TimeoutException {
        awaitAcked(nextSeq() - 1, timeout);
    }

    // ---- called by the client on (re)open and from the event loop ----

    /** The OPEN_DISK to send: oldestSeq says from where this stream can still re-send (SPEC.md §6). */
    Frames.OpenDisk openFrame() {
        return locked(() -> new Frames.OpenDisk(handle, epoch, window.oldestSeqForOpen(), diskId));
    }

    /**
     * Applies DISK_OPENED and re-sends the unacknowledged tail on {@code ch}, waiting for credit as needed.
     * Called on the caller's thread (never the event loop, which must deliver the CREDIT frames).
     */
    void opened(Frames.DiskOpened info, Channel ch) throws ReplicationException, InterruptedException {
        lock.lock();
        try {
            this.opened = info;
            this.channel = ch;
            this.stopped = null;
            long durable = info.lastDurableSeq();
            String lost = window.opened(durable, info.credit());
            if (lost != null) {
                // Acknowledged data was lost. Never paper over it.
                stopped = new ReplicationException(null, "disk " + diskId + ": " + lost);
                throw stopped;
            }
            if (!info.state().resyncing()) {
                resyncState = null; // RESYNC_STATE, when the agent sends one, arrives before this call
            }
            ErrorCode refusal = StreamWindow.refusalAtOpen(info.state(), client.protocolVersion());
            if (refusal != null) {
                stopped = new ReplicationException(refusal, "disk " + diskId + " is " + info.state().label());
                changed.signalAll();
                return;
            }
            if (info.state() == DiskState.NEEDS_RESYNC) {
                window.supersede(durable);
                changed.signalAll();
                return;
            }
            for (StreamWindow.Pending p : window.resendAfter(durable)) {
                while (!window.hasCredit(p.cost())) {
                    checkUsable();
                    changed.await(200, TimeUnit.MILLISECONDS);
                }
                if (p.seq() <= window.ackedSeq()) {
                    continue; // acknowledged (and released) while this waited for credit: nothing to re-send
                }
                window.resent(p.cost());
                ch.writeAndFlush(duplicateForSend(p.frame()));
            }
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    void onAck(long seq) {
        lock.lock();
        try {
            long previous = window.ackedSeq();
            if (window.acked(seq)) {
                changed.signalAll();
                AckListener l = ackListener;
                if (l != null) {
                    l.acked(previous, seq);
                }
            }
        } finally {
            lock.unlock();
        }
    }

    void onCredit(int bytes) {
        underLock(() -> {
            window.credited(bytes);
            changed.signalAll();
        });
    }

    void onError(ReplicationException e) {
        underLock(() -> {
            stopped = e;
            changed.signalAll();
        });
        calls.failAll(e);
    }

    void wakeUp() {
        underLock(() -> changed.signalAll());
        if (!client.isConnected()) {
            calls.failAll(new ReplicationException(null, "disk " + diskId + ": connection lost"));
        }
    }

    void releaseAll() {
        underLock(() -> window.releaseAll());
    }
}
