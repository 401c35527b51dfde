package io.mtagent.protocol;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.SplittableRandom;
import java.util.zip.CRC32C;
import net.jpountz.lz4.LZ4Factory;
import org.junit.jupiter.api.Test;

/** CRC-32C, LZ4-when-it-pays and bounded, verified decoding of WRITE payloads (SPEC.md §10). */
class WritePayloadsTest {
    private static final ByteBufAllocator ALLOC = ByteBufAllocator.DEFAULT;

    @Test
    void crc32cCheckValue() {
        byte[] check = "123456789".getBytes(StandardCharsets.US_ASCII);
        ByteBuf b = Unpooled.wrappedBuffer(check);
        assertEquals(0xE3069283, WritePayloads.crc32c(b));
        assertEquals(0xE3069283, WritePayloads.crc32c(ByteBuffer.wrap(check)));
        assertEquals(0, b.readerIndex(), "crc32c must not consume");
        b.release();
    }

    @Test
    void crc32cOfCompositeBuffer() {
        byte[] check = "123456789".getBytes(StandardCharsets.US_ASCII);
        ByteBuf c = Unpooled.wrappedBuffer(Unpooled.wrappedBuffer(check, 0, 4), Unpooled.wrappedBuffer(check, 4, 5));
        assertEquals(0xE3069283, WritePayloads.crc32c(c));
        c.release();
    }

    @Test
    void compressesWhenItPays() throws ProtocolException {
        byte[] data = new byte[8192];
        for (int i = 0; i < data.length; i++) {
            data[i] = (byte) (i % 13);
        }
        WriteFrame w = encode(data);
        assertTrue(w.compressed());
        assertEquals(Protocol.FLAG_LZ4, w.flags());
        assertEquals(8192, w.length());
        assertThat(w.data().readableBytes()).isLessThanOrEqualTo(8192 - 8192 / 8);
        assertEquals(crc(data), w.crc32c());
        assertThat(decode(w)).isEqualTo(data);
        w.release();
    }

    @Test
    void incompressibleDataIsSentRaw() throws ProtocolException {
        byte[] data = new byte[8192];
        new SplittableRandom(7).nextBytes(data);
        WriteFrame w = encode(data);
        assertFalse(w.compressed());
        assertEquals(0, w.flags());
        assertThat(ByteBufUtil.getBytes(w.data())).isEqualTo(data);
        assertThat(decode(w)).isEqualTo(data);
        w.release();
    }

    /** Saving less than 1/8 is not worth the agent's decompression: sent raw. */
    @Test
    void compressionSavingLessThanAnEighthIsDropped() {
        byte[] data = new byte[4096];
        new SplittableRandom(8).nextBytes(data);
        // A compressible tail of 1/16 of the buffer: LZ4 saves something, but less than 1/8.
        for (int i = data.length - data.length / 16; i < data.length; i++) {
            data[i] = 0;
        }
        int compressed = LZ4Factory.fastestInstance().fastCompressor().compress(data).length;
        assertThat(compressed).isLessThan(data.length).isGreaterThan(data.length - data.length / 8);
        WriteFrame w = encode(data);
        assertFalse(w.compressed());
        w.release();
    }

    @Test
    void smallWritesAreNotCompressed() {
        WriteFrame w = encode(new byte[512]); // all zeros: very compressible, but under 1 KiB
        assertFalse(w.compressed());
        w.release();
        WriteFrame w2 = encode(new byte[1024]);
        assertTrue(w2.compressed());
        w2.release();
    }

    @Test
    void tryCompressFalseSendsRaw() {
        ByteBuf b = Unpooled.wrappedBuffer(new byte[4096]);
        WriteFrame w = WritePayloads.encode(ALLOC, 1, 1, 0, 0, b, false);
        assertFalse(w.compressed());
        w.release();
        assertEquals(1, b.refCnt());
        b.release();
    }

    /** The data's reader index need not be 0 (a slice of a larger read buffer, say). */
    @Test
    void encodeHonoursTheReaderIndex() throws ProtocolException {
        byte[] data = new byte[4096];
        for (int i = 0; i < data.length; i++) {
            data[i] = (byte) (i / 100);
        }
        ByteBuf b = Unpooled.buffer(8192);
        b.writeBytes(new byte[3000]).writeBytes(data);
        b.skipBytes(3000);
        for (boolean tryCompress : new boolean[] {true, false}) {
            WriteFrame w = WritePayloads.encode(ALLOC, 1, 1, 0, 0, b, tryCompress);
            assertEquals(tryCompress, w.compressed());
            assertEquals(crc(data), w.crc32c());
            assertThat(decode(w)).isEqualTo(data);
            w.release();
        }
        assertEquals(3000, b.readerIndex(), "encode must not consume its input");
        b.release();
    }

