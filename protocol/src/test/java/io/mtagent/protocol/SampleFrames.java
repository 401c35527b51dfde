package io.mtagent.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.util.ReferenceCountUtil;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Valid frames of every type, and helpers to turn frames into wire bytes with the real {@link FrameEncoder}.
 * Shared by the round-trip, bad-input, fuzz and spec-example tests.
 */
final class SampleFrames {
    private SampleFrames() {
    }

    static byte[] pattern(int n, int start) {
        byte[] b = new byte[n];
        for (int i = 0; i < n; i++) {
            b[i] = (byte) (start + i);
        }
        return b;
    }

    /** One valid frame of every non-WRITE type, with field values that exercise the full width of each field. */
    static List<Frame> nonWriteFrames() {
        List<Frame> l = new ArrayList<>();
        l.add(new Frames.Hello(Protocol.MAGIC, 1, 1, pattern(32, 0), 1_700_000_000_000_000L, "ps-01 ünïcödé"));
        l.add(new Frames.Challenge(1, pattern(32, 0x80), pattern(16, 0xA0), 210_000, -5L, "mt-agent-01"));
        l.add(new Frames.AuthProof(pattern(32, 7)));
        l.add(new Frames.AuthOk(pattern(32, 9), Protocol.maxFrameLengthFor(Protocol.DEFAULT_MAX_WRITE_BYTES),
                Protocol.DEFAULT_MAX_WRITE_BYTES, 0x0123456789ABCDEFL));
        l.add(new Frames.OpenDisk(0xFFFFFFFE, Long.MAX_VALUE, 0xFFFFFFFFFFFFFFFFL, "6000C29a1b2c3d4e5f60718293a4b5c6"));
        l.add(new Frames.DiskOpened(1, 10L << 30, 4096, DiskState.NEEDS_RESYNC, 41, 40, 8 << 20));
        l.add(new Frames.CloseDisk(3));
        l.add(new Frames.DiskClosed(3, 99));
        l.add(new Frames.Tag(1, 42, 1_700_000_000_000_001L, TagType.APP_CONSISTENT, "vss-2026-11-23T10:00:00Z"));
        l.add(new Frames.Tag(1, 43, 1, TagType.GROUP, ""));
        l.add(new Frames.Ack(1, Long.MIN_VALUE));
        l.add(new Frames.Credit(1, 0xFFFFFFFF));
        l.add(Frames.Error.of(ErrorCode.SEQUENCE_GAP, 1, 44, "expected seq 43, got 44"));
        l.add(new Frames.Error(999, Protocol.NO_HANDLE, 0, true, "an error code of a future version"));
        l.add(new Frames.Ping(-1L));
        l.add(new Frames.Pong(0x55AA55AA55AA55AAL));
        l.addAll(maxStringFrames());
        return l;
    }

    /** Frames whose strings are exactly at their byte limit, in multi-byte UTF-8 (so bit flips break it). */
    static List<Frame> maxStringFrames() {
        return List.of(
                new Frames.Hello(Protocol.MAGIC, 1, 1, pattern(32, 1), 0, "é".repeat(Protocol.MAX_NAME_BYTES / 2)),
                new Frames.OpenDisk(2, 3, 4, "ü".repeat(Protocol.MAX_DISK_ID_BYTES / 2)),
                new Frames.Tag(2, 5, 6, TagType.CRASH_CONSISTENT, "€".repeat(Protocol.MAX_TAG_NAME_BYTES / 3) + "x"),
                new Frames.Error(ErrorCode.INTERNAL.code(), 7, 8, true, "ß".repeat(450)));
    }

    /** A raw (uncompressed) WRITE of {@code n} random, incompressible bytes. */
    static WriteFrame rawWrite(SplittableRandom rnd, int handle, long seq, int n) {
        byte[] data = new byte[n];
        rnd.nextBytes(data);
        ByteBuf buf = Unpooled.wrappedBuffer(data);
        try {
            WriteFrame w = WritePayloads.encode(ByteBufAllocator.DEFAULT, handle, seq, 1_700_000_000_000_000L + seq,
                    (long) seq * 4096, buf, true);
            if (w.compressed()) {
                throw new AssertionError("random data compressed");
            }
            return w;
        } finally {
            buf.release();
        }
    }

    /** An LZ4-compressed WRITE of {@code n} bytes of a repetitive pattern. */
    static WriteFrame compressedWrite(int handle, long seq, int n) {
        byte[] data = new byte[n];
        for (int i = 0; i < n; i++) {
            data[i] = (byte) ((i / 64) % 7);
        }
        ByteBuf buf = Unpooled.wrappedBuffer(data);
        try {
            WriteFrame w = WritePayloads.encode(ByteBufAllocator.DEFAULT, handle, seq, 1_700_000_000_000_000L + seq,
                    (long) seq * 4096, buf, true);
            if (!w.compressed()) {
                throw new AssertionError("pattern did not compress");
            }
            return w;
        } finally {
            buf.release();
        }
    }

    /**
     * Encodes {@code frame} with the pipeline encoder ({@link FrameEncoder#INSTANCE} in an EmbeddedChannel) and
     * returns the exact wire bytes. Releases {@code frame} (as the encoder does).
     */
    static byte[] encode(Frame frame) {
        EmbeddedChannel ch = new EmbeddedChannel(FrameEncoder.INSTANCE);
        try {
            ch.writeOutbound(frame);
            ByteBuf all = Unpooled.buffer();
            for (Object o; (o = ch.readOutbound()) != null; ) {
                ByteBuf b = (ByteBuf) o;
                all.writeBytes(b);
                b.release();
            }
            byte[] out = new byte[all.readableBytes()];
            all.readBytes(out);
            all.release();
            return out;
        } finally {
            if (ch.finish()) {
                throw new AssertionError("encoder left messages behind");
            }
        }
    }

    /** Concatenates the encodings of {@code frames} (each released). */
    static byte[] encodeAll(List<? extends Frame> frames) {
        ByteBuf all = Unpooled.buffer();
        for (Frame f : frames) {
            all.writeBytes(encode(f));
        }
        byte[] out = new byte[all.readableBytes()];
        all.readBytes(out);
        all.release();
        return out;
    }

    static void releaseAll(List<?> objects) {
        for (Object o : objects) {
            ReferenceCountUtil.release(o);
        }
    }
}
