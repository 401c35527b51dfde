package io.mtagent.protocol;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.fail;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.DecoderException;
import java.nio.charset.StandardCharsets;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Malformed input yields a {@link ProtocolException} with the exact {@link ErrorCode} (it reaches the pipeline as
 * the cause of a {@link DecoderException}), and afterwards the decoder discards everything (state BAD).
 */
class FrameDecoderBadInputTest {
    private static final int POST_AUTH_CAP = Protocol.maxFrameLengthFor(Protocol.DEFAULT_MAX_WRITE_BYTES);

    private RecordingAllocator alloc;
    private FrameDecoder decoder;
    private EmbeddedChannel ch;

    @BeforeEach
    void setUp() {
        alloc = new RecordingAllocator();
        decoder = new FrameDecoder(Protocol.HANDSHAKE_MAX_FRAME_LENGTH);
        ch = new EmbeddedChannel();
        ch.config().setAllocator(alloc);
        ch.pipeline().addLast(decoder);
    }

    @AfterEach
    void tearDown() {
        assertFalse(ch.finish());
        assertNull(alloc.firstUnreleased(), "decoder allocated a buffer it did not release");
    }

    // ---- framing ----

    @Test
    void lengthZero() {
        expect(ErrorCode.MALFORMED_FRAME, bytes(0, 0, 0, 0));
    }

    @Test
    void lengthOverTheHandshakeCapFailsOnTheLengthWordAlone() {
        expect(ErrorCode.FRAME_TOO_LARGE, u32(Protocol.HANDSHAKE_MAX_FRAME_LENGTH + 1));
        assertEquals(0, alloc.requests(), "nothing may be allocated for a frame over the cap");
    }

    @Test
    void hugeLengthFailsOnTheLengthWordAlone() {
        expect(ErrorCode.FRAME_TOO_LARGE, u32(0xFFFFFFFF));
        assertEquals(0, alloc.requests());
    }

    @Test
    void lengthWordFedByteByByteFailsOnItsLastByte() {
        byte[] len = {0x7F, (byte) 0xFF, (byte) 0xFF, (byte) 0xFF};
        for (int i = 0; i < 3; i++) {
            ch.writeInbound(Unpooled.wrappedBuffer(new byte[] {len[i]}));
        }
        expect(ErrorCode.FRAME_TOO_LARGE, Unpooled.wrappedBuffer(new byte[] {len[3]}));
        assertThat(alloc.largestRequest()).isLessThanOrEqualTo(256);
    }

    @Test
    void lengthExactlyAtTheCapIsAccepted() {
        // A PING padded to exactly the cap is MALFORMED (trailing bytes) -- not FRAME_TOO_LARGE.
        expect(ErrorCode.MALFORMED_FRAME, frame(FrameType.PING.code(), b -> b.writeZero(Protocol.HANDSHAKE_MAX_FRAME_LENGTH - 1)));
    }

    @Test
    void capRaisedBySetMaxFrameLength() {
        ByteBuf bigTag = frame(FrameType.TAG.code(), b -> {
            b.writeInt(1).writeLong(1).writeLong(0).writeByte(TagType.GROUP.code());
            str(b, "x".repeat(Protocol.MAX_TAG_NAME_BYTES));
        });
        ByteBuf bigPing = frame(FrameType.PING.code(), b -> b.writeZero(2000));
        assertThat(bigTag.readableBytes() - 4).isLessThan(Protocol.HANDSHAKE_MAX_FRAME_LENGTH);
        ch.writeInbound(bigTag);
        Frames.Tag t = ch.readInbound();
        assertEquals(Protocol.MAX_TAG_NAME_BYTES, t.name().length());
        decoder.setMaxFrameLength(POST_AUTH_CAP);
        assertEquals(POST_AUTH_CAP, decoder.maxFrameLength());
        // 2001 bytes: over the handshake cap, under the new one, so it gets as far as parsing (trailing bytes).
        expect(ErrorCode.MALFORMED_FRAME, bigPing);
    }

    @Test
    void capNotYetRaisedRejectsTheSameFrame() {
        expect(ErrorCode.FRAME_TOO_LARGE, frame(FrameType.PING.code(), b -> b.writeZero(2000)));
    }

    @Test
    void capOverTheDefaultAfterAuthentication() {
        decoder.setMaxFrameLength(POST_AUTH_CAP);
        expect(ErrorCode.FRAME_TOO_LARGE, u32(POST_AUTH_CAP + 1));
        assertEquals(0, alloc.requests());
    }

    @Test
    void unknownFrameType() {
        expect(ErrorCode.UNKNOWN_FRAME_TYPE, frame(0x7F, b -> { }));
    }

