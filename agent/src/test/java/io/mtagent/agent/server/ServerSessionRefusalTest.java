package io.mtagent.agent.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.mtagent.agent.Agent;
import io.mtagent.agent.TestAgents;
import io.mtagent.agent.config.AgentConfig;
import io.mtagent.agent.disk.ReplicatedDisk;
import io.mtagent.agent.disk.TargetOpener;
import io.mtagent.agent.security.AuthFailureLimiter;
import io.mtagent.nativeio.BlockDeviceOptions;
import io.mtagent.nativeio.Errno;
import io.mtagent.nativeio.LinuxBlockDevice;
import io.mtagent.nativeio.NativeIOException;
import io.mtagent.nativeio.NativeIOImpl;
import io.mtagent.protocol.DiskState;
import io.mtagent.protocol.ErrorCode;
import io.mtagent.protocol.Frame;
import io.mtagent.protocol.FrameEncoder;
import io.mtagent.protocol.Frames;
import io.mtagent.protocol.Protocol;
import io.mtagent.protocol.ResyncFrames;
import io.mtagent.protocol.TagType;
import io.mtagent.protocol.WriteFrame;
import io.mtagent.protocol.WritePayloads;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every ERROR code of SPEC.md §8 the session sends, one test each, with the state that causes it, on in-memory
 * channels over a real agent. Each checks the code, the fatal flag, the handle and seq named, and what the error
 * does: a fatal one is the last frame before the connection closes; a non-fatal one stops the handle, which then
 * discards silently (§6.4); nothing of a refused frame reaches the disk.
 *
 * <p>One agent for the class (each test streams to a disk of its own); AUTH_RATE_LIMITED and DISK_FAILED start
 * their own, since a lockout and a failed target are agent state.
 */
class ServerSessionRefusalTest {
    private static final int DISKS = 24;
    private static final int DISK_BYTES = 1 << 20;
    private static final int MAX_WRITE = 64 * 1024;
    private static final int WINDOW = 2 * MAX_WRITE;
    private static final AtomicInteger NEXT_DISK = new AtomicInteger();

    @TempDir
    static Path dir;
    static Agent agent;

    @BeforeAll
    static void start() throws Exception {
        agent = TestAgents.start(settings(dir));
    }

    @AfterAll
    static void stop() {
        agent.close();
    }

    private static Map<String, String> settings(Path where) {
        Map<String, String> s = TestAgents.settings(where, DISKS, DISK_BYTES);
        s.put("data.max.write.bytes", String.valueOf(MAX_WRITE));
        s.put("data.credit.window.bytes", String.valueOf(WINDOW));
        return s;
    }

    /** A disk no other test of the class streams to. */
    private static String disk() {
        int n = NEXT_DISK.getAndIncrement();
        assertThat(n).as("enough disks for the tests").isLessThan(DISKS);
        return "disk-" + n;
    }

    private static EmbeddedSession authed(int version) {
        EmbeddedSession s = new EmbeddedSession(agent);
        s.authenticate(version);
        return s;
    }

    private static WriteFrame write(int handle, long seq, long offset) {
        return EmbeddedSession.write(handle, seq, offset, 4096);
    }

    /** Several frames in one read, so nothing the session hands to its event loop runs between them. */
    private static ByteBuf together(Object... frames) {
        ByteBuf b = Unpooled.buffer();
        for (Object f : frames) {
            FrameEncoder.encode(b, (Frame) f);
            if (f instanceof WriteFrame w) {
                w.release();
            }
        }
        return b;
    }

    /** A non-fatal error stopped {@code handle}: a further WRITE on it is discarded without an answer. */
    private static void assertStopped(EmbeddedSession s, int handle, String disk) {
        long accepted = agent.disks().byId(disk).lastAcceptedSeq();
        s.send(write(handle, accepted + 1, 0));
        assertThat(s.errorsUntilPong()).as("a stopped handle discards silently").isEmpty();
        assertThat(agent.disks().byId(disk).lastAcceptedSeq()).as("nothing reached the disk").isEqualTo(accepted);
    }

