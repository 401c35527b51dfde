package io.mtagent.protocol;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.fail;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.DecoderException;
import java.util.List;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The version-2 frames (SPEC.md §12): they round-trip under v2, are unknown under v1, and every bad value
 * (chunk size, mode, algorithm, flags, counts, truncation, trailing bytes) is the exact error code.
 */
class ResyncFramesTest {
    private static final int CAP = Protocol.maxFrameLengthFor(Protocol.DEFAULT_MAX_WRITE_BYTES);

    static List<Frame> samples() {
        byte[] digests = new byte[3 * 32];
        for (int i = 0; i < digests.length; i++) {
            digests[i] = (byte) i;
        }
        return List.of(
                new ResyncFrames.ResyncStart(1, 7, 1_000, 42, ResyncFrames.Mode.DIFFERENTIAL, 1 << 20, 0, 256L << 20),
                new ResyncFrames.ResyncProgress(1, 8, 1_001, 42, 64L << 20),
                new ResyncFrames.ResyncEnd(1, 9, 1_002, 42, true, "resync-42"),
                new ResyncFrames.ResyncEnd(1, 9, 1_002, 42, false, ""),
                new ResyncFrames.ResyncState(1, 42, ResyncFrames.Mode.FULL, 65536, 0, 1L << 30, 1L << 29),
                new ResyncFrames.ChecksumRequest(1, 5, 1 << 20, 4L << 20, 1 << 20, ResyncFrames.ALGORITHM_SHA256),
                new ResyncFrames.Checksums(1, 5, 1 << 20, 77, ResyncFrames.FLAG_LAST, digests),
                new Frames.DiskOpened(1, 1 << 20, 512, DiskState.RESYNCING, 5, 5, 1 << 23));
    }

    @Test
    void everyV2FrameRoundTripsUnderV2() {
        for (Frame f : samples()) {
            EmbeddedChannel ch = decoder(Protocol.VERSION_2);
            ch.writeInbound(FrameEncoder.encode(Unpooled.buffer(), f));
            Object out = ch.readInbound();
            if (f instanceof ResyncFrames.Checksums c) {
                ResyncFrames.Checksums d = (ResyncFrames.Checksums) out;
                assertThat(d.digests()).isEqualTo(c.digests());
                assertEquals(c.offset(), d.offset());
                assertEquals(c.appliedSeq(), d.appliedSeq());
                assertEquals(c.last(), d.last());
            } else {
                assertEquals(f, out);
            }
            assertFalse(ch.finish());
        }
    }

    @Test
    void everyV2FrameFailsAtEveryTruncation() {
        for (Frame f : samples()) {
            ByteBuf full = FrameEncoder.encode(Unpooled.buffer(), f);
            int bodyLength = full.readableBytes() - 5;
            for (int cut = 0; cut < bodyLength; cut++) {
                ByteBuf b = Unpooled.buffer().writeInt(1 + cut).writeBytes(full, 4, 1 + cut);
                expect(Protocol.VERSION_2, ErrorCode.MALFORMED_FRAME, b);
            }
            ByteBuf trailing = Unpooled.buffer().writeInt(full.readableBytes() - 4 + 1)
                    .writeBytes(full, 4, full.readableBytes() - 4).writeByte(0);
            expect(Protocol.VERSION_2, ErrorCode.MALFORMED_FRAME, trailing);
            full.release();
        }
    }

    @Test
    void v2TypesAreUnknownUnderV1() {
        for (Frame f : samples()) {
            if (f instanceof Frames.DiskOpened) {
                continue;
            }
            expect(Protocol.VERSION_1, ErrorCode.UNKNOWN_FRAME_TYPE, FrameEncoder.encode(Unpooled.buffer(), f));
        }
    }

    @Test
    void v2DiskStatesAreMalformedUnderV1() {
        expect(Protocol.VERSION_1, ErrorCode.MALFORMED_FRAME, FrameEncoder.encode(Unpooled.buffer(),
                new Frames.DiskOpened(1, 1 << 20, 512, DiskState.INITIAL_SYNC, 0, 0, 0)));
        expect(Protocol.VERSION_2, ErrorCode.MALFORMED_FRAME, frame(FrameType.DISK_OPENED.code(),
                b -> b.writeInt(1).writeLong(1 << 20).writeInt(512).writeByte(8).writeLong(0).writeLong(0).writeInt(0)));
    }

