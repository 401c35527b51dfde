package io.mtagent.agent;

import static org.assertj.core.api.Assertions.assertThat;

import io.mtagent.protocol.DiskState;
import io.mtagent.protocol.ErrorCode;
import io.mtagent.protocol.Frame;
import io.mtagent.protocol.Frames;
import io.mtagent.protocol.Protocol;
import io.mtagent.protocol.WriteFrame;
import io.mtagent.protocol.WritePayloads;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.util.ReferenceCountUtil;
import java.io.ByteArrayOutputStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The five places where the agent broke protocol/SPEC.md (issue 21) and each ambiguity that revision 3 resolved,
 * through the real TLS data server with a hand-made client: one test per rule, named after it.
 */
class SpecConformanceTest {
    private static final int DISK_BYTES = 1 << 20;
    @TempDir
    static Path dir;
    static Agent agent;

    @BeforeAll
    static void start() throws Exception {
        agent = TestAgents.start(TestAgents.settings(dir, 4, DISK_BYTES));
    }

    @AfterAll
    static void stop() {
        agent.close();
    }

    private RawTlsClient authed() throws Exception {
        RawTlsClient c = new RawTlsClient(agent.dataAddress().getPort(), true);
        assertThat(c.authenticate(TestAgents.PASSPHRASE)).isInstanceOf(Frames.AuthOk.class);
        return c;
    }

    private static Frames.DiskOpened open(RawTlsClient c, int handle, String disk, long epoch) throws Exception {
        c.send(new Frames.OpenDisk(handle, epoch, 0, disk));
        return c.readUntil(Frames.DiskOpened.class);
    }

    private static WriteFrame write(int handle, long seq, long offset, byte[] data) {
        return WritePayloads.encode(ByteBufAllocator.DEFAULT, handle, seq, 1, offset, Unpooled.wrappedBuffer(data), false);
    }

    /** Sends a PING and returns every frame that arrived before its PONG (in order), PONG excluded. */
    private static List<Frame> untilPong(RawTlsClient c) throws Exception {
        c.send(new Frames.Ping(4242));
        List<Frame> seen = new ArrayList<>();
        while (true) {
            Frame f = c.read();
            if (f instanceof Frames.Pong p && p.nonce() == 4242) {
                return seen;
            }
            seen.add(f);
            ReferenceCountUtil.release(f);
        }
    }

    private static List<Frames.Error> errors(List<Frame> frames) {
        return frames.stream().filter(Frames.Error.class::isInstance).map(Frames.Error.class::cast).toList();
    }

    private static Frames.Error fatal(RawTlsClient c, ErrorCode code) throws Exception {
        Frames.Error e = c.readUntil(Frames.Error.class);
        assertThat(e.errorCode()).as("%s", e.message()).isEqualTo(code);
        assertThat(e.fatal()).isTrue();
        assertThat(c.closedByPeer()).as("closed after %s", code).isTrue();
        return e;
    }

    // ---- the five violations

    /** §10: a match offset of 0 is an invalid block: BAD_COMPRESSION, not accepted. */
    @Test
    void lz4MatchOffsetZeroIsBadCompression() throws Exception {
        ByteArrayOutputStream block = new ByteArrayOutputStream();
        block.write(0x1F); // 1 literal, match length extended
        block.write('A');
        block.write(0); // offset 0, little-endian
        block.write(0);
        block.write(255); // match length 4 + 15 + 255 + 232 = 506
        block.write(232);
        block.write(0x50); // last sequence: 5 literals
        block.writeBytes(new byte[] {'A', 'A', 'A', 'A', 'A'});
        byte[] plain = new byte[512];
        Arrays.fill(plain, (byte) 'A'); // what a decoder copying from itself might produce
        try (RawTlsClient c = authed()) {
            open(c, 1, "disk-0", 1);
            c.send(new WriteFrame(1, 1, 1, 0, 512, WritePayloads.crc32c(Unpooled.wrappedBuffer(plain)),
                    Protocol.FLAG_LZ4, Unpooled.wrappedBuffer(block.toByteArray())));
            Frames.Error e = c.readUntil(Frames.Error.class);
            assertThat(e.errorCode()).as(e.message()).isEqualTo(ErrorCode.BAD_COMPRESSION);
            assertThat(e.message()).contains("offset 0");
        }
        assertThat(agent.disks().byId("disk-0").lastAcceptedSeq()).isZero();
    }

