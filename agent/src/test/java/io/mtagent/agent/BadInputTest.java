package io.mtagent.agent;

import static org.assertj.core.api.Assertions.assertThat;

import io.mtagent.agent.disk.ReplicatedDisk;
import io.mtagent.protocol.DiskState;
import io.mtagent.protocol.ErrorCode;
import io.mtagent.protocol.Frame;
import io.mtagent.protocol.Frames;
import io.mtagent.protocol.Protocol;
import io.mtagent.protocol.WriteFrame;
import io.mtagent.protocol.WritePayloads;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every kind of bad input through the real TLS server gets its typed ERROR, the connection survives what is
 * recoverable and is closed on what is not, and nothing of a refused frame reaches a disk.
 */
class BadInputTest {
    private static final int DISK_BYTES = 1 << 20;
    @TempDir
    static Path dir;
    static Agent agent;

    @BeforeAll
    static void start() throws Exception {
        agent = TestAgents.start(TestAgents.settings(dir, 4, DISK_BYTES));
    }

    @AfterAll
    static void stop() throws Exception {
        agent.close();
        // disk-0 only ever received refused writes: its target and ingest log must be untouched.
        byte[] target = Files.readAllBytes(TestAgents.target(dir, 0));
        assertThat(target).hasSize(DISK_BYTES);
        assertThat(Arrays.equals(target, new byte[DISK_BYTES])).as("disk-0 target untouched").isTrue();
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

    private static byte[] pattern(int n) {
        byte[] b = new byte[n];
        Arrays.fill(b, (byte) 0x5A);
        return b;
    }

    private static void expectError(RawTlsClient c, ErrorCode code, boolean closed) throws Exception {
        Frames.Error e = c.readUntil(Frames.Error.class);
        assertThat(e.errorCode()).as("error %s: %s", e.code(), e.message()).isEqualTo(code);
        assertThat(e.fatal()).isEqualTo(code.fatal());
        if (closed) {
            assertThat(c.closedByPeer()).as("connection closed after %s", code).isTrue();
        } else {
            c.send(new Frames.Ping(77));
            assertThat(c.readUntil(Frames.Pong.class).nonce()).as("connection survives %s", code).isEqualTo(77);
        }
    }

    @Test
    void unknownDisk() throws Exception {
        try (RawTlsClient c = authed()) {
            c.send(new Frames.OpenDisk(1, 1, 0, "no-such-disk"));
            expectError(c, ErrorCode.UNKNOWN_DISK, false);
        }
    }

    @Test
    void writePastTheEndUnalignedBadCrcAndCorruptLz4AreRefused() throws Exception {
        double before = agent.dataStats().rejectedCount(ErrorCode.OUT_OF_RANGE);
        try (RawTlsClient c = authed()) {
            open(c, 1, "disk-0", 1);
            c.send(write(1, 1, DISK_BYTES - 512, pattern(1024)));
            expectError(c, ErrorCode.OUT_OF_RANGE, false);

            open(c, 1, "disk-0", 1);
            c.send(write(1, 1, 100, pattern(512)));
            expectError(c, ErrorCode.UNALIGNED, false);

            open(c, 1, "disk-0", 1);
            c.send(new WriteFrame(1, 1, 1, 0, 512, 0xBADC0DE, 0, Unpooled.wrappedBuffer(pattern(512))));
            expectError(c, ErrorCode.CRC_MISMATCH, false);

            open(c, 1, "disk-0", 1);
            byte[] junk = pattern(100);
            junk[0] = (byte) 0xF0; // literal length 15 + extension bytes that run past the input
            c.send(new WriteFrame(1, 1, 1, 0, 4096, WritePayloads.crc32c(Unpooled.wrappedBuffer(new byte[4096])),
                    Protocol.FLAG_LZ4, Unpooled.wrappedBuffer(junk)));
            expectError(c, ErrorCode.BAD_COMPRESSION, false);

            // After each refusal the handle stops: later frames on it are dropped until it is re-opened.
            Frames.DiskOpened reopened = open(c, 1, "disk-0", 1);
            assertThat(reopened.lastDurableSeq()).as("nothing refused was stored").isZero();
        }
        assertThat(agent.dataStats().rejectedCount(ErrorCode.OUT_OF_RANGE)).isEqualTo(before + 1);
        assertThat(agent.disks().byId("disk-0").lastAcceptedSeq()).isZero();
    }

    @Test
    void oversizeFrameClosesTheConnection() throws Exception {
        try (RawTlsClient c = authed()) {
            c.sendRaw(new byte[] {0x7F, 0, 0, 0, 0x20});
            expectError(c, ErrorCode.FRAME_TOO_LARGE, true);
        }
    }

    @Test
    void frameBeforeAuthenticationIsRefused() throws Exception {
        try (RawTlsClient c = new RawTlsClient(agent.dataAddress().getPort(), true)) {
            c.send(new Frames.OpenDisk(1, 1, 0, "disk-0"));
            expectError(c, ErrorCode.NOT_AUTHENTICATED, true);
        }
    }

    @Test
    void oversizeFrameBeforeAuthenticationIsRefusedAtTheHandshakeCap() throws Exception {
        try (RawTlsClient c = new RawTlsClient(agent.dataAddress().getPort(), true)) {
            c.sendRaw(new byte[] {0, 0, 0x10, 0}); // 4 KiB: above the 1 KiB handshake cap
            expectError(c, ErrorCode.FRAME_TOO_LARGE, true);
        }
    }

    @Test
    void unknownFrameType() throws Exception {
        try (RawTlsClient c = authed()) {
            c.sendRaw(new byte[] {0, 0, 0, 1, 0x7E});
            expectError(c, ErrorCode.UNKNOWN_FRAME_TYPE, true);
        }
    }

    @Test
    void oldProtocolVersion() throws Exception {
        try (RawTlsClient c = new RawTlsClient(agent.dataAddress().getPort(), true)) {
            c.send(new Frames.Hello(Protocol.MAGIC, 0, 0, new byte[32], 0, "ancient"));
            expectError(c, ErrorCode.UNSUPPORTED_VERSION, true);
        }
    }

    @Test
    void staleEpochIsRefusedAndNewerEpochFencesTheOlderSession() throws Exception {
        try (RawTlsClient a = authed(); RawTlsClient b = authed(); RawTlsClient old = authed()) {
            open(a, 1, "disk-2", 10);
            Frames.DiskOpened opened = open(b, 5, "disk-2", 11);
            assertThat(opened.state()).isEqualTo(DiskState.PROTECTED);
            Frames.Error fenced = a.readUntil(Frames.Error.class);
            assertThat(fenced.errorCode()).isEqualTo(ErrorCode.FENCED);
            assertThat(fenced.handle()).isEqualTo(1);

            old.send(new Frames.OpenDisk(1, 9, 0, "disk-2"));
            expectError(old, ErrorCode.STALE_EPOCH, false);
        }
    }

    @Test
    void sequenceGapMovesOnlyThatDiskToNeedsResync() throws Exception {
        try (RawTlsClient c = authed()) {
            open(c, 1, "disk-1", 1);
            c.send(write(1, 1, 0, pattern(4096)));
            assertThat(c.readUntil(Frames.Ack.class).ackedSeq()).isEqualTo(1);
            // disk-3's handle on the same connection must carry on after disk-1 breaks.
            Frames.DiskOpened d2 = open(c, 2, "disk-3", 20);
            c.send(write(1, 3, 0, pattern(4096)));
            Frames.Error gap = c.readUntil(Frames.Error.class);
            assertThat(gap.errorCode()).isEqualTo(ErrorCode.SEQUENCE_GAP);
            ReplicatedDisk disk1 = agent.disks().byId("disk-1");
            assertThat(disk1.state()).isEqualTo(DiskState.NEEDS_RESYNC);
            assertThat(disk1.stateReason()).contains("gap");

            long next = d2.lastDurableSeq() + 1;
            c.send(write(2, next, 8192, pattern(4096)));
            Frame f;
            do {
                f = c.read();
            } while (!(f instanceof Frames.Ack ack && ack.handle() == 2));
            assertThat(((Frames.Ack) f).ackedSeq()).isEqualTo(next);

            Frames.DiskOpened again = open(c, 1, "disk-1", 1);
            assertThat(again.state()).isEqualTo(DiskState.NEEDS_RESYNC);
            assertThat(again.credit()).isZero();
        }
    }
}