    // ---------------------------------------------------------------- fatal: framing (§3)

    @Test
    void malformedFrame1() {
        try (EmbeddedSession s = authed(1)) {
            s.sendRaw(Unpooled.buffer().writeInt(0));
            assertThat(s.expectError(ErrorCode.MALFORMED_FRAME).handle()).isEqualTo(Protocol.NO_HANDLE);
        }
    }

    @Test
    void frameTooLarge2() {
        try (EmbeddedSession s = authed(1)) {
            s.sendRaw(Unpooled.buffer().writeInt(Protocol.maxFrameLengthFor(MAX_WRITE) + 1).writeByte(0x20));
            assertThat(s.expectError(ErrorCode.FRAME_TOO_LARGE).handle()).isEqualTo(Protocol.NO_HANDLE);
        }
    }

    @Test
    void unknownFrameType3ForAVersion2FrameOnAVersion1Session() {
        String disk = disk();
        try (EmbeddedSession s = authed(1)) {
            s.open(1, disk, 1);
            s.send(new ResyncFrames.ResyncProgress(1, 1, 1, 7, 0));
            Frames.Error e = s.expectError(ErrorCode.UNKNOWN_FRAME_TYPE);
            assertThat(e.handle()).as("framing errors name no handle").isEqualTo(Protocol.NO_HANDLE);
            assertThat(e.seq()).isZero();
        }
    }

    // ---------------------------------------------------------------- fatal: handshake (§4)

    @Test
    void unsupportedVersion4ForBadMagicTheOldHandshakeAndNoCommonVersion() {
        try (EmbeddedSession s = new EmbeddedSession(agent)) {
            s.send(new Frames.Hello(0x12345678, 1, 1, new byte[32], 0, "t"));
            assertThat(s.expectError(ErrorCode.UNSUPPORTED_VERSION).message()).contains("bad magic");
        }
        try (EmbeddedSession s = new EmbeddedSession(agent)) {
            s.send(new Frames.Hello(Protocol.LEGACY_MAGIC, 1, 1, new byte[32], 0, "t"));
            assertThat(s.expectError(ErrorCode.UNSUPPORTED_VERSION).message()).contains("revision 3");
        }
        try (EmbeddedSession s = new EmbeddedSession(agent)) {
            s.send(new Frames.Hello(Protocol.MAGIC, Protocol.MAX_VERSION + 1, Protocol.MAX_VERSION + 3, new byte[32],
                    0, "t"));
            assertThat(s.expectError(ErrorCode.UNSUPPORTED_VERSION).message()).contains("client speaks versions");
        }
    }

    @Test
    void notAuthenticated5ForAnyFrameButTheExpectedHandshakeFrame() {
        String disk = disk();
        try (EmbeddedSession s = new EmbeddedSession(agent)) {
            s.send(new Frames.Ping(1));
            s.expectError(ErrorCode.NOT_AUTHENTICATED);
        }
        try (EmbeddedSession s = new EmbeddedSession(agent)) {
            s.hello(1);
            s.send(new Frames.OpenDisk(1, 1, 0, disk));
            s.expectError(ErrorCode.NOT_AUTHENTICATED);
        }
        assertThat(agent.disks().byId(disk).epoch()).as("no disk work before AUTH_OK").isZero();
    }

    @Test
    void authFailed6() {
        try (EmbeddedSession s = new EmbeddedSession(agent)) {
            Frames.Challenge c = s.hello(1);
            s.send(s.proof(c, "not the passphrase", s.lastClientNonce()));
            s.expectError(ErrorCode.AUTH_FAILED);
        }
    }

    @Test
    void authRateLimited7(@TempDir Path own) throws Exception {
        try (Agent locked = TestAgents.start(settings(own))) {
            for (int i = 0; i <= AuthFailureLimiter.FREE_FAILURES; i++) {
                try (EmbeddedSession s = new EmbeddedSession(locked)) {
                    s.send(s.proof(s.hello(1), "guess", s.lastClientNonce()));
                    s.expectError(ErrorCode.AUTH_FAILED);
                }
            }
            try (EmbeddedSession s = new EmbeddedSession(locked)) {
                s.send(new Frames.Hello(Protocol.MAGIC, 1, 1, new byte[32], 0, "t"));
                s.expectError(ErrorCode.AUTH_RATE_LIMITED);
            }
        }
    }

