package io.mtagent.protocol.client;

import io.mtagent.protocol.ErrorCode;
import io.mtagent.protocol.Frame;
import io.mtagent.protocol.Frames;
import io.mtagent.protocol.DiskState;
import io.mtagent.protocol.Protocol;
import io.mtagent.protocol.TagType;
import io.mtagent.protocol.WriteFrame;
import io.mtagent.protocol.WritePayloads;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.util.ReferenceCountUtil;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

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
    private final Condition changed = lock.newCondition();
    // Everything below is guarded by lock.
    private final ArrayDeque<Pending> unacked = new ArrayDeque<>();
    private long nextSeq = 1;
    private long ackedSeq;
    /**
     * {@link #ackedSeq} when the last OPEN_DISK was sent: the agent answers it with what it holds at that moment,
     * while ACKs it sends after that (for re-sent writes) may be handled here before the answer is; only acks seen
     * before the open must be covered by the answer's lastDurableSeq.
     */
    private long ackedWhenOpening;
    private long credit;
    private Channel channel;
    private ReplicationException stopped;
    private boolean fresh = true;
    private Frames.DiskOpened opened;

    private record Pending(long seq, Frame frame, int cost) {
    }

    DiskStream(ReplicationClient client, String diskId, long epoch, int handle) {
        this.client = client;
        this.diskId = diskId;
        this.epoch = epoch;
        this.handle = handle;
    }

    public String diskId() { return diskId; }
    public long epoch() { return epoch; }
    int handle() { return handle; }

    /** What the agent said when the disk was (re)opened last: size, sector size, state, durable point. */
    public Frames.DiskOpened info() {
        lock.lock();
        try {
            return opened;
        } finally {
            lock.unlock();
        }
    }

    public long sizeBytes() { return info().sizeBytes(); }
    public DiskState state() { return info().state(); }

    /** Highest sequence number the agent has acknowledged as durable. */
    public long ackedSeq() {
        lock.lock();
        try {
            return ackedSeq;
        } finally {
            lock.unlock();
        }
    }

    /** The sequence number the next write or tag will get. */
    public long nextSeq() {
        lock.lock();
        try {
            return nextSeq;
        } finally {
            lock.unlock();
        }
    }

    /** Bytes still unacknowledged (kept for re-sending). */
    public int unackedFrames() {
        lock.lock();
        try {
            return unacked.size();
        } finally {
            lock.unlock();
        }
    }

    /** The error that stopped this stream (needs-resync, refused write, fencing), or null. */
    public ReplicationException stoppedBy() {
        lock.lock();
        try {
            return stopped;
        } finally {
            lock.unlock();
        }
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
        WriteFrame encoded = WritePayloads.encode(client.alloc(), handle, 0, timestampMicros, offset, data,
                client.options().compress);
        try {
            lock.lock();
            try {
                long seq = nextSeq;
                WriteFrame frame = new WriteFrame(handle, seq, timestampMicros, offset, encoded.length(),
                        encoded.crc32c(), encoded.flags(), encoded.data().retain());
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
        lock.lock();
        try {
            Frames.Tag tag = new Frames.Tag(handle, nextSeq, timestampMicros, type, name);
            long seq = nextSeq;
            send(tag, Protocol.LENGTH_FIELD_LENGTH + 1 + tag.bodyLength());
            return seq;
        } finally {
            lock.unlock();
        }
    }

    /** Sends a frame with the next sequence number; true if it was queued (ownership moved to the stream). */
    private boolean send(Frame frame, int cost) throws ReplicationException, InterruptedException {
        while (true) {
            checkUsable();
            if (credit >= cost) {
                break;
            }
            if (!changed.await(1, TimeUnit.SECONDS)) {
                client.checkConnected();
            }
        }
        credit -= cost;
        nextSeq++;
        unacked.addLast(new Pending(seq(frame), frame, cost));
        channel.writeAndFlush(duplicateForSend(frame));
        return true;
    }

    private static long seq(Frame f) {
        return f instanceof WriteFrame w ? w.seq() : ((Frames.Tag) f).seq();
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
            while (ackedSeq < seq) {
                if (stopped != null) {
                    throw stopped;
                }
                client.checkConnected();
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    throw new TimeoutException("disk " + diskId + ": seq " + seq + " not acknowledged within "
                            + timeout + " (acked " + ackedSeq + ")");
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
        lock.lock();
        try {
            long oldest = !unacked.isEmpty() ? unacked.peekFirst().seq() : (fresh ? 0 : nextSeq);
            ackedWhenOpening = ackedSeq;
            return new Frames.OpenDisk(handle, epoch, oldest, diskId);
        } finally {
            lock.unlock();
        }
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
            this.credit = info.credit();
            this.stopped = null;
            long durable = info.lastDurableSeq();
            if (fresh) {
                nextSeq = durable + 1;
                fresh = false;
            }
            if (durable < ackedWhenOpening) {
                // The agent acknowledged more than it now holds: acknowledged data was lost. Never paper over it.
                // (Compared with the acks seen before the open was sent: later ones may overtake this answer.)
                stopped = new ReplicationException(null, "disk " + diskId + ": agent reports lastDurableSeq "
                        + durable + " but had acknowledged " + ackedWhenOpening + " — acknowledged writes were lost");
                throw stopped;
            }
            dropAckedThrough(durable);
            if (info.state() != DiskState.PROTECTED) {
                stopped = new ReplicationException(switch (info.state()) {
                    case NEEDS_RESYNC -> ErrorCode.DISK_NEEDS_RESYNC;
                    case RECOVERING -> ErrorCode.DISK_RECOVERING;
                    default -> ErrorCode.DISK_FAILED;
                },
                        "disk " + diskId + " is " + info.state().label());
                changed.signalAll();
                return;
            }
            if (nextSeq <= durable) {
                nextSeq = durable + 1;
            }
            for (Pending p : unacked) {
                while (credit < p.cost()) {
                    checkUsable();
                    changed.await(200, TimeUnit.MILLISECONDS);
                }
                credit -= p.cost();
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
            if (seq > ackedSeq) {
                ackedSeq = seq;
                dropAckedThrough(seq);
                changed.signalAll();
            }
        } finally {
            lock.unlock();
        }
    }

    void onCredit(int bytes) {
        lock.lock();
        try {
            credit += Integer.toUnsignedLong(bytes);
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    void onError(ReplicationException e) {
        lock.lock();
        try {
            stopped = e;
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    void wakeUp() {
        lock.lock();
        try {
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    void releaseAll() {
        lock.lock();
        try {
            for (Pending p : unacked) {
                ReferenceCountUtil.release(p.frame());
            }
            unacked.clear();
        } finally {
            lock.unlock();
        }
    }

    private void dropAckedThrough(long seq) {
        if (seq > ackedSeq) {
            ackedSeq = seq;
        }
        while (!unacked.isEmpty() && unacked.peekFirst().seq() <= seq) {
            ReferenceCountUtil.release(unacked.pollFirst().frame());
        }
    }
}