    /** §6.4/§8: after DISK_NOT_OPEN, later WRITE and TAG on the handle are discarded silently. */
    @Test
    void framesAfterDiskNotOpenAreDiscardedSilently() throws Exception {
        try (RawTlsClient c = authed()) {
            for (int seq = 1; seq <= 4; seq++) {
                c.send(write(9, seq, 0, new byte[512]));
            }
            c.send(new Frames.Tag(9, 5, 1, io.mtagent.protocol.TagType.CRASH_CONSISTENT, "t"));
            List<Frames.Error> errors = errors(untilPong(c));
            assertThat(errors).as("one ERROR for the burst").hasSize(1);
            assertThat(errors.get(0).errorCode()).isEqualTo(ErrorCode.DISK_NOT_OPEN);
        }
    }

    /** §6.4/§8: after FENCED, later WRITE and TAG on the handle are discarded silently. */
    @Test
    void framesAfterFencedAreDiscardedSilently() throws Exception {
        try (RawTlsClient first = authed(); RawTlsClient second = authed()) {
            open(first, 1, "disk-1", 5);
            open(second, 1, "disk-1", 5); // equal epoch: takes the disk over
            Frames.Error fenced = first.readUntil(Frames.Error.class);
            assertThat(fenced.errorCode()).isEqualTo(ErrorCode.FENCED);
            for (int seq = 1; seq <= 3; seq++) {
                first.send(write(1, seq, 0, new byte[512]));
            }
            assertThat(errors(untilPong(first))).as("nothing after FENCED").isEmpty();
        }
    }

    /** §8: a frame naming handle 0xFFFFFFFF is PROTOCOL_VIOLATION (fatal), not DISK_NOT_OPEN. */
    @Test
    void handleFfffffffIsAProtocolViolation() throws Exception {
        try (RawTlsClient c = authed()) {
            c.send(write(Protocol.NO_HANDLE, 1, 0, new byte[512]));
            fatal(c, ErrorCode.PROTOCOL_VIOLATION);
        }
        try (RawTlsClient c = authed()) {
            c.send(new Frames.CloseDisk(Protocol.NO_HANDLE));
            fatal(c, ErrorCode.PROTOCOL_VIOLATION);
        }
    }

    /** §3: a reserved WRITE flag bit is a framing error: MALFORMED_FRAME naming NO_HANDLE. */
    @Test
    void reservedFlagBitIsMalformedForTheConnection() throws Exception {
        try (RawTlsClient c = authed()) {
            open(c, 3, "disk-2", 1);
            c.send(new WriteFrame(3, 1, 1, 0, 512, 0, 0x80, Unpooled.wrappedBuffer(new byte[512])));
            Frames.Error e = fatal(c, ErrorCode.MALFORMED_FRAME);
            assertThat(e.handle()).isEqualTo(Protocol.NO_HANDLE);
            assertThat(e.seq()).isZero();
        }
    }

    /** §3: an uncompressed WRITE whose data is not {@code length} bytes is MALFORMED_FRAME naming NO_HANDLE. */
    @Test
    void rawLengthMismatchIsMalformedForTheConnection() throws Exception {
        try (RawTlsClient c = authed()) {
            open(c, 3, "disk-2", 1);
            c.send(new WriteFrame(3, 1, 1, 0, 1024, 0, 0, Unpooled.wrappedBuffer(new byte[512])));
            Frames.Error e = fatal(c, ErrorCode.MALFORMED_FRAME);
            assertThat(e.handle()).isEqualTo(Protocol.NO_HANDLE);
        }
    }

    // ---- the resolved ambiguities