    // ---------------------------------------------------------------- answers to OPEN_DISK (§6.1): handle stays free

    @Test
    void unknownDisk8LeavesTheHandleFree() {
        try (EmbeddedSession s = authed(1)) {
            s.send(new Frames.OpenDisk(1, 1, 0, "no-such-disk"));
            Frames.Error e = s.expectError(ErrorCode.UNKNOWN_DISK);
            assertThat(e.handle()).isEqualTo(1);
            assertThat(e.message()).contains("not declared").contains("disk-0");
            s.send(write(1, 1, 0));
            s.expectError(ErrorCode.DISK_NOT_OPEN);
        }
    }

    @Test
    void staleEpoch9() {
        String disk = disk();
        try (EmbeddedSession owner = authed(1); EmbeddedSession s = authed(1)) {
            owner.open(1, disk, 10);
            s.send(new Frames.OpenDisk(1, 9, 0, disk));
            assertThat(s.expectError(ErrorCode.STALE_EPOCH).handle()).isEqualTo(1);
            assertThat(owner.errorsUntilPong()).isEmpty();
        }
    }

    // ---------------------------------------------------------------- non-fatal: stop the handle (§6.4)

    @Test
    void fenced10ForAWriteThatArrivesBeforeTheFenceIsDelivered() {
        String disk = disk();
        try (EmbeddedSession older = authed(1); EmbeddedSession newer = authed(1)) {
            older.open(1, disk, 1);
            newer.open(1, disk, 2); // the fence for `older` waits in its event loop ...
            older.sendRaw(together(write(1, 1, 0))); // ... while this WRITE is read: the disk says NOT_OWNER
            Frames.Error e = older.expectError(ErrorCode.FENCED);
            assertThat(e.seq()).isEqualTo(1);
            assertThat(older.errorsUntilPong()).as("one FENCED, not a second one from the fence").isEmpty();
            assertThat(agent.disks().byId(disk).lastAcceptedSeq()).isZero();
        }
    }

    @Test
    void diskNotOpen11ThenSilenceAndCloseDiskFreesTheHandle() {
        try (EmbeddedSession s = authed(1)) {
            s.sendRaw(together(write(9, 1, 0), write(9, 2, 4096), new Frames.Tag(9, 3, 1, TagType.CRASH_CONSISTENT, "t")));
            Frames.Error e = s.expectError(ErrorCode.DISK_NOT_OPEN);
            assertThat(e.handle()).isEqualTo(9);
            assertThat(e.seq()).isEqualTo(1);
            assertThat(s.errorsUntilPong()).as("one ERROR for the burst").isEmpty();
            s.send(new Frames.CloseDisk(9));
            assertThat(s.expect(Frames.DiskClosed.class)).isEqualTo(new Frames.DiskClosed(9, 0));
            s.send(new Frames.CloseDisk(9));
            s.expectError(ErrorCode.DISK_NOT_OPEN);
        }
    }

    @Test
    void outOfRange12() {
        String disk = disk();
        try (EmbeddedSession s = authed(1)) {
            s.open(1, disk, 1);
            s.send(write(1, 1, DISK_BYTES - 2048));
            Frames.Error e = s.expectError(ErrorCode.OUT_OF_RANGE);
            assertThat(e.handle()).isEqualTo(1);
            assertThat(e.seq()).isEqualTo(1);
            assertStopped(s, 1, disk);
        }
    }

    @Test
    void unaligned13() {
        String disk = disk();
        try (EmbeddedSession s = authed(1)) {
            s.open(1, disk, 1);
            s.send(write(1, 1, 100));
            assertThat(s.expectError(ErrorCode.UNALIGNED).seq()).isEqualTo(1);
            assertStopped(s, 1, disk);
        }
    }

