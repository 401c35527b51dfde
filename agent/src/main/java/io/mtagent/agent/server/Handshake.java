package io.mtagent.agent.server;

import io.mtagent.agent.security.AuthFailureLimiter;
import io.mtagent.protocol.ErrorCode;
import io.mtagent.protocol.Frame;
import io.mtagent.protocol.Frames;
import io.mtagent.protocol.HandshakeCrypto;
import io.mtagent.protocol.Protocol;
import io.mtagent.protocol.ProtocolException;
import java.net.InetAddress;
import java.security.SecureRandom;

/**
 * The handshake of one connection (SPEC.md §4), from accept to AUTH_OK: the admission caps on unauthenticated
 * connections, HELLO (magic, version negotiation, lockout), CHALLENGE, AUTH_PROOF (charged before it is checked,
 * §4.5) and AUTH_OK. Every refusal is thrown as the fatal ERROR to send. The deadline is the session's timer.
 *
 * <p>Security promise: the session hands no frame to its disk streams before {@link #onProof} returned AUTH_OK
 * (and its frame cap stays 1 KiB until then); the proof is compared in constant time ({@link HandshakeCrypto#verifyClientProof}), and an
 * address the limiter locked is answered without computing anything.
 *
 * <p>Thread-safety: confined to the session's event loop.
 */
final class Handshake {
    private static final SecureRandom RANDOM = new SecureRandom();
    /** Below this a one-way clock measurement cannot tell skew from delay (see {@link #onHello}). */
    static final long CLOCK_NOISE_MICROS = 2_000_000;

    enum Step { AWAIT_HELLO, AWAIT_PROOF, DONE }

    private final DataServerContext server;
    private final InetAddress peer;
    private final long sessionId;
    private Step step = Step.AWAIT_HELLO;
    /** Counted by the handshake admission until AUTH_OK or close. */
    private boolean admitted;
    private byte[] clientNonce;
    private byte[] serverNonce;
    private int version = Protocol.VERSION_1;
    private long clockOffsetMicros;

    Handshake(DataServerContext server, InetAddress peer, long sessionId) {
        this.server = server;
        this.peer = peer;
        this.sessionId = sessionId;
    }

    /**
     * Counts the new connection against the caps on unauthenticated connections (§4.5); returns why it is refused
     * (then it is closed at once, without an ERROR), or null when admitted.
     */
    String admit() {
        String refused = server.admission().admit(peer, server.limiter().isTrusted(peer));
        if (refused != null) {
            server.peerStats().connectionsRefused.increment();
            server.peerLog().warn("handshake-cap", "connections refused before TLS: " + refused);
            return refused;
        }
        admitted = true;
        return null;
    }

    /** The connection authenticated or closed: it no longer counts against the admission caps. Idempotent. */
    void leave() {
        if (admitted) {
            admitted = false;
            server.admission().release(peer);
        }
    }

    Step step() {
        return step;
    }

    /** The negotiated protocol version (SPEC.md §9), valid once {@link #onHello} returned. */
    int version() {
        return version;
    }

    /** Agent time minus the client's, in µs; 0 when within the measurement's noise. */
    long clockOffsetMicros() {
        return clockOffsetMicros;
    }

    /** Handles a frame before AUTH_OK: returns the CHALLENGE or AUTH_OK to send, or throws the fatal ERROR. */
    Frame onFrame(Frame frame) throws ProtocolException {
        return switch (step) {
            case AWAIT_HELLO -> onHello(frame, System.currentTimeMillis());
            case AWAIT_PROOF -> onProof(frame);
            case DONE -> throw new IllegalStateException("handshake already completed");
        };
    }

    Frames.Challenge onHello(Frame frame, long nowMillis) throws ProtocolException {
        if (!(frame instanceof Frames.Hello hello)) {
            throw new ProtocolException(ErrorCode.NOT_AUTHENTICATED, frame.type()
                    + " before the handshake; send HELLO first");
        }
        if (hello.magic() == Protocol.LEGACY_MAGIC) {
            throw new ProtocolException(ErrorCode.UNSUPPORTED_VERSION, "this process server uses the handshake of"
                    + " SPEC.md before revision 3 (K-based proofs); this agent requires the SCRAM-SHA-256 handshake of"
                    + " revision 3: update the process server (same passphrase)");
        }
        if (hello.magic() != Protocol.MAGIC) {
            throw new ProtocolException(ErrorCode.UNSUPPORTED_VERSION, "bad magic: not an mtagent client");
        }
        int chosen = Math.min(hello.maxVersion(), Protocol.MAX_VERSION);
        if (chosen < Math.max(hello.minVersion(), Protocol.MIN_VERSION)) {
            throw new ProtocolException(ErrorCode.UNSUPPORTED_VERSION, "client speaks versions " + hello.minVersion()
                    + ".." + hello.maxVersion() + ", this agent " + Protocol.MIN_VERSION + ".." + Protocol.MAX_VERSION);
        }
        if (!server.limiter().allow(peer)) {
            throw new ProtocolException(ErrorCode.AUTH_RATE_LIMITED, "too many failed proofs from "
                    + peer.getHostAddress() + "; retry in " + server.limiter().lockoutRemaining(peer).toSeconds()
                    + " s");
        }
        this.version = chosen;
        clientNonce = hello.clientNonce();
        serverNonce = new byte[HandshakeCrypto.NONCE_LENGTH];
        RANDOM.nextBytes(serverNonce);
        long now = nowMillis * 1000;
        // One-way estimate: it also counts the network and queueing delay before this line ran, which would make
        // RPO look better than it is. Below 2 s the measurement cannot tell skew from delay, so no correction
        // (RPO errs on the safe side); above it, the clocks really differ and RPO is corrected.
        long measured = now - hello.clientTimeMicros();
        clockOffsetMicros = Math.abs(measured) < CLOCK_NOISE_MICROS ? 0 : measured;
        var pass = server.passphrase();
        step = Step.AWAIT_PROOF;
        return new Frames.Challenge(chosen, serverNonce, pass.salt(), pass.iterations(), now, server.agentName());
    }

    Frames.AuthOk onProof(Frame frame) throws ProtocolException {
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
        leave();
        step = Step.DONE;
        return new Frames.AuthOk(server.passphrase().serverProof(clientNonce, serverNonce, server.fingerprint()),
                server.maxFrameLength(), server.maxWriteBytes(), sessionId);
    }
}
