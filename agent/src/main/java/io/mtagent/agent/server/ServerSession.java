package io.mtagent.agent.server;

import io.mtagent.agent.disk.DiskOwner;
import io.mtagent.agent.disk.OpenOutcome;
import io.mtagent.agent.disk.ReplicatedDisk;
import io.mtagent.agent.disk.WriteOutcome;
import io.mtagent.agent.security.AuthFailureLimiter;
import io.mtagent.protocol.DiskState;
import io.mtagent.protocol.ErrorCode;
import io.mtagent.protocol.Frame;
import io.mtagent.protocol.FrameDecoder;
import io.mtagent.protocol.Frames;
import io.mtagent.protocol.HandshakeCrypto;
import io.mtagent.protocol.Protocol;
import io.mtagent.protocol.ProtocolException;
import io.mtagent.protocol.ResyncFrames;
import io.mtagent.protocol.WriteFrame;
import io.mtagent.protocol.WritePayloads;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.socket.DuplexChannel;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.DecoderException;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.collection.IntObjectHashMap;
import java.util.HashSet;
import io.netty.util.concurrent.FastThreadLocal;
import io.netty.util.concurrent.ScheduledFuture;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.security.SecureRandom;
import java.util.ArrayDeque;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * One process-server connection on the data port: the handshake (SPEC.md §4), then any number of disk streams
 * (§6) with per-disk credit (§7). Last handler of the pipeline {@code tls → frames → encoder → session}.
 *
 * <p>Thread-safety: every field is confined to the channel's event loop. Disks call back through
 * {@link Binding} from their writer and applier threads; those calls only hand work to the event loop.
 *
 * <p>Nothing of a refused frame reaches a disk: every check (credit, size, alignment, range, LZ4, CRC) runs
 * before the record is offered to the disk's ingest log.
 */
final class ServerSession extends ChannelInboundHandlerAdapter {
    private static final Logger LOG = Logger.getLogger(ServerSession.class.getName());
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final long CLOCK_NOISE_MICROS = 2_000_000;
    /** Handles stopped by DISK_NOT_OPEN that one connection may accumulate before it is a protocol violation. */
    private static final int MAX_DISCARDING_HANDLES = 4096;
    /** One decode buffer per event-loop thread: a WRITE is verified synchronously, so threads never share it. */
    private static final FastThreadLocal<ByteBuffer> SCRATCH = new FastThreadLocal<>();

    private enum Phase { AWAIT_HELLO, AWAIT_PROOF, AUTHENTICATED, CLOSING }

    private final DataServerContext server;
    private final IntObjectHashMap<Binding> bindings = new IntObjectHashMap<>();
    /**
     * Handles stopped by DISK_NOT_OPEN: no disk behind them, so not in {@link #bindings}, but WRITE and TAG on them
     * are discarded silently until an OPEN_DISK or CLOSE_DISK names them (SPEC.md §6.4). Event loop only.
     */
    private final HashSet<Integer> discarding = new HashSet<>();
    private final long sessionId;
    private ChannelHandlerContext ctx;
    /** Written on the event loop; volatile because hash workers check it before sending CHECKSUMS. */
    private volatile Phase phase = Phase.AWAIT_HELLO;
    private byte[] clientNonce;
    private byte[] serverNonce;
    private InetAddress peer;
    private String peerName = "?";
    private ScheduledFuture<?> handshakeTimer;
    /** Counted by the handshake admission until AUTH_OK or close. */
    private boolean admitted;
    private long clockOffsetMicros;
    /** The negotiated protocol version (SPEC.md §9); v2 adds resync and checksums (§12). */
    private int version = Protocol.VERSION_1;