    @Test
    void crcMismatch14() {
        String disk = disk();
        try (EmbeddedSession s = authed(1)) {
            s.open(1, disk, 1);
            WriteFrame good = write(1, 1, 0);
            s.send(new WriteFrame(1, 1, 1, 0, good.length(), good.crc32c() ^ 1, good.flags(), good.data()));
            assertThat(s.expectError(ErrorCode.CRC_MISMATCH).seq()).isEqualTo(1);
            assertStopped(s, 1, disk);
        }
    }

    @Test
    void badCompression15() {
        String disk = disk();
        try (EmbeddedSession s = authed(1)) {
            s.open(1, disk, 1);
            byte[] junk = {(byte) 0xF0, 1, 2, 3};
            s.send(new WriteFrame(1, 1, 1, 0, 512, 0, Protocol.FLAG_LZ4, Unpooled.wrappedBuffer(junk)));
            assertThat(s.expectError(ErrorCode.BAD_COMPRESSION).seq()).isEqualTo(1);
            assertStopped(s, 1, disk);
        }
    }

    @Test
    void sequenceGap16MakesTheDiskNeedsResync() {
        String disk = disk();
        try (EmbeddedSession s = authed(1)) {
            s.open(1, disk, 1);
            s.send(write(1, 1, 0));
            s.send(write(1, 3, 0));
            assertThat(s.expectError(ErrorCode.SEQUENCE_GAP).seq()).isEqualTo(3);
            assertThat(agent.disks().byId(disk).state()).isEqualTo(DiskState.NEEDS_RESYNC);
            assertThat(s.open(1, disk, 1).state()).as("reported on re-open").isEqualTo(DiskState.NEEDS_RESYNC);
        }
    }

    @Test
    void diskNeedsResync17ForAHandleThatWasStreaming() {
        String disk = disk();
        try (EmbeddedSession s = authed(1)) {
            s.open(1, disk, 1);
            agent.disks().byId(disk).requestResync("test: an operator asked");
            s.send(write(1, 1, 0));
            assertThat(s.expectError(ErrorCode.DISK_NEEDS_RESYNC).message()).contains("an operator asked");
            assertStopped(s, 1, disk);
        }
    }

    @Test
    void sequenceConflict18ForAReSendWithOtherContent() {
        String disk = disk();
        try (EmbeddedSession s = authed(1)) {
            s.open(1, disk, 1);
            s.send(write(1, 1, 0));
            s.send(EmbeddedSession.write(1, 2, 0, 4096));
            s.send(new Frames.Tag(1, 1, 1, TagType.CRASH_CONSISTENT, "a tag where a write is stored"));
            assertThat(s.expectError(ErrorCode.SEQUENCE_CONFLICT).seq()).isEqualTo(1);
            assertThat(agent.disks().byId(disk).lastAcceptedSeq()).isEqualTo(2);
        }
    }

    @Test
    void creditExceeded19IsFatal() {
        String disk = disk();
        try (EmbeddedSession s = authed(1)) {
            assertThat(s.open(1, disk, 1).credit()).isEqualTo(WINDOW);
            // Two full writes cost 2 × (4 + 1 + 37 + 64 KiB): 84 bytes over the window.
            s.sendRaw(together(EmbeddedSession.write(1, 1, 0, MAX_WRITE), EmbeddedSession.write(1, 2, MAX_WRITE, MAX_WRITE)));
            Frames.Error e = s.expectError(ErrorCode.CREDIT_EXCEEDED);
            assertThat(e.seq()).isEqualTo(2);
        }
        assertThat(agent.disks().byId(disk).lastAcceptedSeq()).isEqualTo(1);
    }