    @Test
    void typeZeroIsUnknown() {
        expect(ErrorCode.UNKNOWN_FRAME_TYPE, frame(0x00, b -> b.writeLong(1)));
    }

    @Test
    void trailingBytes() {
        expect(ErrorCode.MALFORMED_FRAME, frame(FrameType.PING.code(), b -> b.writeLong(1).writeByte(0)));
    }

    @Test
    void trailingBytesAfterAString() {
        expect(ErrorCode.MALFORMED_FRAME, frame(FrameType.CLOSE_DISK.code(), b -> b.writeInt(1).writeShort(0)));
    }

    @Test
    void bodyShorterThanItsFixedFields() {
        expect(ErrorCode.MALFORMED_FRAME, frame(FrameType.ACK.code(), b -> b.writeInt(1).writeMedium(0)));
    }

    @Test
    void emptyBody() {
        expect(ErrorCode.MALFORMED_FRAME, frame(FrameType.DISK_OPENED.code(), b -> { }));
    }

    @Test
    void truncatedString() {
        expect(ErrorCode.MALFORMED_FRAME, frame(FrameType.HELLO.code(), b -> {
            helloFixed(b);
            b.writeShort(10).writeBytes("ps-01".getBytes(StandardCharsets.UTF_8));
        }));
    }

    @Test
    void stringLengthWordCutShort() {
        expect(ErrorCode.MALFORMED_FRAME, frame(FrameType.HELLO.code(), b -> {
            helloFixed(b);
            b.writeByte(0);
        }));
    }

    @Test
    void stringOverItsMaximum() {
        expect(ErrorCode.MALFORMED_FRAME, frame(FrameType.HELLO.code(), b -> {
            helloFixed(b);
            str(b, "n".repeat(Protocol.MAX_NAME_BYTES + 1));
        }));
    }

    @Test
    void stringAtItsMaximumIsAccepted() {
        ch.writeInbound(frame(FrameType.HELLO.code(), b -> {
            helloFixed(b);
            str(b, "n".repeat(Protocol.MAX_NAME_BYTES));
        }));
        Frames.Hello h = ch.readInbound();
        assertEquals(Protocol.MAX_NAME_BYTES, h.clientName().length());
    }

    /** Invalid UTF-8 is refused (it would otherwise decode to U+FFFD and change length on re-encoding). */
    @Test
    void invalidUtf8() {
        expect(ErrorCode.MALFORMED_FRAME, frame(FrameType.HELLO.code(), b -> {
            helloFixed(b);
            b.writeShort(Protocol.MAX_NAME_BYTES);
            b.writeBytes(new byte[Protocol.MAX_NAME_BYTES]).setByte(b.writerIndex() - 1, 0xFF);
        }));
    }

    @Test
    void utf8EncodedSurrogateIsInvalid() {
        expect(ErrorCode.MALFORMED_FRAME, frame(FrameType.CHALLENGE.code(), b -> {
            b.writeShort(1).writeZero(32).writeByte(1).writeByte(0).writeInt(10_000).writeLong(0);
            b.writeShort(3).writeByte(0xED).writeByte(0xA0).writeByte(0x80); // U+D800 as CESU-8
        }));
    }

    @Test
    void overlongUtf8IsInvalid() {
        expect(ErrorCode.MALFORMED_FRAME, frame(FrameType.OPEN_DISK.code(), b -> {
            b.writeInt(1).writeLong(1).writeLong(0);
            b.writeShort(2).writeByte(0xC0).writeByte(0x80); // "modified UTF-8" NUL
        }));
    }

    @ParameterizedTest
    @ValueSource(ints = {0x02, 0x80, 0xFF})
    void reservedWriteFlagBits(int flags) {
        expect(ErrorCode.MALFORMED_FRAME, frame(FrameType.WRITE.code(), b -> {
            writeHeader(b, 512, flags);
            b.writeZero(512);
        }));
    }

    @Test
    void rawWriteDataLengthDiffersFromLength() {
        expect(ErrorCode.MALFORMED_FRAME, frame(FrameType.WRITE.code(), b -> {
            writeHeader(b, 1024, 0);
            b.writeZero(512);
        }));
    }

    @Test
    void rawWriteWithMoreDataThanLength() {
        expect(ErrorCode.MALFORMED_FRAME, frame(FrameType.WRITE.code(), b -> {
            writeHeader(b, 0, 0);
            b.writeZero(8);
        }));
    }

    @Test
    void writeHeaderCutShort() {
        expect(ErrorCode.MALFORMED_FRAME, frame(FrameType.WRITE.code(), b -> b.writeZero(Protocol.WRITE_HEADER_LENGTH - 1)));
    }