    ServerSession(DataServerContext server) {
        this.server = server;
        this.sessionId = server.nextSessionId();
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        this.ctx = ctx;
        java.net.SocketAddress remote = ctx.channel().remoteAddress();
        // Real sockets give an InetSocketAddress; an in-memory channel (tests) counts as loopback.
        peer = remote instanceof InetSocketAddress inet ? inet.getAddress() : InetAddress.getLoopbackAddress();
        peerName = String.valueOf(remote);
        server.stats().sessions.incrementAndGet();
        server.register(this);
        String refused = server.admission().admit(peer, server.limiter().isTrusted(peer));
        if (refused != null) {
            server.peerStats().connectionsRefused.increment();
            server.peerLog().warn("handshake-cap", "connections refused before TLS: " + refused);
            phase = Phase.CLOSING;
            ctx.close();
            return;
        }
        admitted = true;
        handshakeTimer = ctx.executor().schedule(() -> {
            if (phase != Phase.AUTHENTICATED) {
                server.peerStats().handshakeTimeouts.increment();
                server.peerLog().warn("handshake-timeout", "connections closed: handshake not completed within "
                        + server.handshakeTimeoutMillis() + " ms, latest " + peerName);
                ctx.close();
            }
        }, server.handshakeTimeoutMillis(), TimeUnit.MILLISECONDS);
        ctx.fireChannelActive();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        server.stats().sessions.decrementAndGet();
        server.unregister(this);
        leaveHandshake();
        if (handshakeTimer != null) {
            handshakeTimer.cancel(false);
        }
        for (Binding b : bindings.values()) {
            b.detach();
        }
        bindings.clear();
        ctx.fireChannelInactive();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        try {
            if (phase == Phase.CLOSING) {
                return;
            }
            Frame frame = (Frame) msg;
            switch (phase) {
                case AWAIT_HELLO -> onHello(frame);
                case AWAIT_PROOF -> onProof(frame);
                case AUTHENTICATED -> onStreamFrame(frame);
                default -> { }
            }
        } catch (ProtocolException e) {
            reject(e);
        } finally {
            ReferenceCountUtil.release(msg);
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        Throwable c = cause instanceof DecoderException && cause.getCause() != null ? cause.getCause() : cause;
        if (c instanceof ProtocolException pe) {
            reject(pe);
            return;
        }
        if (c instanceof javax.net.ssl.SSLException || c instanceof java.io.IOException) {
            LOG.fine(() -> peerName + ": " + c);
            ctx.close();
            return;
        }
        LOG.log(Level.WARNING, "unexpected error on session with " + peerName + "; closing it", c);
        server.stats().rejected(ErrorCode.INTERNAL);
        sendError(ErrorCode.INTERNAL, Protocol.NO_HANDLE, 0, "internal error: " + c.getClass().getSimpleName());
    }

    // ---------------------------------------------------------------- handshake

    private void onHello(Frame frame) throws ProtocolException {
        if (!(frame instanceof Frames.Hello hello)) {
            throw new ProtocolException(ErrorCode.NOT_AUTHENTICATED, frame.type() + " before the handshake; send HELLO first");
        }
        if (hello.magic() == Protocol.LEGACY_MAGIC) {
            throw new ProtocolException(ErrorCode.UNSUPPORTED_VERSION, "this process server uses the handshake of"
                    + " SPEC.md before revision 3 (K-based proofs); this agent requires the SCRAM-SHA-256 handshake of"
                    + " revision 3: update the process server (same passphrase)");
        }
        if (hello.magic() != Protocol.MAGIC) {
            throw new ProtocolException(ErrorCode.UNSUPPORTED_VERSION, "bad magic: not an mtagent client");
        }
        int version = Math.min(hello.maxVersion(), Protocol.MAX_VERSION);
        if (version < Math.max(hello.minVersion(), Protocol.MIN_VERSION)) {
            throw new ProtocolException(ErrorCode.UNSUPPORTED_VERSION, "client speaks versions " + hello.minVersion()
                    + ".." + hello.maxVersion() + ", this agent " + Protocol.MIN_VERSION + ".." + Protocol.MAX_VERSION);
        }
        if (!server.limiter().allow(peer)) {
            throw new ProtocolException(ErrorCode.AUTH_RATE_LIMITED, "too many failed proofs from " + peer.getHostAddress()
                    + "; retry in " + server.limiter().lockoutRemaining(peer).toSeconds() + " s");
        }
        this.version = version;
        ctx.pipeline().get(FrameDecoder.class).setVersion(version);
        clientNonce = hello.clientNonce();
        serverNonce = new byte[HandshakeCrypto.NONCE_LENGTH];
        RANDOM.nextBytes(serverNonce);
        long now = System.currentTimeMillis() * 1000;
        // One-way estimate: it also counts the network and queueing delay before this line ran, which would make
        // RPO look better than it is. Below 2 s the measurement cannot tell skew from delay, so no correction
        // (RPO errs on the safe side); above it, the clocks really differ and RPO is corrected.
        long measured = now - hello.clientTimeMicros();
        clockOffsetMicros = Math.abs(measured) < CLOCK_NOISE_MICROS ? 0 : measured;
        var pass = server.passphrase();
        phase = Phase.AWAIT_PROOF;
        ctx.writeAndFlush(new Frames.Challenge(version, serverNonce, pass.salt(), pass.iterations(), now, server.agentName()));
    }

    private void onProof(Frame frame) throws ProtocolException {
        if (!(frame instanceof Frames.AuthProof proof)) {
            throw new ProtocolException(ErrorCode.NOT_AUTHENTICATED, frame.type() + " before AUTH_OK; send AUTH_PROOF");
        }
        // Charged before it is checked (SPEC.md §4.5), so parallel connections get no more proofs checked than
        // the lockout allows.
        AuthFailureLimiter.Verdict verdict = server.limiter().tryBeginProof(peer);
        if (verdict != AuthFailureLimiter.Verdict.ALLOWED) {
            server.peerStats().proofsRefusedUnchecked.increment();
            throw new ProtocolException(ErrorCode.AUTH_RATE_LIMITED, verdict == AuthFailureLimiter.Verdict.ADDRESS_LOCKED
                    ? "too many failed proofs from " + peer.getHostAddress() + "; retry in "
                    + Math.max(1, server.limiter().lockoutRemaining(peer).toSeconds()) + " s"
                    : "too many failed proofs from many addresses; retry later");
        }
        server.peerStats().proofsChecked.increment();
        if (!server.passphrase().verifyClientProof(clientNonce, serverNonce, server.fingerprint(), proof.proof())) {
            server.limiter().proofFailed(peer);
            server.stats().authFailures.increment();
            throw new ProtocolException(ErrorCode.AUTH_FAILED, "passphrase proof did not verify");
        }
        server.limiter().recordSuccess(peer);
        server.stats().authSuccesses.increment();
        handshakeTimer.cancel(false);
        leaveHandshake();
        phase = Phase.AUTHENTICATED;
        ctx.pipeline().get(FrameDecoder.class).setMaxFrameLength(server.maxFrameLength());
        ctx.writeAndFlush(new Frames.AuthOk(server.passphrase().serverProof(clientNonce, serverNonce, server.fingerprint()),
                server.maxFrameLength(), server.maxWriteBytes(), sessionId));
        LOG.info(() -> "session " + sessionId + " authenticated from " + peerName);
    }

    private void leaveHandshake() {
        if (admitted) {
            admitted = false;
            server.admission().release(peer);
        }
    }

    // ---------------------------------------------------------------- streams

    private void onStreamFrame(Frame frame) throws ProtocolException {
        switch (frame.type()) {
            case WRITE -> onWrite((WriteFrame) frame);
            case TAG -> onTag((Frames.Tag) frame);
            case OPEN_DISK -> onOpen((Frames.OpenDisk) frame);
            case CLOSE_DISK -> onClose((Frames.CloseDisk) frame);
            case RESYNC_START -> onResyncStart((ResyncFrames.ResyncStart) frame);
            case RESYNC_PROGRESS -> onResyncProgress((ResyncFrames.ResyncProgress) frame);
            case RESYNC_END -> onResyncEnd((ResyncFrames.ResyncEnd) frame);
            case CHECKSUM_REQUEST -> onChecksumRequest((ResyncFrames.ChecksumRequest) frame);
            case PING -> ctx.writeAndFlush(new Frames.Pong(((Frames.Ping) frame).nonce()));
            case PONG -> { }
            case HELLO, AUTH_PROOF -> throw new ProtocolException(ErrorCode.PROTOCOL_VIOLATION,
                    frame.type() + " after the handshake completed");
            default -> throw new ProtocolException(ErrorCode.PROTOCOL_VIOLATION,
                    frame.type() + " is sent by the agent, not to it");
        }
    }

    private void onOpen(Frames.OpenDisk open) throws ProtocolException {
        int handle = open.handle();
        if (handle == Protocol.NO_HANDLE) {
            throw new ProtocolException(ErrorCode.PROTOCOL_VIOLATION, "handle 0xFFFFFFFF is reserved");
        }
        discarding.remove(handle);
        Binding existing = bindings.get(handle);
        String diskId = server.disks().resolveId(open.diskId()); // a configured name stands for its disk's id
        if (existing != null && !existing.stopped) {
            if (!existing.disk.id().equals(diskId)) {
                throw new ProtocolException(ErrorCode.PROTOCOL_VIOLATION, "handle " + handle + " is already open for disk "
                        + existing.disk.id());
            }
            existing.detach(); // re-open of the same disk on the same handle: start afresh
        }
        ReplicatedDisk disk = server.disks().byId(diskId);
        if (disk == null && server.disks().isReleased(diskId)) {
            bindings.remove(handle);
            throw new ProtocolException(ErrorCode.UNKNOWN_DISK, handle, 0, "disk '" + open.diskId()
                    + "' is released on this agent (control API); attach it again before streaming to it");
        }
        if (disk == null) {
            bindings.remove(handle);
            throw new ProtocolException(ErrorCode.UNKNOWN_DISK, handle, 0, "disk '" + open.diskId()
                    + "' is not declared on this agent (declared: " + server.disks().ids() + ")");
        }
        Binding b = new Binding(handle, disk, open.epoch());
        OpenOutcome out = disk.open(open.epoch(), open.oldestSeq(), b, clockOffsetMicros);
        if (out.error() != null) {
            bindings.remove(handle);
            throw new ProtocolException(out.error(), handle, 0, out.message());
        }
        bindings.put(handle, b);
        DiskState reported = out.state().forVersion(version);
        boolean streaming = reported == DiskState.PROTECTED
                || (version >= Protocol.VERSION_2 && reported != DiskState.FAILED && reported != DiskState.RECOVERING);
        int credit = streaming ? server.creditWindow() : 0;
        if (streaming && server.cacheBudget().cacheVolumeOverCap()) {
            // SPEC.md §7: at the cache-volume cap the window is withheld, so no write the cap cannot take arrives.
            b.returnable = credit;
            credit = 0;
            b.awaitRoom();
        }
        b.creditAvailable = credit;
        if (!streaming) {
            b.stopped = true;
        }
        ctx.write(new Frames.DiskOpened(handle, out.sizeBytes(), out.sectorSize(), reported,
                out.lastDurableSeq(), out.appliedSeq(), credit));
        io.mtagent.agent.storage.DiskStateStore.Resync r = disk.resync();
        if (version >= Protocol.VERSION_2 && reported.resyncing() && r != null) {
            // SPEC.md §12.6: tell C where the resync resumes.
            ctx.write(new ResyncFrames.ResyncState(handle, r.id(), ResyncFrames.Mode.ofLabel(r.mode()), r.chunkSize(),
                    r.offset(), r.length(), r.doneOffset()));
        }
        ctx.flush();
    }

    // ---------------------------------------------------------------- resync and checksums (v2, SPEC.md §12)

    private static int cost(Frame f) {
        return Protocol.LENGTH_FIELD_LENGTH + 1 + f.bodyLength();
    }

    private void onResyncStart(ResyncFrames.ResyncStart r) throws ProtocolException {
        Binding b = bindingFor(r.handle(), r.seq(), cost(r));
        if (b == null) {
            return;
        }
        long size = b.disk.sizeBytes();
        if (r.offset() % r.chunkSize() != 0 || r.length() <= 0 || r.length() % Protocol.WRITE_ALIGNMENT != 0) {
            throw b.refuse(ErrorCode.UNALIGNED, r.seq(), "resync range " + r.offset() + "+" + r.length()
                    + ": offset must be a multiple of the chunk size " + r.chunkSize()
                    + " and length a positive multiple of 512");
        }
        if (r.offset() < 0 || r.length() > size - r.offset()) {
            throw b.refuse(ErrorCode.OUT_OF_RANGE, r.seq(), "resync range " + r.offset() + "+" + r.length()
                    + " passes the end of the disk (" + size + " bytes)");
        }
        b.after(b.disk.offerResyncStart(b, r.seq(), r.timestampMicros(), r.resyncId(), r.mode().label(),
                r.chunkSize(), r.offset(), r.length()), r.seq(), cost(r));
    }

    private void onResyncProgress(ResyncFrames.ResyncProgress r) throws ProtocolException {
        Binding b = bindingFor(r.handle(), r.seq(), cost(r));
        if (b != null) {
            b.after(b.disk.offerResyncProgress(b, r.seq(), r.timestampMicros(), r.resyncId(), r.doneOffset()),
                    r.seq(), cost(r));
        }
    }

    private void onResyncEnd(ResyncFrames.ResyncEnd r) throws ProtocolException {
        Binding b = bindingFor(r.handle(), r.seq(), cost(r));
        if (b != null) {
            b.after(b.disk.offerResyncEnd(b, r.seq(), r.timestampMicros(), r.resyncId(), r.consistent(), r.name()),
                    r.seq(), cost(r));
        }
    }

    private void onChecksumRequest(ResyncFrames.ChecksumRequest r) throws ProtocolException {
        Binding b = bindings.get(r.handle());
        if (b == null) {
            ProtocolException e = notOpen(r.handle(), 0);
            if (e == null) {
                return;
            }
            throw e;
        }
        if (b.stopped) {
            return;
        }
        DiskState st = b.disk.state();
        if (st == DiskState.FAILED) {
            throw b.refuse(ErrorCode.DISK_FAILED, 0, "disk failed: " + b.disk.stateReason());
        }
        if (st == DiskState.RECOVERING) {
            throw b.refuse(ErrorCode.DISK_RECOVERING, 0, "disk is being recovered (" + b.disk.stateReason() + ")");
        }
        if (r.offset() % r.chunkSize() != 0 || r.length() <= 0 || r.length() % Protocol.WRITE_ALIGNMENT != 0) {
            throw b.refuse(ErrorCode.UNALIGNED, 0, "checksum range " + r.offset() + "+" + r.length()
                    + ": offset must be a multiple of the chunk size " + r.chunkSize()
                    + " and length a positive multiple of 512");
        }
        if (r.offset() < 0 || r.length() > b.disk.sizeBytes() - r.offset()
                || r.chunks() > ResyncFrames.MAX_CHUNKS_PER_REQUEST) {
            throw b.refuse(ErrorCode.OUT_OF_RANGE, 0, "checksum range " + r.offset() + "+" + r.length()
                    + " passes the end of the disk (" + b.disk.sizeBytes() + " bytes) or covers more than "
                    + ResyncFrames.MAX_CHUNKS_PER_REQUEST + " chunks");
        }
        if (b.checksumsOutstanding >= ResyncFrames.MAX_OUTSTANDING_REQUESTS) {
            throw b.refuse(ErrorCode.TOO_MANY_REQUESTS, 0, ResyncFrames.MAX_OUTSTANDING_REQUESTS
                    + " checksum requests are already outstanding on the handle");
        }
        b.checksumsOutstanding++;
        server.checksums().submit(b.disk, r, b.checksumSink());
    }

    private void onClose(Frames.CloseDisk close) throws ProtocolException {
        if (close.handle() == Protocol.NO_HANDLE) {
            throw new ProtocolException(ErrorCode.PROTOCOL_VIOLATION, "handle 0xFFFFFFFF is reserved (NO_HANDLE)");
        }
        Binding b = bindings.remove(close.handle());
        if (b == null) {
            if (discarding.remove(close.handle())) {
                // Stopped by DISK_NOT_OPEN: a stopped handle, so CLOSE_DISK frees it with DISK_CLOSED (SPEC.md §6.7);
                // no disk was behind it, hence lastDurableSeq 0.
                ctx.writeAndFlush(new Frames.DiskClosed(close.handle(), 0));
                return;
            }
            ProtocolException e = notOpen(close.handle(), 0);
            throw e;
        }
        b.closing = true;
        b.stopped = true;
        long accepted = b.disk.lastAcceptedSeq();
        b.disk.whenDurable(accepted, () -> ctx.executor().execute(() -> {
            b.detach();
            if (phase != Phase.CLOSING) {
                ctx.writeAndFlush(new Frames.DiskClosed(b.handle, b.disk.lastDurableSeq()));
            }
        }));
    }

    private Binding bindingFor(int handle, long seq, int cost) throws ProtocolException {
        Binding b = bindings.get(handle);
        if (b == null) {
            ProtocolException e = notOpen(handle, seq);
            if (e == null) {
                return null;
            }
            throw e;
        }
        if (b.stopped) {
            return null; // stopped by an earlier error: discard until the client re-opens (SPEC.md §6)
        }
        b.creditAvailable -= cost;
        if (b.creditAvailable < 0) {
            throw new ProtocolException(ErrorCode.CREDIT_EXCEEDED, handle, seq, "disk " + b.disk.id()
                    + ": frame of " + cost + " bytes exceeds the remaining credit");
        }
        return b;
    }

    /**
     * The answer to a frame naming a handle that is not open: PROTOCOL_VIOLATION for 0xFFFFFFFF (SPEC.md §8), null
     * (discard silently) for a handle already stopped by DISK_NOT_OPEN, otherwise DISK_NOT_OPEN, which stops the
     * handle (§6.4).
     */
    private ProtocolException notOpen(int handle, long seq) throws ProtocolException {
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
        return new ProtocolException(ErrorCode.DISK_NOT_OPEN, handle, seq, "handle " + Integer.toUnsignedString(handle)
                + " is not open; send OPEN_DISK (later frames on it are discarded until then)");
    }

    private void onWrite(WriteFrame w) throws ProtocolException {
        Binding b = bindingFor(w.handle(), w.seq(), w.wireLength());
        if (b == null) {
            return;
        }
        ReplicatedDisk disk = b.disk;
        int length = w.length();
        if (length > server.maxWriteBytes()) {
            throw b.refuse(ErrorCode.WRITE_TOO_LARGE, w.seq(), "write of " + length + " bytes exceeds the maximum of "
                    + server.maxWriteBytes());
        }
        if (length <= 0 || (length % Protocol.WRITE_ALIGNMENT) != 0 || (w.offset() % Protocol.WRITE_ALIGNMENT) != 0) {
            throw b.refuse(ErrorCode.UNALIGNED, w.seq(), "offset " + w.offset() + " and length " + length
                    + " must be positive multiples of 512");
        }
        if (w.offset() < 0 || w.offset() > disk.sizeBytes() - length) {
            throw b.refuse(ErrorCode.OUT_OF_RANGE, w.seq(), "write at " + w.offset() + "+" + length
                    + " passes the end of disk " + disk.id() + " (" + disk.sizeBytes() + " bytes)");
        }
        ByteBuffer scratch = scratch();
        scratch.clear();
        try {
            WritePayloads.verify(w, scratch); // the data CRC the ingest log builds its record CRC on (IngestLog.offer)
        } catch (ProtocolException e) {
            if (e.code().fatal()) {
                throw e; // a framing error: the connection's (SPEC.md §3)
            }
            throw b.refuse(e.code(), w.seq(), e.getMessage());
        }
        WriteOutcome outcome = disk.offerWrite(b, w.seq(), w.timestampMicros(), w.offset(), length, w.crc32c(),
                w.compressed(), w.resync(), w.data().retain());
        if (outcome == WriteOutcome.ACCEPTED) {
            server.stats().writesReceived.increment();
            server.stats().bytesReceived.increment(length);
        }
        b.after(outcome, w.seq(), w.wireLength());
    }

    private void onTag(Frames.Tag t) throws ProtocolException {
        int cost = Protocol.LENGTH_FIELD_LENGTH + 1 + t.bodyLength();
        Binding b = bindingFor(t.handle(), t.seq(), cost);
        if (b == null) {
            return;
        }
        WriteOutcome outcome = b.disk.offerTag(b, t.seq(), t.timestampMicros(), t.tagType(), t.name());
        if (outcome == WriteOutcome.ACCEPTED) {
            server.stats().tagsReceived.increment();
        }
        b.after(outcome, t.seq(), cost);
    }

    private ByteBuffer scratch() {
        ByteBuffer b = SCRATCH.get();
        if (b == null || b.capacity() < server.maxWriteBytes()) {
            b = ByteBuffer.allocateDirect(server.maxWriteBytes());
            SCRATCH.set(b);
        }
        return b;
    }

    // ---------------------------------------------------------------- errors and shutdown

    private void reject(ProtocolException e) {
        server.stats().rejected(e.code());
        // Framing errors are the connection's, never a handle's (SPEC.md §3).
        boolean framing = e.code() == ErrorCode.MALFORMED_FRAME || e.code() == ErrorCode.FRAME_TOO_LARGE
                || e.code() == ErrorCode.UNKNOWN_FRAME_TYPE;
        sendError(e.code(), framing ? Protocol.NO_HANDLE : e.handle(), framing ? 0 : e.seq(), e.getMessage());
    }

    private void sendError(ErrorCode code, int handle, long seq, String message) {
        if (phase == Phase.CLOSING) {
            return;
        }
        Frames.Error err = Frames.Error.of(code, handle, seq, message);
        if (code.fatal()) {
            phase = Phase.CLOSING;
            ctx.writeAndFlush(err).addListener(f -> lingerClose());
        } else {
            ctx.writeAndFlush(err);
        }
    }

    /**
     * Closes after a fatal ERROR without losing it (SPEC.md §3, §6.8): the ERROR is the last frame; then TLS
     * close_notify and a half-close (FIN), and the input is read and discarded until the peer closes or
     * {@link DataServer#LINGER_MILLIS} pass. Closing at once with unread input would make the kernel reset the
     * connection and drop whatever of the ERROR was still unsent.
     */
    private void lingerClose() {
        ChannelPipeline p = ctx.pipeline();
        if (p.get("frames") != null) {
            p.replace("frames", "discard", new DiscardInbound());
        }
        ctx.channel().config().setAutoRead(true);
        ctx.executor().schedule(() -> ctx.close(), DataServer.LINGER_MILLIS, TimeUnit.MILLISECONDS);
        SslHandler tls = p.get(SslHandler.class);
        if (tls != null) {
            tls.closeOutbound().addListener(f -> shutdownOutput());
        } else {
            shutdownOutput();
        }
    }

    private void shutdownOutput() {
        if (ctx.channel() instanceof DuplexChannel duplex) {
            duplex.shutdownOutput();
        } else {
            ctx.close();
        }
    }

    /** Releases whatever arrives after a fatal ERROR. */
    private static final class DiscardInbound extends ChannelInboundHandlerAdapter {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ReferenceCountUtil.release(msg);
        }
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
        if (evt instanceof IdleStateEvent && phase == Phase.AUTHENTICATED) {
            server.peerStats().idleTimeouts.increment();
            server.peerLog().warn("idle", "authenticated sessions closed: nothing received for "
                    + server.idleTimeoutMillis() / 1000 + " s (a process server sends PING when idle), latest "
                    + peerName);
            phase = Phase.CLOSING;
            ctx.close();
            return;
        }
        if (evt instanceof IdleStateEvent) {
            return; // before AUTH_OK the handshake timer decides
        }
        super.userEventTriggered(ctx, evt);
    }