    @Test
    void diskFailed20WhenTheTargetFailsWhileTheHandleStreams(@TempDir Path own) throws Exception {
        assumeTrue(NativeIOImpl.available(), "needs the Linux native I/O path to inject a target write error");
        AtomicBoolean broken = new AtomicBoolean();
        NativeIOImpl eio = new NativeIOImpl() {
            @Override
            public long pwrite(int fd, ByteBuffer buf, int count, long offset) throws NativeIOException {
                if (broken.get()) {
                    throw new NativeIOException("pwrite", Errno.EIO, "injected");
                }
                return super.pwrite(fd, buf, count, offset);
            }
        };
        TargetOpener opener = d -> d.id().equals("disk-0")
                ? LinuxBlockDevice.open(d.path(), BlockDeviceOptions.defaults().withCreateSize(d.sizeBytes()), eio)
                : TargetOpener.NATIVE.open(d);
        Map<String, String> settings = settings(own);
        TestAgents.setPassphrase(own.resolve("state"));
        try (Agent failing = Agent.start(AgentConfig.of(settings), new SimpleMeterRegistry(), line -> { }, opener);
             EmbeddedSession s = new EmbeddedSession(failing)) {
            s.authenticate(1);
            s.open(1, "disk-0", 1);
            broken.set(true);
            s.send(write(1, 1, 0));
            assertThat(s.expectSkippingAcks(Frames.Error.class)).satisfies(e -> {
                assertThat(e.errorCode()).isEqualTo(ErrorCode.DISK_FAILED);
                assertThat(e.fatal()).isFalse();
                assertThat(e.handle()).isEqualTo(1);
                assertThat(e.message()).contains("EIO");
            });
            ReplicatedDisk d = failing.disks().byId("disk-0");
            s.send(write(1, 2, 0));
            assertThat(s.errorsUntilPong()).isEmpty();
            assertThat(d.lastAcceptedSeq()).isEqualTo(1);
            Frames.DiskOpened reopened = s.open(1, "disk-0", 1);
            assertThat(reopened.state()).isEqualTo(DiskState.FAILED);
            assertThat(reopened.credit()).isZero();
        }
    }

    @Test
    void shuttingDown21IsTheLastFrameAfterTheFinalAcks() {
        String disk = disk();
        try (EmbeddedSession s = authed(1)) {
            s.open(1, disk, 1);
            s.send(write(1, 1, 0));
            assertThat(s.expectSkippingAcks(Frames.Ack.class).ackedSeq()).isEqualTo(1);
            s.session().shutdown();
            s.expectError(ErrorCode.SHUTTING_DOWN);
        }
    }

    @Test
    void protocolViolation22ForNoHandleHelloAfterAuthOkAgentFramesAndAHandleOpenForAnotherDisk() {
        String disk = disk();
        String other = disk();
        try (EmbeddedSession s = authed(1)) {
            s.send(write(Protocol.NO_HANDLE, 1, 0));
            assertThat(s.expectError(ErrorCode.PROTOCOL_VIOLATION).message()).contains("reserved");
        }
        try (EmbeddedSession s = authed(1)) {
            s.send(new Frames.Hello(Protocol.MAGIC, 1, 1, new byte[32], 0, "again"));
            assertThat(s.expectError(ErrorCode.PROTOCOL_VIOLATION).message()).contains("after the handshake");
        }
        try (EmbeddedSession s = authed(1)) {
            s.send(new Frames.Ack(1, 1));
            assertThat(s.expectError(ErrorCode.PROTOCOL_VIOLATION).message()).contains("sent by the agent");
        }
        try (EmbeddedSession s = authed(1)) {
            s.open(1, disk, 1);
            s.send(new Frames.OpenDisk(1, 1, 0, other));
            assertThat(s.expectError(ErrorCode.PROTOCOL_VIOLATION).message()).contains("already open for disk");
        }
    }

    @Test
    void protocolViolation22ForMoreHandlesNamedWithoutOpenThanTheCap() {
        try (EmbeddedSession s = authed(1)) {
            ByteBuf burst = Unpooled.buffer();
            for (int h = 0; h < DiskStreams.MAX_DISCARDING_HANDLES; h++) {
                FrameEncoder.encode(burst, new Frames.CloseDisk(h));
            }
            s.sendRaw(burst);
            assertThat(s.drain()).hasSize(DiskStreams.MAX_DISCARDING_HANDLES)
                    .allMatch(f -> ((Frames.Error) f).errorCode() == ErrorCode.DISK_NOT_OPEN);
            s.send(new Frames.CloseDisk(DiskStreams.MAX_DISCARDING_HANDLES));
            assertThat(s.expectError(ErrorCode.PROTOCOL_VIOLATION).message()).contains("without OPEN_DISK");
        }
    }