    @Test
    void decodeIntoAtAnOffsetOfTheDestination() throws ProtocolException {
        byte[] data = new byte[2048];
        WriteFrame w = encode(data);
        ByteBuffer dst = ByteBuffer.allocateDirect(10_000);
        dst.position(100);
        WritePayloads.decodeInto(w, dst);
        assertEquals(100 + 2048, dst.position());
        w.release();
    }

    @Test
    void corruptLz4IsBadCompression() {
        byte[] data = new byte[4096];
        WriteFrame good = encode(data);
        byte[] block = ByteBufUtil.getBytes(good.data());
        good.release();
        // A literal-length nibble of 15 followed by 0xFF bytes asks for literals far past the block's end.
        byte[] corrupt = block.clone();
        corrupt[0] = (byte) 0xF0;
        for (int i = 1; i < corrupt.length; i++) {
            corrupt[i] = (byte) 0xFF;
        }
        assertBad(ErrorCode.BAD_COMPRESSION, frame(4096, crc(data), Protocol.FLAG_LZ4, corrupt));
        // A match offset of 0 is invalid.
        byte[] zeroOffset = {0x10, 0x41, 0x00, 0x00};
        assertBad(ErrorCode.BAD_COMPRESSION, frame(4096, crc(data), Protocol.FLAG_LZ4, zeroOffset));
        // Empty data.
        assertBad(ErrorCode.BAD_COMPRESSION, frame(4096, crc(data), Protocol.FLAG_LZ4, new byte[0]));
    }

    @Test
    void wrongDecompressedLengthIsBadCompression() {
        byte[] data = new byte[4096];
        WriteFrame good = encode(data);
        byte[] block = ByteBufUtil.getBytes(good.data());
        good.release();
        // The block holds 4096 bytes; the frame claims 4608 (decompresses short) or 3584 (does not fit).
        assertBad(ErrorCode.BAD_COMPRESSION, frame(4608, crc(data), Protocol.FLAG_LZ4, block));
        assertBad(ErrorCode.BAD_COMPRESSION, frame(3584, crc(data), Protocol.FLAG_LZ4, block));
    }

    @Test
    void compressedDataNotSmallerThanLengthIsBadCompression() {
        byte[] data = new byte[512];
        byte[] block = LZ4Factory.fastestInstance().fastCompressor().compress(data);
        byte[] padded = new byte[512];
        System.arraycopy(block, 0, padded, 0, block.length);
        assertBad(ErrorCode.BAD_COMPRESSION, frame(512, crc(data), Protocol.FLAG_LZ4, padded));
    }

    @Test
    void crcMismatch() {
        byte[] data = new byte[4096];
        WriteFrame compressed = encode(data);
        assertTrue(compressed.compressed());
        byte[] block = ByteBufUtil.getBytes(compressed.data());
        compressed.release();
        assertBad(ErrorCode.CRC_MISMATCH, frame(4096, crc(data) ^ 1, Protocol.FLAG_LZ4, block));
        assertBad(ErrorCode.CRC_MISMATCH, frame(4096, crc(data) ^ 0x80000000, 0, data));
        byte[] flipped = data.clone();
        flipped[4095] ^= 0x10;
        assertBad(ErrorCode.CRC_MISMATCH, frame(4096, crc(data), 0, flipped));
    }

    private static void assertBad(ErrorCode code, WriteFrame w) {
        try {
            // Both entry points refuse it the same way: decodeInto (copies) and verify (checks in place).
            assertThatThrownBy(() -> WritePayloads.decodeInto(w, ByteBuffer.allocate(w.length())))
                    .isInstanceOfSatisfying(ProtocolException.class, e -> {
                        assertEquals(code, e.code());
                        assertEquals(w.handle(), e.handle());
                        assertEquals(w.seq(), e.seq());
                    });
            assertThatThrownBy(() -> WritePayloads.verify(w, ByteBuffer.allocate(w.length())))
                    .isInstanceOfSatisfying(ProtocolException.class, e -> {
                        assertEquals(code, e.code());
                        assertEquals(w.seq(), e.seq());
                    });
        } finally {
            w.release();
        }
    }

    private static WriteFrame frame(int length, int crc, int flags, byte[] data) {
        return new WriteFrame(9, 77, 0, 0, length, crc, flags, Unpooled.wrappedBuffer(data));
    }

    private static WriteFrame encode(byte[] data) {
        ByteBuf b = Unpooled.wrappedBuffer(data);
        try {
            return WritePayloads.encode(ALLOC, 1, 1, 0, 0, b, true);
        } finally {
            b.release();
        }
    }

    private static byte[] decode(WriteFrame w) throws ProtocolException {
        WritePayloads.verify(w, ByteBuffer.allocate(w.length())); // a good frame passes the in-place check too
        ByteBuffer dst = ByteBuffer.allocate(w.length());
        WritePayloads.decodeInto(w, dst);
        assertEquals(w.length(), dst.position());
        return dst.array();
    }

    private static int crc(byte[] data) {
        CRC32C c = new CRC32C();
        c.update(data);
        return (int) c.getValue();
    }
}
