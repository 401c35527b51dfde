package io.mtagent.agent.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.mtagent.agent.Agent;
import io.mtagent.agent.TestAgents;
import io.mtagent.agent.security.AuthFailureLimiter;
import io.mtagent.protocol.ErrorCode;
import io.mtagent.protocol.Frames;
import io.mtagent.protocol.HandshakeCrypto;
import io.mtagent.protocol.Protocol;
import io.netty.buffer.Unpooled;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The session's handshake (SPEC.md §4) on an in-memory channel over a real agent: a good proof, a bad one, the
 * lockout after the free failures, the deadline, the caps on unauthenticated connections, and the frame cap that
 * AUTH_OK lifts. A fresh agent per test: the lockout state is the agent's.
 */
class ServerSessionHandshakeTest {
    @TempDir
    Path dir;
    Agent agent;

    @BeforeEach
    void start() throws Exception {
        agent = TestAgents.start(TestAgents.settings(dir, 1, 1 << 20));
    }

    @AfterEach
    void stop() {
        agent.close();
    }

    @Test
    void aGoodProofByteAtATimeGetsAuthOkWithTheServersProofAndTheLimits() {
        try (EmbeddedSession s = new EmbeddedSession(agent).byteAtATime()) {
            Frames.Challenge c = s.hello(Protocol.MAX_VERSION);
            assertThat(c.version()).isEqualTo(Protocol.MAX_VERSION);
            assertThat(c.iterations()).isEqualTo(TestAgents.ITERATIONS);
            s.send(s.proof(c, TestAgents.PASSPHRASE, s.lastClientNonce()));
            Frames.AuthOk ok = s.expect(Frames.AuthOk.class);

            byte[] key = HandshakeCrypto.deriveKey(TestAgents.PASSPHRASE.toCharArray(), c.salt(), c.iterations());
            assertThat(ok.serverProof()).as("the agent proves it knows the passphrase too")
                    .isEqualTo(HandshakeCrypto.serverProof(key, s.lastClientNonce(), c.serverNonce(),
                            agent.identity().fingerprint()));
            assertThat(ok.maxWriteBytes()).isEqualTo(1 << 20);
            assertThat(ok.maxFrameLength()).isEqualTo(Protocol.maxFrameLengthFor(1 << 20));
            assertThat(ok.sessionId()).isPositive();
            assertThat(agent.dataStats().authSuccesses.count()).isEqualTo(1);
            assertThat(s.untilPong()).as("authenticated: PING is answered").isEmpty();
        }
    }

    @Test
    void aBadProofIsAuthFailedFatalAndCounted() {
        try (EmbeddedSession s = new EmbeddedSession(agent)) {
            Frames.Challenge c = s.hello(Protocol.VERSION_1);
            s.send(s.proof(c, "wrong passphrase", s.lastClientNonce()));
            s.expectError(ErrorCode.AUTH_FAILED);
        }
        assertThat(agent.dataStats().authFailures()).isEqualTo(1);
    }

    @Test
    void afterTheFreeFailuresTheAddressIsLockedOutUncheckedEvenWithTheRightPassphrase() {
        for (int i = 0; i <= AuthFailureLimiter.FREE_FAILURES; i++) {
            try (EmbeddedSession s = new EmbeddedSession(agent)) {
                Frames.Challenge c = s.hello(Protocol.VERSION_1);
                s.send(s.proof(c, "guess " + i, s.lastClientNonce()));
                s.expectError(ErrorCode.AUTH_FAILED);
            }
        }
        // Locked now (failure 4 locks for 1 s): a HELLO is refused before any work ...
        try (EmbeddedSession s = new EmbeddedSession(agent)) {
            s.send(new Frames.Hello(Protocol.MAGIC, 1, 1, new byte[32], 0, "t"));
            assertThat(s.expectError(ErrorCode.AUTH_RATE_LIMITED).message()).contains("too many failed proofs");
        }
        long checked = agent.dataServer().peerStats().proofsChecked.sum();
        assertThat(checked).isEqualTo(AuthFailureLimiter.FREE_FAILURES + 1);
        assertThat(agent.dataStats().authFailures()).isEqualTo(AuthFailureLimiter.FREE_FAILURES + 1);
    }