    @Test
    void resyncWriteFlagIsReservedUnderV1AndKnownUnderV2() {
        expect(Protocol.VERSION_1, ErrorCode.MALFORMED_FRAME, write(Protocol.FLAG_RESYNC));
        EmbeddedChannel ch = decoder(Protocol.VERSION_2);
        ch.writeInbound(write(Protocol.FLAG_RESYNC));
        WriteFrame w = ch.readInbound();
        assertThat(w.resync()).isTrue();
        assertThat(w.compressed()).isFalse();
        w.release();
        assertFalse(ch.finish());
        expect(Protocol.VERSION_2, ErrorCode.MALFORMED_FRAME, write(0x04));
    }

    @ParameterizedTest
    @ValueSource(ints = {0, 512, 32768, 65535, 65537, 98304, 2 << 20, -1})
    void chunkSizesOutsidePowersOfTwoIn64KiBTo1MiBAreMalformed(int chunk) {
        expect(Protocol.VERSION_2, ErrorCode.MALFORMED_FRAME, frame(FrameType.CHECKSUM_REQUEST.code(),
                b -> b.writeInt(1).writeInt(1).writeLong(0).writeLong(1 << 20).writeInt(chunk).writeByte(1)));
        expect(Protocol.VERSION_2, ErrorCode.MALFORMED_FRAME, frame(FrameType.RESYNC_START.code(),
                b -> b.writeInt(1).writeLong(1).writeLong(0).writeLong(1).writeByte(2).writeInt(chunk)
                        .writeLong(0).writeLong(1 << 20)));
    }

    @Test
    void unknownAlgorithmModeAndConsistentValuesAreMalformed() {
        expect(Protocol.VERSION_2, ErrorCode.MALFORMED_FRAME, frame(FrameType.CHECKSUM_REQUEST.code(),
                b -> b.writeInt(1).writeInt(1).writeLong(0).writeLong(1 << 20).writeInt(1 << 20).writeByte(2)));
        for (int mode : new int[] {0, 4, 255}) {
            expect(Protocol.VERSION_2, ErrorCode.MALFORMED_FRAME, frame(FrameType.RESYNC_START.code(),
                    b -> b.writeInt(1).writeLong(1).writeLong(0).writeLong(1).writeByte(mode).writeInt(1 << 20)
                            .writeLong(0).writeLong(1 << 20)));
        }
        expect(Protocol.VERSION_2, ErrorCode.MALFORMED_FRAME, frame(FrameType.RESYNC_END.code(),
                b -> b.writeInt(1).writeLong(1).writeLong(0).writeLong(1).writeByte(2).writeShort(0)));
    }

    @Test
    void checksumsCountMustMatchTheBodyAndItsLimit() {
        // count says 2, one digest present: ends inside the digests
        expect(Protocol.VERSION_2, ErrorCode.MALFORMED_FRAME, frame(FrameType.CHECKSUMS.code(),
                b -> checksumsHeader(b, 1, 2).writeZero(32)));
        // count says 1, two digests present: trailing bytes
        expect(Protocol.VERSION_2, ErrorCode.MALFORMED_FRAME, frame(FrameType.CHECKSUMS.code(),
                b -> checksumsHeader(b, 1, 1).writeZero(64)));
        // over the per-frame limit, refused before reading (or allocating) the digests
        expect(Protocol.VERSION_2, ErrorCode.MALFORMED_FRAME, frame(FrameType.CHECKSUMS.code(),
                b -> checksumsHeader(b, 1, ResyncFrames.MAX_DIGESTS_PER_FRAME + 1)));
        // reserved flag bits, and an empty frame that is not the last
        expect(Protocol.VERSION_2, ErrorCode.MALFORMED_FRAME, frame(FrameType.CHECKSUMS.code(),
                b -> checksumsHeader(b, 3, 0)));
        expect(Protocol.VERSION_2, ErrorCode.MALFORMED_FRAME, frame(FrameType.CHECKSUMS.code(),
                b -> checksumsHeader(b, 0, 0)));
    }