    /** Clean shutdown, on the event loop: acks were already flushed by the caller; say goodbye and close. */
    void shutdown() {
        ctx.executor().execute(() -> {
            for (Binding b : bindings.values()) {
                b.flushAcks();
            }
            sendError(ErrorCode.SHUTTING_DOWN, Protocol.NO_HANDLE, 0, "agent is shutting down; reconnect and resume later");
        });
    }

    /** Stops reading from the socket (shutdown and the global cache cap); thread-safe. */
    void setReading(boolean reading) {
        ctx.channel().config().setAutoRead(reading);
    }

    /**
     * One open disk handle on this session: acks, credit and fencing. Durability callbacks arrive on disk
     * threads and are coalesced into one event-loop task each (AtomicLong/AtomicBoolean), so a burst of group
     * commits costs one ACK frame, not one per commit.
     */
    final class Binding implements DiskOwner {
        final int handle;
        final ReplicatedDisk disk;
        final long epoch;
        /** Credit the client still has (as we count it); event loop only. */
        long creditAvailable;
        /** Costs of accepted frames not yet durable: credit returns only after durability. Event loop only. */
        private final ArrayDeque<long[]> pendingCost = new ArrayDeque<>();
        long returnable;
        /** One instance, so waiting for room again while already waiting adds nothing. */
        private final Runnable roomWaiter = this::schedule;
        private long lastAckSent;
        boolean stopped;
        boolean closing;
        /** CHECKSUM_REQUESTs not yet fully answered; event loop only. */
        int checksumsOutstanding;
        private final AtomicLong durableSeen = new AtomicLong();
        private final AtomicBoolean taskQueued = new AtomicBoolean();
        private volatile boolean detached;

