package io.mtagent.agent.server;

import io.mtagent.agent.disk.OpenOutcome;
import io.mtagent.agent.disk.ReplicatedDisk;
import io.mtagent.agent.disk.WriteOutcome;
import io.mtagent.agent.ingest.DiskStateStore;
import io.mtagent.protocol.DiskState;
import io.mtagent.protocol.ErrorCode;
import io.mtagent.protocol.Frame;
import io.mtagent.protocol.Frames;
import io.mtagent.protocol.Protocol;
import io.mtagent.protocol.ProtocolException;
import io.mtagent.protocol.ResyncFrames;
import io.mtagent.protocol.WriteFrame;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

/**
 * The disk streams of one authenticated session (SPEC.md §6, §7, §12): its table of handles and the rules for
 * every frame after AUTH_OK, which frame is answered with which ERROR in which state of its handle. A refusal is
 * thrown as a {@link ProtocolException}; the session turns it into the ERROR frame.
 *
 * <p>Promises kept here: nothing of a refused frame reaches a disk (handle, credit and content checks run before
 * the frame is offered to the disk's ingest log); a stopped handle discards WRITE and TAG silently, without errors,
 * credit checks or acknowledgements, until OPEN_DISK names it again (§6.4), which includes a handle stopped by
 * DISK_NOT_OPEN; a handle stopped by FENCED stays in the table so CLOSE_DISK frees it.
 *
 * <p>Thread-safety: confined to the session's event loop.
 */
final class DiskStreams {
    /** Handles stopped by DISK_NOT_OPEN that one connection may accumulate before it is a protocol violation. */
    static final int MAX_DISCARDING_HANDLES = 4096;

    private final DataServerContext server;
    private final SessionOutput out;
    private final Map<Integer, DiskHandle> handles = new HashMap<>();
    /**
     * Handles stopped by DISK_NOT_OPEN: no disk behind them, so not in {@link #handles}, but WRITE and TAG on them
     * are discarded silently until an OPEN_DISK or CLOSE_DISK names them (SPEC.md §6.4).
     */
    private final Set<Integer> discarding = new HashSet<>();
    /** The negotiated protocol version (SPEC.md §9); v2 adds resync and checksums (§12). */
    private final int version;
    private final long clockOffsetMicros;

    DiskStreams(DataServerContext server, SessionOutput out, int version, long clockOffsetMicros) {
        this.server = server;
        this.out = out;
        this.version = version;
        this.clockOffsetMicros = clockOffsetMicros;
    }

    /** Handles one frame received after AUTH_OK; a refusal is thrown as the ERROR to send. */
    void onFrame(Frame frame) throws ProtocolException {
        switch (frame.type()) {
            case WRITE -> onWrite((WriteFrame) frame);
            case TAG -> onTag((Frames.Tag) frame);
            case OPEN_DISK -> onOpen((Frames.OpenDisk) frame);
            case CLOSE_DISK -> onClose((Frames.CloseDisk) frame);
            case RESYNC_START -> onResyncStart((ResyncFrames.ResyncStart) frame);
            case RESYNC_PROGRESS -> onResyncProgress((ResyncFrames.ResyncProgress) frame);
            case RESYNC_END -> onResyncEnd((ResyncFrames.ResyncEnd) frame);
            case CHECKSUM_REQUEST -> onChecksumRequest((ResyncFrames.ChecksumRequest) frame);
            case PING -> out.send(new Frames.Pong(((Frames.Ping) frame).nonce()));
            case PONG -> { }
            case HELLO, AUTH_PROOF -> throw new ProtocolException(ErrorCode.PROTOCOL_VIOLATION,
                    frame.type() + " after the handshake completed");
            default -> throw new ProtocolException(ErrorCode.PROTOCOL_VIOLATION,
                    frame.type() + " is sent by the agent, not to it");
        }
    }

    /** Whether {@code h} is still the handle its number names (not replaced by a re-open, not closed). */
    boolean isCurrent(DiskHandle h) {
        return handles.get(h.handle) == h;
    }

    /** Sends every handle's pending ACK and credit (before SHUTTING_DOWN). */
    void flushAcks() {
        for (DiskHandle h : handles.values()) {
            h.flushAcks();
        }
    }

    /** The connection ended: every handle gives its disk up. */
    void detachAll() {
        for (DiskHandle h : handles.values()) {
            h.detach();
        }
        handles.clear();
    }