    /** §6.1/§6.4: a v1 WRITE on a handle opened in needs-resync is discarded silently (the handle opens stopped). */
    @Test
    void v1WriteToANeedsResyncDiskIsDiscardedSilently() throws Exception {
        try (RawTlsClient c = authed()) {
            c.send(new Frames.OpenDisk(4, 1, 50, "disk-3")); // C holds nothing before 50: no common history
            Frames.DiskOpened o = c.readUntil(Frames.DiskOpened.class);
            assertThat(o.state()).isEqualTo(DiskState.NEEDS_RESYNC);
            assertThat(o.credit()).isZero();
            c.send(write(4, 1, 0, new byte[512]));
            assertThat(errors(untilPong(c))).isEmpty();
        }
        assertThat(agent.disks().byId("disk-3").lastAcceptedSeq()).isZero();
    }

    /** §3/§4.4: an unknown frame type before AUTH_OK is UNKNOWN_FRAME_TYPE (framing first), not NOT_AUTHENTICATED. */
    @Test
    void unknownTypeBeforeAuthenticationIsUnknownFrameType() throws Exception {
        try (RawTlsClient c = new RawTlsClient(agent.dataAddress().getPort(), true)) {
            c.sendRaw(new byte[] {0, 0, 0, 1, 0x7E});
            fatal(c, ErrorCode.UNKNOWN_FRAME_TYPE);
        }
    }

    /** §6.4/§6.7: CLOSE_DISK on a handle stopped by DISK_NOT_OPEN is answered DISK_CLOSED(handle, 0) and frees it. */
    @Test
    void closeDiskAfterDiskNotOpenIsDiskClosed() throws Exception {
        try (RawTlsClient c = authed()) {
            c.send(write(7, 1, 0, new byte[512]));
            assertThat(c.readUntil(Frames.Error.class).errorCode()).isEqualTo(ErrorCode.DISK_NOT_OPEN);
            c.send(new Frames.CloseDisk(7));
            Frames.DiskClosed closed = c.readUntil(Frames.DiskClosed.class);
            assertThat(closed.handle()).isEqualTo(7);
            assertThat(closed.lastDurableSeq()).isZero();
            // Freed: the next frame on it is DISK_NOT_OPEN again (and a CLOSE_DISK of a never-named handle too).
            c.send(new Frames.CloseDisk(8));
            assertThat(c.readUntil(Frames.Error.class).errorCode()).isEqualTo(ErrorCode.DISK_NOT_OPEN);
        }
    }

    /** §6.3/§6.6: a re-send of a seq an ACK on the handle already covered gets its credit back but no new ACK. */
    @Test
    void resendOfAnAcknowledgedSeqIsNotAcknowledgedAgain() throws Exception {
        try (RawTlsClient c = authed()) {
            open(c, 2, "disk-2", 1);
            byte[] data = new byte[512];
            data[0] = 1;
            c.send(write(2, 1, 0, data));
            assertThat(c.readUntil(Frames.Ack.class).ackedSeq()).isEqualTo(1);
            c.send(write(2, 1, 0, data));
            List<Frame> after = untilPong(c);
            assertThat(after).noneMatch(Frames.Ack.class::isInstance);
            assertThat(after).anyMatch(Frames.Credit.class::isInstance);
            assertThat(errors(after)).isEmpty();
        }
    }

    /** §5.5: an empty diskId is outside the field's limits: MALFORMED_FRAME (fatal). */
    @Test
    void emptyDiskIdIsMalformed() throws Exception {
        try (RawTlsClient c = authed()) {
            c.send(new Frames.OpenDisk(1, 1, 0, ""));
            fatal(c, ErrorCode.MALFORMED_FRAME);
        }
    }

    /** §5.5: a well-formed diskId longer than any the configuration accepts (128) is UNKNOWN_DISK, not fatal. */
    @Test
    void diskIdLongerThanTheConfigurationAllowsIsUnknownDisk() throws Exception {
        try (RawTlsClient c = authed()) {
            c.send(new Frames.OpenDisk(1, 1, 0, "d".repeat(Protocol.MAX_DISK_ID_BYTES)));
            Frames.Error e = c.readUntil(Frames.Error.class);
            assertThat(e.errorCode()).isEqualTo(ErrorCode.UNKNOWN_DISK);
            assertThat(e.fatal()).isFalse();
        }
    }
}