    @Test
    void constructorsRefuseWhatTheWireRefuses() {
        assertThat(ResyncFrames.validChunkSize(1 << 16)).isTrue();
        assertThat(ResyncFrames.validChunkSize(1 << 20)).isTrue();
        assertThat(ResyncFrames.validChunkSize(3 << 16)).isFalse();
        try {
            new ResyncFrames.ChecksumRequest(1, 1, 0, 1, 1000, 1);
            fail("chunk size 1000 accepted");
        } catch (IllegalArgumentException expected) {
            // fine
        }
    }

    @Test
    void randomlyMutatedV2StreamsOnlyEverFailWithProtocolErrors() {
        java.util.SplittableRandom r = new java.util.SplittableRandom(Long.getLong("mtagent.fuzz.seed", 10));
        ByteBuf all = Unpooled.buffer();
        for (Frame f : samples()) {
            FrameEncoder.encode(all, f);
        }
        byte[] clean = io.netty.buffer.ByteBufUtil.getBytes(all);
        all.release();
        for (int round = 0; round < 2000; round++) {
            byte[] b = clean.clone();
            int flips = 1 + r.nextInt(4);
            for (int i = 0; i < flips; i++) {
                b[r.nextInt(b.length)] = (byte) r.nextInt(256);
            }
            EmbeddedChannel ch = decoder(Protocol.VERSION_2);
            try {
                for (int p = 0; p < b.length; ) { // fragmented delivery
                    int n = Math.min(b.length - p, 1 + r.nextInt(64));
                    ch.writeInbound(Unpooled.wrappedBuffer(b, p, n));
                    p += n;
                }
            } catch (DecoderException e) {
                assertThat(e.getCause()).as("round %d", round).isInstanceOf(ProtocolException.class);
            }
            Object o;
            while ((o = ch.readInbound()) != null) {
                io.netty.util.ReferenceCountUtil.release(o);
            }
            ch.finishAndReleaseAll();
        }
    }

    // ---- helpers ----

    private static ByteBuf checksumsHeader(ByteBuf b, int flags, int count) {
        return b.writeInt(1).writeInt(1).writeLong(0).writeLong(0).writeByte(flags).writeShort(count);
    }

    private static ByteBuf write(int flags) {
        return frame(FrameType.WRITE.code(), b -> b.writeInt(1).writeLong(1).writeLong(0).writeLong(0).writeInt(512)
                .writeInt(0).writeByte(flags).writeZero(512));
    }

    private static EmbeddedChannel decoder(int version) {
        FrameDecoder d = new FrameDecoder(CAP);
        d.setVersion(version);
        return new EmbeddedChannel(d);
    }

    private static void expect(int version, ErrorCode code, ByteBuf in) {
        EmbeddedChannel ch = decoder(version);
        try {
            ch.writeInbound(in);
        } catch (DecoderException e) {
            assertThat(e.getCause()).isInstanceOf(ProtocolException.class);
            assertEquals(code, ((ProtocolException) e.getCause()).code(), e.getCause().getMessage());
            assertEquals(0, in.refCnt(), "the input must be released");
            return;
        }
        expectCaught(ch, code);
    }

    private static void expectCaught(EmbeddedChannel ch, ErrorCode code) {
        try {
            ch.checkException();
            fail("expected " + code + " but decoded " + ch.readInbound());
        } catch (DecoderException e) {
            assertThat(e.getCause()).isInstanceOf(ProtocolException.class);
            assertEquals(code, ((ProtocolException) e.getCause()).code(), e.getCause().getMessage());
        }
    }

    private static ByteBuf frame(int type, Consumer<ByteBuf> body) {
        ByteBuf b = Unpooled.buffer();
        b.writeInt(0).writeByte(type);
        body.accept(b);
        b.setInt(0, b.readableBytes() - 4);
        return b;
    }
}