    @Test
    void writeTooLarge23() {
        String disk = disk();
        try (EmbeddedSession s = authed(1)) {
            s.open(1, disk, 1);
            // Compressed, so the frame fits the frame cap while its length is over maxWriteBytes.
            WriteFrame zeros = WritePayloads.encode(ByteBufAllocator.DEFAULT, 1, 1, 1, 0,
                    Unpooled.wrappedBuffer(new byte[2 * MAX_WRITE]), true);
            assertThat(zeros.compressed()).isTrue();
            s.send(zeros);
            assertThat(s.expectError(ErrorCode.WRITE_TOO_LARGE).seq()).isEqualTo(1);
            assertStopped(s, 1, disk);
        }
    }

    @Test
    void internal24ForAnUnexpectedException() {
        double before = agent.dataStats().rejectedCount(ErrorCode.INTERNAL);
        try (EmbeddedSession s = authed(1)) {
            s.ch.pipeline().fireExceptionCaught(new IllegalStateException("a bug"));
            assertThat(s.expectError(ErrorCode.INTERNAL).message()).contains("IllegalStateException")
                    .doesNotContain("a bug");
        }
        assertThat(agent.dataStats().rejectedCount(ErrorCode.INTERNAL)).isEqualTo(before + 1);
    }

    @Test
    void diskRecovering25ForAChecksumRequestReadBeforeTheFenceOfTheRollback() {
        String disk = disk();
        try (EmbeddedSession s = authed(2)) {
            s.open(1, disk, 1);
            agent.disks().byId(disk).setRecoveryState(DiskState.RECOVERING, "test: failover test");
            s.sendRaw(together(new ResyncFrames.ChecksumRequest(1, 1, 0, 65536, 65536, ResyncFrames.ALGORITHM_SHA256)));
            assertThat(s.expectError(ErrorCode.DISK_RECOVERING).message()).contains("failover test");
            assertThat(s.errorsUntilPong()).as("the fence that follows adds nothing").isEmpty();
            Frames.DiskOpened reopened = s.open(1, disk, 1);
            assertThat(reopened.state()).isEqualTo(DiskState.RECOVERING);
            assertThat(reopened.credit()).isZero();
        }
    }

    @Test
    void notResyncing26() {
        String disk = disk();
        try (EmbeddedSession s = authed(2)) {
            s.open(1, disk, 1);
            s.send(new ResyncFrames.ResyncProgress(1, 1, 1, 42, 65536));
            assertThat(s.expectError(ErrorCode.NOT_RESYNCING).seq()).isEqualTo(1);
            assertStopped(s, 1, disk);
        }
    }

    @Test
    void tooManyRequests27ForAFifthOutstandingChecksumRequest() {
        String disk = disk();
        try (EmbeddedSession s = authed(2)) {
            s.open(1, disk, 1);
            Object[] five = new Object[ResyncFrames.MAX_OUTSTANDING_REQUESTS + 1];
            for (int i = 0; i < five.length; i++) {
                five[i] = new ResyncFrames.ChecksumRequest(1, i, 0, 65536, 65536, ResyncFrames.ALGORITHM_SHA256);
            }
            s.sendRaw(together(five)); // read in one go: none of the first four is answered before the fifth
            Frames.Error e = s.expectSkippingAcks(Frames.Error.class);
            assertThat(e.errorCode()).isEqualTo(ErrorCode.TOO_MANY_REQUESTS);
            assertThat(e.fatal()).isFalse();
            // The four accepted ones are answered in full (one 64 KiB chunk each: one frame flagged last).
            int answered = 0;
            while (answered < ResyncFrames.MAX_OUTSTANDING_REQUESTS) {
                ResyncFrames.Checksums c = s.expect(ResyncFrames.Checksums.class);
                assertThat(c.last()).isTrue();
                answered++;
            }
            assertThat(s.errorsUntilPong()).isEmpty();
        }
    }
}