    @Test
    void aProofArrivingWhileLockedIsRefusedWithoutBeingChecked() {
        EmbeddedSession waiting = new EmbeddedSession(agent);
        Frames.Challenge challenge = waiting.hello(Protocol.VERSION_1); // got its CHALLENGE before the lockout
        for (int i = 0; i <= AuthFailureLimiter.FREE_FAILURES; i++) {
            try (EmbeddedSession s = new EmbeddedSession(agent)) {
                s.send(s.proof(s.hello(Protocol.VERSION_1), "guess " + i, s.lastClientNonce()));
                s.expectError(ErrorCode.AUTH_FAILED);
            }
        }
        try (waiting) {
            waiting.send(waiting.proof(challenge, TestAgents.PASSPHRASE, waiting.lastClientNonce()));
            waiting.expectError(ErrorCode.AUTH_RATE_LIMITED);
        }
        assertThat(agent.dataServer().peerStats().proofsRefusedUnchecked.sum()).isEqualTo(1);
        assertThat(agent.dataStats().authSuccesses.count()).as("the right passphrase got nothing while locked").isZero();
    }

    @Test
    void theHandshakeDeadlineClosesWithoutAnError() {
        try (EmbeddedSession s = new EmbeddedSession(agent)) {
            s.hello(Protocol.VERSION_1);
            s.ch.advanceTimeBy(10, TimeUnit.SECONDS);
            s.ch.runScheduledPendingTasks();
            s.pump();
            assertThat(s.ch.isOpen()).as("closed at the 10 s deadline").isFalse();
            assertThat(s.drain()).as("no ERROR on a time-out (SPEC.md §4.4)").isEmpty();
        }
        assertThat(agent.dataServer().peerStats().handshakeTimeouts.sum()).isEqualTo(1);
    }

    @Test
    void anAuthenticatedSessionHasNoDeadline() {
        try (EmbeddedSession s = new EmbeddedSession(agent)) {
            s.authenticate(Protocol.VERSION_1);
            s.ch.advanceTimeBy(60, TimeUnit.SECONDS);
            s.ch.runScheduledPendingTasks();
            assertThat(s.ch.isOpen()).isTrue();
            assertThat(s.untilPong()).isEmpty();
        }
        assertThat(agent.dataServer().peerStats().handshakeTimeouts.sum()).isZero();
    }

    @Test
    void anAddressGetsEightConnectionsInTheirHandshakeAndTheNinthIsClosedAtOnce() {
        List<EmbeddedSession> open = new ArrayList<>();
        try {
            for (int i = 0; i < HandshakeAdmission.DEFAULT_PER_ADDRESS; i++) {
                open.add(new EmbeddedSession(agent));
            }
            assertThat(open).allMatch(s -> s.ch.isOpen());
            try (EmbeddedSession ninth = new EmbeddedSession(agent)) {
                ninth.pump();
                assertThat(ninth.ch.isOpen()).as("over the per-address cap").isFalse();
                assertThat(ninth.drain()).as("closed without an ERROR (SPEC.md §4.5)").isEmpty();
            }
            assertThat(agent.dataServer().peerStats().connectionsRefused.sum()).isEqualTo(1);
            // One authenticates: it stops counting, so a new connection is admitted again.
            open.get(0).authenticate(Protocol.VERSION_1);
            try (EmbeddedSession next = new EmbeddedSession(agent)) {
                assertThat(next.ch.isOpen()).isTrue();
            }
        } finally {
            open.forEach(EmbeddedSession::close);
        }
    }

    @Test
    void aFrameOverOneKibibyteBeforeAuthOkIsFrameTooLargeAndTheCapRisesAfter() {
        try (EmbeddedSession s = new EmbeddedSession(agent)) {
            s.hello(Protocol.VERSION_1);
            s.sendRaw(Unpooled.buffer().writeInt(Protocol.HANDSHAKE_MAX_FRAME_LENGTH + 1)
                    .writeByte(0x03));
            Frames.Error e = s.expectError(ErrorCode.FRAME_TOO_LARGE);
            assertThat(e.handle()).isEqualTo(Protocol.NO_HANDLE);
        }
        try (EmbeddedSession s = new EmbeddedSession(agent)) {
            s.authenticate(Protocol.VERSION_1);
            s.open(1, "disk-0", 1);
            s.send(EmbeddedSession.write(1, 1, 0, 64 * 1024)); // 64 KiB: far above the handshake cap
            assertThat(s.expectSkippingAcks(Frames.Ack.class).ackedSeq()).isEqualTo(1);
        }
    }
}
