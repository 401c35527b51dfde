package io.mtagent.agent.server;

import io.mtagent.agent.disk.DiskOwner;
import io.mtagent.agent.disk.ReplicatedDisk;
import io.mtagent.agent.disk.WriteOutcome;
import io.mtagent.protocol.ErrorCode;
import io.mtagent.protocol.Frames;
import io.mtagent.protocol.ProtocolException;
import java.util.ArrayDeque;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One open disk handle on a session: its epoch, its credit (SPEC.md §7), its ACKs (§6.6) and whether it is stopped
 * (§6.4) or fenced (§6.1). The disk calls it as its {@link DiskOwner}.
 *
 * <p>Durability promise: an ACK covers only sequence numbers the disk reported durable (fdatasync'd in its ingest
 * log, {@link #durable}), and credit for a frame returns only after that frame is durable, and only while the disk
 * is under its ingest-log quota and the cache volume under its cap.
 *
 * <p>Thread-safety: the fields without a note are confined to the session's event loop. Durability callbacks
 * arrive on disk threads and are coalesced into one event-loop task each (AtomicLong/AtomicBoolean), so a burst of
 * group commits costs one ACK frame, not one per commit.
 */
final class DiskHandle implements DiskOwner {
    final int handle;
    final ReplicatedDisk disk;
    final long epoch;
    private final DataServerContext server;
    private final SessionOutput out;
    private final DiskStreams streams;
    /** Credit the client still has (as we count it). */
    private long creditAvailable;
    /** Costs of accepted frames not yet durable, as {seq, cost, acceptedNanos}: credit returns after durability. */
    private final ArrayDeque<long[]> pendingCost = new ArrayDeque<>();
    /** Credit earned back (the frames are durable) but not yet granted. */
    private long returnable;
    /** One instance, so waiting for room again while already waiting adds nothing. */
    private final Runnable roomWaiter = this::schedule;
    private long lastAckSent;
    /** Stopped by an error (§6.4), opened in a state that takes no writes, fenced or closing: frames are discarded. */
    boolean stopped;
    /** CHECKSUM_REQUESTs not yet fully answered. */
    int checksumsOutstanding;
    private final AtomicLong durableSeen = new AtomicLong();
    private final AtomicBoolean taskQueued = new AtomicBoolean();
    private volatile boolean detached;

    DiskHandle(int handle, ReplicatedDisk disk, long epoch, DataServerContext server, SessionOutput out,
               DiskStreams streams) {
        this.handle = handle;
        this.disk = disk;
        this.epoch = epoch;
        this.server = server;
        this.out = out;
        this.streams = streams;
    }

    /**
     * Sets the window DISK_OPENED grants and returns the credit to put in it: the full window when the handle
     * streams, withheld (0, returned by a CREDIT once there is room) while the cache volume is at its cap, and 0
     * with the handle stopped when the disk's state takes no writes (§6.1).
     */
    int openWindow(boolean streaming) {
        int credit = streaming ? server.creditWindow() : 0;
        if (streaming && server.cacheBudget().cacheVolumeOverCap()) {
            // SPEC.md §7: at the cache-volume cap the window is withheld, so no write the cap cannot take arrives.
            returnable = credit;
            credit = 0;
            awaitRoom();
        }
        creditAvailable = credit;
        if (!streaming) {
            stopped = true;
        }
        return credit;
    }

    /** Charges a frame's cost to the credit (§7); a frame over the remaining credit is CREDIT_EXCEEDED (fatal). */
    void charge(int cost, long seq) throws ProtocolException {
        creditAvailable -= cost;
        if (creditAvailable < 0) {
            throw new ProtocolException(ErrorCode.CREDIT_EXCEEDED, handle, seq, "disk " + disk.id()
                    + ": frame of " + cost + " bytes exceeds the remaining credit");
        }
    }

    /** The non-fatal ERROR for a refused frame; stops the handle (§6.4). */
    ProtocolException refuse(ErrorCode code, long seq, String message) {
        stop();
        return new ProtocolException(code, handle, seq, "disk " + disk.id() + ": " + message);
    }

    private void stop() {
        stopped = true;
        disk.release(this);
    }

    /** Books the outcome of an offered frame; throws the ERROR for refusals. Event loop. */
    void after(WriteOutcome outcome, long seq, int cost) throws ProtocolException {
        switch (outcome) {
            case ACCEPTED -> pendingCost.addLast(new long[] {seq, cost, System.nanoTime()});
            case DUPLICATE -> {
                returnable += cost;
                long durable = disk.lastDurableSeq();
                if (durable >= seq) {
                    sendAck(durable);
                }
                returnCredit();
            }
            case CONFLICT -> throw refuse(ErrorCode.SEQUENCE_CONFLICT, seq, "sequence number " + seq
                    + " re-sent with different content");
            case GAP -> throw refuse(ErrorCode.SEQUENCE_GAP, seq, "sequence number " + seq + " after "
                    + disk.lastAcceptedSeq() + ": writes were skipped; the disk is now needs-resync");
            case NEEDS_RESYNC -> throw refuse(ErrorCode.DISK_NEEDS_RESYNC, seq, "disk needs a resync ("
                    + disk.stateReason() + ")");
            case FAILED -> throw refuse(ErrorCode.DISK_FAILED, seq, "disk failed: " + disk.stateReason());
            case RECOVERING -> throw refuse(ErrorCode.DISK_RECOVERING, seq, "disk is being recovered ("
                    + disk.stateReason() + "); replication resumes after 'mtagent commit'");
            case NOT_RESYNCING -> throw refuse(ErrorCode.NOT_RESYNCING, seq, "no such resync is in progress"
                    + " (state " + disk.state().label() + "); send RESYNC_START first, or resume the one that"
                    + " RESYNC_STATE names");
            case NOT_OWNER -> {
                stopped = true;
                throw new ProtocolException(ErrorCode.FENCED, handle, seq, "disk " + disk.id()
                        + " was opened by another session under an equal or newer epoch");
            }
            default -> throw new IllegalStateException(outcome.toString());
        }
        if (server.cacheBudget().overCap()) {
            out.parkReading();
        }
    }

    @Override
    public void durable(long durableSeq) {
        durableSeen.accumulateAndGet(durableSeq, Math::max);
        schedule();
    }

    @Override
    public void drained() {
        schedule();
    }

    private void schedule() {
        if (!detached && taskQueued.compareAndSet(false, true)) {
            out.loop().execute(() -> {
                taskQueued.set(false);
                flushAcks();
            });
        }
    }

    /** Sends the ACK for what became durable and returns the credit it earned. Event loop. */
    void flushAcks() {
        if (detached) {
            return;
        }
        long durable = durableSeen.get();
        long now = System.nanoTime();
        while (!pendingCost.isEmpty() && pendingCost.peekFirst()[0] <= durable) {
            long[] p = pendingCost.pollFirst();
            returnable += p[1];
            server.stats().ackLatency.record(now - p[2], TimeUnit.NANOSECONDS);
        }
        if (durable > lastAckSent) {
            sendAck(durable);
        }
        returnCredit();
    }

    private void sendAck(long seq) {
        if (out.closing()) {
            return; // nothing follows SHUTTING_DOWN or another fatal ERROR (SPEC.md §6.8)
        }
        if (seq > lastAckSent) {
            lastAckSent = seq;
            out.send(new Frames.Ack(handle, seq));
        }
    }

    /** Returns the withheld credit once the cache volume has room again. */
    private void awaitRoom() {
        server.cacheBudget().whenRoom(roomWaiter);
    }

    private void returnCredit() {
        // Withhold credit while this disk's ingest log is over its quota: that is what stops a slow disk
        // without stalling the others on the connection (SPEC.md §7). At the cache-volume cap too.
        if (returnable > 0 && !stopped && server.cacheBudget().cacheVolumeOverCap()) {
            awaitRoom();
            return;
        }
        if (returnable > 0 && !stopped && !disk.overQuota() && !out.closing()) {
            int grant = (int) Math.min(returnable, Integer.MAX_VALUE);
            returnable -= grant;
            creditAvailable += grant;
            out.send(new Frames.Credit(handle, grant));
        }
    }

    @Override
    public void fenced(long newEpoch) {
        out.loop().execute(() -> {
            // Stays in the table, stopped: later WRITE/TAG on the handle are discarded silently (SPEC.md §6.4),
            // and CLOSE_DISK frees it with DISK_CLOSED.
            detached = true;
            if (!streams.isCurrent(this)) {
                return; // already replaced by a re-open of the handle, or closed: nothing to tell C
            }
            if (!stopped && out.active()) {
                stopped = true;
                server.stats().rejected(ErrorCode.FENCED);
                out.sendError(ErrorCode.FENCED, handle, 0, "disk " + disk.id()
                        + " was opened by another session under epoch " + newEpoch);
            }
        });
    }

    @Override
    public void failed(String reason) {
        out.loop().execute(() -> {
            if (!stopped) {
                stop();
                out.sendError(ErrorCode.DISK_FAILED, handle, 0, "disk " + disk.id() + " failed: " + reason);
            }
        });
    }

    /** Hashing for a CHECKSUM_REQUEST of this handle failed: the handle stops with DISK_FAILED. Event loop. */
    void checksumsFailed(String error) {
        if (!stopped && !detached) {
            stop();
            out.sendError(ErrorCode.DISK_FAILED, handle, 0, "disk " + disk.id() + ": checksums: " + error);
        }
    }

    /** The handle no longer owns the disk (closed, re-opened or its connection ended). */
    void detach() {
        detached = true;
        disk.release(this);
    }

    boolean detached() {
        return detached;
    }
}
