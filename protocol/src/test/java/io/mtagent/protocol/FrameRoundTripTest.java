package io.mtagent.protocol;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every frame type goes through {@link FrameEncoder} and comes back out of {@link FrameDecoder} equal, whether the
 * bytes arrive in one piece or one byte at a time. Runs with Netty's leak detector at PARANOID and fails on any
 * leak report; besides that, every buffer this class creates is checked to have {@code refCnt() == 0} at the end.
 */
class FrameRoundTripTest {
    private static final LeakCapture LEAKS = new LeakCapture();
    private static final int CAP = Protocol.maxFrameLengthFor(Protocol.DEFAULT_MAX_WRITE_BYTES);

    /** Every buffer handed to a channel or received from one; all must end with refCnt 0. */
    private final List<ByteBuf> created = new ArrayList<>();

    @BeforeAll
    static void paranoid() {
        LEAKS.install();
    }

    @AfterAll
    static void noLeaks() throws InterruptedException {
        try {
            LEAKS.assertNoLeaks();
        } finally {
            LEAKS.uninstall();
        }
    }

    @AfterEach
    void allReleased() {
        for (ByteBuf b : created) {
            assertEquals(0, b.refCnt(), () -> "buffer not released: " + b);
        }
    }

    static Stream<Arguments> frames() {
        return SampleFrames.nonWriteFrames().stream().map(f -> Arguments.of(f.type() + " " + f, f));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("frames")
    void roundTripsWhole(String name, Frame frame) {
        Frame decoded = single(decode(encode(frame), false));
        assertThat(decoded).usingRecursiveComparison().isEqualTo(frame);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("frames")
    void roundTripsByteAtATime(String name, Frame frame) {
        Frame decoded = single(decode(encode(frame), true));
        assertThat(decoded).usingRecursiveComparison().isEqualTo(frame);
    }

    @Test
    void rawWriteWholeAndByteAtATime() {
        SplittableRandom rnd = new SplittableRandom(1);
        for (boolean byteAtATime : new boolean[] {false, true}) {
            for (int n : new int[] {512, 4096, 65536}) {
                checkWrite(SampleFrames.rawWrite(rnd, 7, n, n), byteAtATime && n <= 4096);
            }
        }
    }

    @Test
    void compressedWriteWholeAndByteAtATime() {
        for (boolean byteAtATime : new boolean[] {false, true}) {
            for (int n : new int[] {1024, 4096, 1 << 20}) {
                checkWrite(SampleFrames.compressedWrite(3, n, n), byteAtATime && n <= 4096);
            }
        }
    }

    @Test
    void largestWriteUnderTheDefaultCap() {
        WriteFrame w = SampleFrames.rawWrite(new SplittableRandom(2), 1, 1, Protocol.DEFAULT_MAX_WRITE_BYTES);
        assertEquals(CAP + Protocol.LENGTH_FIELD_LENGTH, w.wireLength());
        checkWrite(w, false);
    }

    /** Several frames of every type back to back, fed in one piece and byte by byte, come out in order. */
    @Test
    void mixedStream() {
        for (boolean byteAtATime : new boolean[] {false, true}) {
            List<Frame> expected = new ArrayList<>(SampleFrames.nonWriteFrames());
            WriteFrame raw = SampleFrames.rawWrite(new SplittableRandom(3), 1, 5, 1536);
            WriteFrame lz4 = SampleFrames.compressedWrite(1, 6, 2048);
            byte[] rawData = ByteBufUtil.getBytes(raw.data());
            byte[] lz4Data = ByteBufUtil.getBytes(lz4.data());
            expected.add(3, raw);
            expected.add(lz4);
            // Expected WRITE fields, captured before encoding releases the frames.
            String rawString = raw.toString();
            String lz4String = lz4.toString();
            ByteBuf wire = track(Unpooled.buffer());
            List<Frame> plain = new ArrayList<>();
            for (Frame f : expected) {
                if (!(f instanceof WriteFrame)) {
                    plain.add(f);
                }
                ByteBuf e = encode(f);
                wire.writeBytes(e);
                e.release();
            }
            List<Frame> out = decode(wire, byteAtATime);
            assertEquals(expected.size(), out.size());
            int p = 0;
            for (int i = 0; i < out.size(); i++) {
                Frame f = out.get(i);
                if (i == 3) {
                    assertEquals(rawString, f.toString());
                    assertThat(ByteBufUtil.getBytes(((WriteFrame) f).data())).isEqualTo(rawData);
                } else if (i == out.size() - 1) {
                    assertEquals(lz4String, f.toString());
                    assertThat(ByteBufUtil.getBytes(((WriteFrame) f).data())).isEqualTo(lz4Data);
                } else {
                    assertThat(f).usingRecursiveComparison().isEqualTo(plain.get(p++));
                }
            }
            release(out);
        }
    }

    /** The static encoder used by clients and the hex example writes the same bytes as the pipeline encoder. */
    @Test
    void staticEncoderMatchesPipelineEncoder() {
        for (Frame f : SampleFrames.nonWriteFrames()) {
            ByteBuf b = track(Unpooled.buffer());
            FrameEncoder.encode(b, f);
            byte[] viaStatic = ByteBufUtil.getBytes(b);
            b.release();
            ByteBuf viaPipeline = encode(f);
            assertThat(ByteBufUtil.getBytes(viaPipeline)).isEqualTo(viaStatic);
            viaPipeline.release();
        }
        WriteFrame w = SampleFrames.compressedWrite(1, 1, 4096);
        ByteBuf b = track(Unpooled.buffer());
        FrameEncoder.encode(b, w);
        byte[] viaStatic = ByteBufUtil.getBytes(b);
        b.release();
        ByteBuf viaPipeline = encode(w);
        assertThat(ByteBufUtil.getBytes(viaPipeline)).isEqualTo(viaStatic);
        viaPipeline.release();
    }

    private void checkWrite(WriteFrame w, boolean byteAtATime) {
        track(w.data());
        int handle = w.handle();
        long seq = w.seq();
        long ts = w.timestampMicros();
        long offset = w.offset();
        int length = w.length();
        int crc = w.crc32c();
        int flags = w.flags();
        int wireLength = w.wireLength();
        byte[] data = ByteBufUtil.getBytes(w.data());
        ByteBuf wire = encode(w); // releases w
        assertEquals(wireLength, wire.readableBytes());
        WriteFrame d = (WriteFrame) single(decode(wire, byteAtATime));
        assertEquals(handle, d.handle());
        assertEquals(seq, d.seq());
        assertEquals(ts, d.timestampMicros());
        assertEquals(offset, d.offset());
        assertEquals(length, d.length());
        assertEquals(crc, d.crc32c());
        assertEquals(flags, d.flags());
        assertEquals(wireLength, d.wireLength());
        assertThat(ByteBufUtil.getBytes(d.data())).isEqualTo(data);
        // The payload verifies after the trip.
        java.nio.ByteBuffer dst = java.nio.ByteBuffer.allocate(length);
        try {
            WritePayloads.decodeInto(d, dst);
        } catch (ProtocolException e) {
            throw new AssertionError(e.code() + ": " + e.getMessage(), e);
        }
        assertEquals(length, dst.position());
        d.release();
    }

    /** Encodes with the pipeline encoder into one tracked buffer. */
    private ByteBuf encode(Frame frame) {
        EmbeddedChannel ch = new EmbeddedChannel(FrameEncoder.INSTANCE);
        ch.writeOutbound(frame);
        ByteBuf all = track(Unpooled.buffer());
        for (Object o; (o = ch.readOutbound()) != null; ) {
            ByteBuf b = track((ByteBuf) o);
            all.writeBytes(b);
            b.release();
        }
        assertFalse(ch.finish());
        return all;
    }

    /** Decodes {@code wire} (released) whole or a byte at a time; every frame's buffer is tracked. */
    private List<Frame> decode(ByteBuf wire, boolean byteAtATime) {
        EmbeddedChannel ch = new EmbeddedChannel(new FrameDecoder(CAP));
        List<Frame> out = new ArrayList<>();
        if (byteAtATime) {
            while (wire.isReadable()) {
                ch.writeInbound(track(wire.readRetainedSlice(1)));
                drain(ch, out);
            }
            wire.release();
        } else {
            ch.writeInbound(wire);
            drain(ch, out);
        }
        assertFalse(ch.finish());
        return out;
    }

    private void drain(EmbeddedChannel ch, List<Frame> out) {
        for (Object o; (o = ch.readInbound()) != null; ) {
            Frame f = (Frame) o;
            if (f instanceof WriteFrame w) {
                track(w.data());
            }
            out.add(f);
        }
    }

    /** The only frame decoded; a WRITE is released by the caller after comparing its data. */
    private static Frame single(List<Frame> frames) {
        assertEquals(1, frames.size(), () -> "frames: " + frames);
        return frames.get(0);
    }

    private static void release(List<Frame> frames) {
        SampleFrames.releaseAll(frames);
    }

    private ByteBuf track(ByteBuf b) {
        created.add(b);
        return b;
    }
}