    private void onOpen(Frames.OpenDisk open) throws ProtocolException {
        int handle = open.handle();
        if (handle == Protocol.NO_HANDLE) {
            throw new ProtocolException(ErrorCode.PROTOCOL_VIOLATION, "handle 0xFFFFFFFF is reserved");
        }
        discarding.remove(handle);
        DiskHandle existing = handles.get(handle);
        String diskId = server.disks().resolveId(open.diskId()); // a configured name stands for its disk's id
        if (existing != null && !existing.stopped) {
            if (!existing.disk.id().equals(diskId)) {
                throw new ProtocolException(ErrorCode.PROTOCOL_VIOLATION, "handle " + handle
                        + " is already open for disk " + existing.disk.id());
            }
            existing.detach(); // re-open of the same disk on the same handle: start afresh
        }
        ReplicatedDisk disk = server.disks().byId(diskId);
        if (disk == null && server.disks().isReleased(diskId)) {
            handles.remove(handle);
            throw new ProtocolException(ErrorCode.UNKNOWN_DISK, handle, 0, "disk '" + open.diskId()
                    + "' is released on this agent (control API); attach it again before streaming to it");
        }
        if (disk == null) {
            handles.remove(handle);
            throw new ProtocolException(ErrorCode.UNKNOWN_DISK, handle, 0, "disk '" + open.diskId()
                    + "' is not declared on this agent (declared: " + server.disks().ids() + ")");
        }
        DiskHandle b = new DiskHandle(handle, disk, open.epoch(), server, out, this);
        OpenOutcome opened = disk.open(open.epoch(), open.oldestSeq(), b, clockOffsetMicros);
        if (opened.error() != null) {
            handles.remove(handle);
            throw new ProtocolException(opened.error(), handle, 0, opened.message());
        }
        handles.put(handle, b);
        DiskState reported = opened.state().forVersion(version);
        boolean streaming = reported == DiskState.PROTECTED
                || (version >= Protocol.VERSION_2 && reported != DiskState.FAILED && reported != DiskState.RECOVERING);
        int credit = b.openWindow(streaming);
        out.write(new Frames.DiskOpened(handle, opened.sizeBytes(), opened.sectorSize(), reported,
                opened.lastDurableSeq(), opened.appliedSeq(), credit));
        DiskStateStore.Resync r = disk.resync();
        if (version >= Protocol.VERSION_2 && reported.resyncing() && r != null) {
            // SPEC.md §12.6: tell C where the resync resumes.
            out.write(new ResyncFrames.ResyncState(handle, r.id(), ResyncFrames.Mode.ofLabel(r.mode()), r.chunkSize(),
                    r.offset(), r.length(), r.doneOffset()));
        }
        out.flush();
    }

    private void onClose(Frames.CloseDisk close) throws ProtocolException {
        if (close.handle() == Protocol.NO_HANDLE) {
            throw new ProtocolException(ErrorCode.PROTOCOL_VIOLATION, "handle 0xFFFFFFFF is reserved (NO_HANDLE)");
        }
        DiskHandle b = handles.remove(close.handle());
        if (b == null) {
            if (discarding.remove(close.handle())) {
                // Stopped by DISK_NOT_OPEN: a stopped handle, so CLOSE_DISK frees it with DISK_CLOSED (SPEC.md §6.7);
                // no disk was behind it, hence lastDurableSeq 0.
                out.send(new Frames.DiskClosed(close.handle(), 0));
                return;
            }
            throw notOpenOrDiscard(close.handle(), 0); // not null: the handle is no longer in discarding
        }
        b.stopped = true;
        long accepted = b.disk.lastAcceptedSeq();
        // DISK_CLOSED only once everything accepted on the handle is durable, after its final ACK (§6.7).
        b.disk.whenDurable(accepted, () -> out.loop().execute(() -> {
            b.detach();
            if (!out.closing()) {
                out.send(new Frames.DiskClosed(b.handle, b.disk.lastDurableSeq()));
            }
        }));
    }

    private void onWrite(WriteFrame w) throws ProtocolException {
        DiskHandle b = streaming(w.handle(), w.seq(), w.wireLength());
        if (b == null) {
            return;
        }
        FrameChecks.checkWrite(b, w, server.maxWriteBytes());
        WriteOutcome outcome = b.disk.offerWrite(b, w.seq(), w.timestampMicros(), w.offset(), w.length(),
                w.crc32c(), w.compressed(), w.resync(), w.data().retain());
        if (outcome == WriteOutcome.ACCEPTED) {
            server.stats().writesReceived.increment();
            server.stats().bytesReceived.increment(w.length());
        }
        b.after(outcome, w.seq(), w.wireLength());
    }