    @ParameterizedTest
    @ValueSource(ints = {0, 4, 0xFF})
    void unknownTagType(int type) {
        expect(ErrorCode.MALFORMED_FRAME, frame(FrameType.TAG.code(), b -> {
            b.writeInt(1).writeLong(1).writeLong(0).writeByte(type);
            str(b, "t");
        }));
    }

    @ParameterizedTest
    @ValueSource(ints = {0, 5, 0xFF}) // 1..4 are defined (4 = recovering)
    void unknownDiskState(int state) {
        expect(ErrorCode.MALFORMED_FRAME, frame(FrameType.DISK_OPENED.code(), b ->
                b.writeInt(1).writeLong(1 << 20).writeInt(512).writeByte(state).writeLong(0).writeLong(0).writeInt(0)));
    }

    @Test
    void errorFatalFlagOtherThanZeroOrOne() {
        expect(ErrorCode.MALFORMED_FRAME, frame(FrameType.ERROR.code(), b -> {
            b.writeShort(1).writeInt(-1).writeLong(0).writeByte(2);
            str(b, "");
        }));
    }

    @ParameterizedTest
    @ValueSource(ints = {0, Protocol.MAX_SALT_BYTES + 1})
    void saltLengthZeroOrOverMaximum(int saltLen) {
        expect(ErrorCode.MALFORMED_FRAME, frame(FrameType.CHALLENGE.code(), b -> {
            b.writeShort(1).writeZero(32).writeByte(saltLen).writeZero(saltLen).writeInt(10_000).writeLong(0);
            str(b, "a");
        }));
    }

    @Test
    void nonceCutShort() {
        expect(ErrorCode.MALFORMED_FRAME, frame(FrameType.AUTH_PROOF.code(), b -> b.writeZero(31)));
    }

    // ---- after an error ----

    @Test
    void afterAnErrorFurtherInputIsDiscarded() {
        ByteBuf good = frame(FrameType.PING.code(), b -> b.writeLong(5));
        ByteBuf bad = frame(0x7F, b -> { });
        // The good frame before the bad one in the same read is still delivered.
        ByteBuf both = Unpooled.wrappedBuffer(good, bad);
        expect(ErrorCode.UNKNOWN_FRAME_TYPE, both);
        Frames.Ping p = ch.readInbound();
        assertEquals(5, p.nonce());
        // Valid frames after the error produce nothing, and no second exception.
        for (int i = 0; i < 3; i++) {
            ByteBuf again = frame(FrameType.PING.code(), b -> b.writeLong(6));
            ch.writeInbound(again);
            assertEquals(0, again.refCnt());
            assertNull(ch.readInbound());
        }
        ch.checkException();
    }

    @Test
    void afterAnOversizedLengthTheBodyIsDiscarded() {
        expect(ErrorCode.FRAME_TOO_LARGE, u32(5000));
        ByteBuf body = Unpooled.buffer(5000).writeByte(FrameType.PING.code()).writeZero(4999);
        ch.writeInbound(body);
        assertEquals(0, body.refCnt());
        assertNull(ch.readInbound());
        ch.checkException();
    }

    // ---- helpers ----

    /** Feeds {@code in} and asserts the decoder raised exactly {@code code}. */
    private void expect(ErrorCode code, ByteBuf in) {
        try {
            ch.writeInbound(in);
            ch.checkException();
            fail("expected " + code);
        } catch (DecoderException e) {
            assertThat(e.getCause()).isInstanceOf(ProtocolException.class);
            assertEquals(code, ((ProtocolException) e.getCause()).code(), e.getCause().getMessage());
        }
        assertEquals(0, in.refCnt(), "the input must be released");
    }

    private static void helloFixed(ByteBuf b) {
        b.writeInt(Protocol.MAGIC).writeShort(1).writeShort(1).writeZero(32).writeLong(0);
    }

    private static void writeHeader(ByteBuf b, int length, int flags) {
        b.writeInt(1).writeLong(1).writeLong(0).writeLong(0).writeInt(length).writeInt(0).writeByte(flags);
    }

    private static void str(ByteBuf b, String s) {
        byte[] u = s.getBytes(StandardCharsets.UTF_8);
        b.writeShort(u.length).writeBytes(u);
    }

    /** {@code length type body} with a correct length word. */
    private static ByteBuf frame(int type, Consumer<ByteBuf> body) {
        ByteBuf b = Unpooled.buffer();
        b.writeInt(0).writeByte(type);
        body.accept(b);
        b.setInt(0, b.readableBytes() - 4);
        return b;
    }

    private static ByteBuf u32(int v) {
        return Unpooled.buffer(4).writeInt(v);
    }

    private static ByteBuf bytes(int... v) {
        ByteBuf b = Unpooled.buffer(v.length);
        for (int x : v) {
            b.writeByte(x);
        }
        return b;
    }
}