        Binding(int handle, ReplicatedDisk disk, long epoch) {
            this.handle = handle;
            this.disk = disk;
            this.epoch = epoch;
        }

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
                server.cacheBudget().park(ServerSession.this);
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
                ctx.executor().execute(() -> {
                    taskQueued.set(false);
                    flushAcks();
                });
            }
        }

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
            if (phase == Phase.CLOSING) {
                return; // nothing follows SHUTTING_DOWN or another fatal ERROR (SPEC.md §6.8)
            }
            if (seq > lastAckSent) {
                lastAckSent = seq;
                ctx.writeAndFlush(new Frames.Ack(handle, seq));
            }
        }

        /** Returns the withheld credit once the cache volume has room again. */
        void awaitRoom() {
            server.cacheBudget().whenRoom(roomWaiter);
        }

        private void returnCredit() {
            // Withhold credit while this disk's ingest log is over its quota: that is what stops a slow disk
            // without stalling the others on the connection (SPEC.md §7). At the cache-volume cap too.
            if (returnable > 0 && !stopped && server.cacheBudget().cacheVolumeOverCap()) {
                awaitRoom();
                return;
            }
            if (returnable > 0 && !stopped && !disk.overQuota() && phase != Phase.CLOSING) {
                int grant = (int) Math.min(returnable, Integer.MAX_VALUE);
                returnable -= grant;
                creditAvailable += grant;
                ctx.writeAndFlush(new Frames.Credit(handle, grant));
            }
        }

        @Override
        public void fenced(long newEpoch) {
            ctx.executor().execute(() -> {
                // Stays in the map, stopped: later WRITE/TAG on the handle are discarded silently (SPEC.md §6.4),
                // and CLOSE_DISK frees it with DISK_CLOSED.
                detached = true;
                if (bindings.get(handle) != this) {
                    return; // already replaced by a re-open of the handle, or closed: nothing to tell C
                }
                if (!stopped && ctx.channel().isActive()) {
                    stopped = true;
                    server.stats().rejected(ErrorCode.FENCED);
                    sendError(ErrorCode.FENCED, handle, 0, "disk " + disk.id() + " was opened by another session under epoch "
                            + newEpoch);
                }
            });
        }

        @Override
        public void failed(String reason) {
            ctx.executor().execute(() -> {
                if (!stopped) {
                    stop();
                    sendError(ErrorCode.DISK_FAILED, handle, 0, "disk " + disk.id() + " failed: " + reason);
                }
            });
        }

        void detach() {
            detached = true;
            disk.release(this);
        }

        /** Where a hash worker sends this handle's CHECKSUMS (from its own thread; Netty writes are thread-safe). */
        io.mtagent.agent.resync.ChecksumService.Sink checksumSink() {
            return new io.mtagent.agent.resync.ChecksumService.Sink() {
                @Override
                public boolean awaitWritable() throws InterruptedException {
                    // TCP back-pressure: the outbound buffer is over its high-water mark until C reads.
                    while (!ctx.channel().isWritable()) {
                        if (detached || !ctx.channel().isActive()) {
                            return false;
                        }
                        Thread.sleep(1);
                    }
                    return !detached && ctx.channel().isActive();
                }

                /** Event loop only: the last frame went out and the request stopped counting as outstanding. */
                private boolean counted = true;

                @Override
                public void send(ResyncFrames.Checksums frame) {
                    if (phase == Phase.CLOSING) {
                        return; // read only on the event loop's schedule; a stale read just sends one frame less
                    }
                    if (!frame.last()) {
                        ctx.writeAndFlush(frame);
                        return;
                    }
                    // In one event-loop task: C may send its next request as soon as it has this frame, and that
                    // request must find the count already lowered (SPEC.md §12.4: outstanding until the last frame).
                    ctx.executor().execute(() -> {
                        if (counted) {
                            counted = false;
                            checksumsOutstanding--;
                        }
                        ctx.writeAndFlush(frame);
                    });
                }

                @Override
                public void finished(String error) {
                    ctx.executor().execute(() -> {
                        if (counted) {
                            counted = false;
                            checksumsOutstanding--;
                        }
                        if (error != null && !stopped && !detached) {
                            stop();
                            sendError(ErrorCode.DISK_FAILED, handle, 0, "disk " + disk.id() + ": checksums: " + error);
                        }
                    });
                }
            };
        }
    }
}