    private void onTag(Frames.Tag t) throws ProtocolException {
        int cost = cost(t);
        DiskHandle b = streaming(t.handle(), t.seq(), cost);
        if (b == null) {
            return;
        }
        WriteOutcome outcome = b.disk.offerTag(b, t.seq(), t.timestampMicros(), t.tagType(), t.name());
        if (outcome == WriteOutcome.ACCEPTED) {
            server.stats().tagsReceived.increment();
        }
        b.after(outcome, t.seq(), cost);
    }

    private void onResyncStart(ResyncFrames.ResyncStart r) throws ProtocolException {
        DiskHandle b = streaming(r.handle(), r.seq(), cost(r));
        if (b == null) {
            return;
        }
        FrameChecks.checkResyncRange(b, r);
        b.after(b.disk.offerResyncStart(b, r.seq(), r.timestampMicros(), r.resyncId(), r.mode().label(),
                r.chunkSize(), r.offset(), r.length()), r.seq(), cost(r));
    }

    private void onResyncProgress(ResyncFrames.ResyncProgress r) throws ProtocolException {
        DiskHandle b = streaming(r.handle(), r.seq(), cost(r));
        if (b != null) {
            b.after(b.disk.offerResyncProgress(b, r.seq(), r.timestampMicros(), r.resyncId(), r.doneOffset()),
                    r.seq(), cost(r));
        }
    }

    private void onResyncEnd(ResyncFrames.ResyncEnd r) throws ProtocolException {
        DiskHandle b = streaming(r.handle(), r.seq(), cost(r));
        if (b != null) {
            b.after(b.disk.offerResyncEnd(b, r.seq(), r.timestampMicros(), r.resyncId(), r.consistent(), r.name()),
                    r.seq(), cost(r));
        }
    }

    /** CHECKSUM_REQUEST costs no credit and no sequence number (SPEC.md §12.3). */
    private void onChecksumRequest(ResyncFrames.ChecksumRequest r) throws ProtocolException {
        DiskHandle b = handles.get(r.handle());
        if (b == null) {
            ProtocolException e = notOpenOrDiscard(r.handle(), 0);
            if (e == null) {
                return;
            }
            throw e;
        }
        if (b.stopped) {
            return;
        }
        FrameChecks.checkChecksumRequest(b, r);
        b.checksumsOutstanding++;
        server.checksums().submit(b.disk, r, new ChecksumReplies(b, out));
    }

    /** The wire cost of a frame for credit (SPEC.md §7): its length word plus {@code length}. */
    private static int cost(Frame f) {
        return Protocol.LENGTH_FIELD_LENGTH + 1 + f.bodyLength();
    }

    /**
     * The handle a sequenced frame (WRITE, TAG, RESYNC_*) goes to, with its cost charged; null when the frame is
     * to be discarded silently (a stopped handle, §6.4). Checks 1 and 2 of §6.4.
     */
    private DiskHandle streaming(int handle, long seq, int cost) throws ProtocolException {
        DiskHandle b = handles.get(handle);
        if (b == null) {
            ProtocolException e = notOpenOrDiscard(handle, seq);
            if (e == null) {
                return null;
            }
            throw e;
        }
        if (b.stopped) {
            return null; // stopped by an earlier error: discard until the client re-opens (SPEC.md §6)
        }
        b.charge(cost, seq);
        return b;
    }

    /**
     * The answer to a frame naming a handle that is not open: PROTOCOL_VIOLATION for 0xFFFFFFFF (SPEC.md §8), null
     * (discard silently) for a handle already stopped by DISK_NOT_OPEN, otherwise DISK_NOT_OPEN, which stops the
     * handle (§6.4).
     */
    private ProtocolException notOpenOrDiscard(int handle, long seq) throws ProtocolException {
        if (handle == Protocol.NO_HANDLE) {
            throw new ProtocolException(ErrorCode.PROTOCOL_VIOLATION, "handle 0xFFFFFFFF is reserved (NO_HANDLE)");
        }
        if (discarding.contains(handle)) {
            return null;
        }
        if (discarding.size() >= MAX_DISCARDING_HANDLES) {
            throw new ProtocolException(ErrorCode.PROTOCOL_VIOLATION, "more than " + MAX_DISCARDING_HANDLES
                    + " handles named without OPEN_DISK");
        }
        discarding.add(handle);
        return new ProtocolException(ErrorCode.DISK_NOT_OPEN, handle, seq, "handle "
                + Integer.toUnsignedString(handle) + " is not open; send OPEN_DISK (later frames on it are discarded"
                + " until then)");
    }
}
