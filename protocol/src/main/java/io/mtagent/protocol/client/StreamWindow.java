package io.mtagent.protocol.client;

import io.mtagent.protocol.DiskState;
import io.mtagent.protocol.ErrorCode;
import io.mtagent.protocol.Frame;
import io.mtagent.protocol.Frames;
import io.mtagent.protocol.Protocol;
import io.mtagent.protocol.ResyncFrames;
import io.mtagent.protocol.WriteFrame;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

/**
 * The sender's side of one disk stream as numbers (SPEC.md §6.3, §6.6, §7): the next sequence number, the highest
 * acknowledged one, the credit left, and the frames sent but not yet acknowledged, kept for re-sending after a
 * reconnect. No I/O: {@link DiskStream} sends the frames and waits.
 *
 * <p>Promise: a frame stays here until an ACK (or a DISK_OPENED's lastDurableSeq) covers it, so nothing the agent
 * has not made durable is forgotten; a DISK_OPENED reporting less than was acknowledged is refused as lost data.
 *
 * <p>Thread-safety: none of its own; {@link DiskStream} calls it with its lock held. It owns the WRITE frames it
 * holds and releases them when they are acknowledged, superseded or dropped.
 */
final class StreamWindow {
    /** One frame sent and not yet acknowledged. */
    record Pending(long seq, Frame frame, int cost) {
    }

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
    private long wireQueued;
    /** No DISK_OPENED yet: the first one sets where the sequence starts. */
    private boolean fresh = true;

    long nextSeq() {
        return nextSeq;
    }

    long ackedSeq() {
        return ackedSeq;
    }

    int unackedFrames() {
        return unacked.size();
    }

    long wireQueued() {
        return wireQueued;
    }

    boolean hasCredit(int cost) {
        return credit >= cost;
    }

    /** A frame with the next sequence number was handed to the connection: it costs credit and is kept. */
    void sent(long seq, Frame frame, int cost) {
        credit -= cost;
        wireQueued += cost;
        nextSeq++;
        unacked.addLast(new Pending(seq, frame, cost));
    }

    /** A re-sent frame cost its credit again (§7: credit belongs to the open handle). */
    void resent(int cost) {
        credit -= cost;
    }

    /** The OPEN_DISK's oldestSeq: where this stream can still re-send from (SPEC.md §6.1); 0 holds nothing. */
    long oldestSeqForOpen() {
        ackedWhenOpening = ackedSeq;
        return !unacked.isEmpty() ? unacked.peekFirst().seq() : (fresh ? 0 : nextSeq);
    }

    /**
     * Applies a DISK_OPENED: resets the credit to its window, numbers a fresh stream from its lastDurableSeq + 1 and
     * forgets what it covers. Returns why acknowledged data was lost (the agent reports less durable than it had
     * acknowledged before the open was sent), or null.
     */
    String opened(long lastDurableSeq, int window) {
        credit = window;
        if (fresh) {
            nextSeq = lastDurableSeq + 1;
            fresh = false;
        }
        if (lastDurableSeq < ackedWhenOpening) {
            // Compared with the acks seen before the open was sent: later ones may overtake this answer.
            return "agent reports lastDurableSeq " + lastDurableSeq + " but had acknowledged " + ackedWhenOpening
                    + " — acknowledged writes were lost";
        }
        dropAckedThrough(lastDurableSeq);
        return null;
    }

    /**
     * The disk needs a resync (SPEC.md §12.2): what the agent did not take is superseded by the resync, which is
     * numbered from lastDurableSeq + 1; nothing is re-sent.
     */
    void supersede(long lastDurableSeq) {
        releaseAll();
        nextSeq = lastDurableSeq + 1;
    }

    /** The unacknowledged tail to re-send, in order, after a DISK_OPENED at {@code lastDurableSeq}. */
    List<Pending> resendAfter(long lastDurableSeq) {
        if (nextSeq <= lastDurableSeq) {
            nextSeq = lastDurableSeq + 1;
        }
        return new ArrayList<>(unacked);
    }

    /** An ACK: returns true when it advanced the acknowledged point (older or repeated ones are ignored, §6.6). */
    boolean acked(long seq) {
        if (seq <= ackedSeq) {
            return false;
        }
        dropAckedThrough(seq);
        return true;
    }

    void credited(int bytes) {
        credit += Integer.toUnsignedLong(bytes);
    }

    /** Drops every frame held (the client closes). */
    void releaseAll() {
        for (Pending p : unacked) {
            release(p.frame());
        }
        unacked.clear();
    }

    private void dropAckedThrough(long seq) {
        if (seq > ackedSeq) {
            ackedSeq = seq;
        }
        while (!unacked.isEmpty() && unacked.peekFirst().seq() <= seq) {
            release(unacked.pollFirst().frame());
        }
    }

    private static void release(Frame f) {
        if (f instanceof WriteFrame w) {
            w.release();
        }
    }

    /**
     * Why a stream opened in {@code state} under protocol {@code version} must not send (SPEC.md §6.1, §12.2: the
     * agent opened the handle stopped, with credit 0), or null when it streams.
     */
    static ErrorCode refusalAtOpen(DiskState state, int version) {
        boolean streaming = state == DiskState.PROTECTED || (version >= Protocol.VERSION_2
                && state != DiskState.FAILED && state != DiskState.RECOVERING);
        if (streaming) {
            return null;
        }
        return switch (state) {
            case NEEDS_RESYNC -> ErrorCode.DISK_NEEDS_RESYNC;
            case RECOVERING -> ErrorCode.DISK_RECOVERING;
            default -> ErrorCode.DISK_FAILED;
        };
    }

    /** The sequence number of a frame the stream numbers (WRITE, TAG, RESYNC_*). */
    static long seq(Frame f) {
        if (f instanceof WriteFrame w) {
            return w.seq();
        } else if (f instanceof Frames.Tag t) {
            return t.seq();
        } else if (f instanceof ResyncFrames.ResyncStart r) {
            return r.seq();
        } else if (f instanceof ResyncFrames.ResyncProgress r) {
            return r.seq();
        } else if (f instanceof ResyncFrames.ResyncEnd r) {
            return r.seq();
        }
        throw new IllegalArgumentException(f.type() + " has no sequence number");
    }
}
