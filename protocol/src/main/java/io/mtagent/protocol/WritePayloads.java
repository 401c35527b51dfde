package io.mtagent.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.nio.ByteBuffer;
import java.util.zip.CRC32C;
import net.jpountz.lz4.LZ4Compressor;
import net.jpountz.lz4.LZ4Exception;
import net.jpountz.lz4.LZ4Factory;
import net.jpountz.lz4.LZ4SafeDecompressor;

/**
 * Builds and checks WRITE payloads: CRC-32C of the uncompressed data, LZ4 block compression when it pays,
 * and bounded decompression.
 *
 * <p>Decompression always uses lz4-java's <em>safe</em> decompressor into a destination of exactly the stated
 * length, which the caller has already checked against the announced maximum: a forged length cannot make us
 * allocate more than that, and corrupt input is an {@link ErrorCode#BAD_COMPRESSION}, never an exception
 * escaping the pipeline. Thread-safe (lz4-java factories and compressors are).
 */
public final class WritePayloads {
    private static final LZ4Factory LZ4 = LZ4Factory.fastestInstance();
    private static final LZ4Compressor COMPRESSOR = LZ4.fastCompressor();
    private static final LZ4SafeDecompressor DECOMPRESSOR = LZ4.safeDecompressor();
    private static final ThreadLocal<CRC32C> CRC = ThreadLocal.withInitial(CRC32C::new);

    /** Writes shorter than this are never compressed (the block overhead eats the gain). */
    public static final int MIN_COMPRESS_BYTES = 1024;

    private WritePayloads() {
    }

    /** CRC-32C of the readable bytes of {@code data} (not consumed). */
    public static int crc32c(ByteBuf data) {
        CRC32C crc = CRC.get();
        crc.reset();
        if (data.nioBufferCount() == 1) {
            crc.update(data.nioBuffer());
        } else {
            for (ByteBuffer b : data.nioBuffers()) {
                crc.update(b);
            }
        }
        return (int) crc.getValue();
    }

    public static int crc32c(ByteBuffer data) {
        CRC32C crc = CRC.get();
        crc.reset();
        crc.update(data.duplicate());
        return (int) crc.getValue();
    }

    /**
     * Builds a WRITE frame for {@code data} (readable bytes, not consumed, not released), compressing it with
     * LZ4 when that saves at least 1/8 of the bytes; otherwise the data is sent as is. The frame owns its own
     * copy either way, so the caller may reuse {@code data} at once.
     */
    public static WriteFrame encode(ByteBufAllocator alloc, int handle, long seq, long timestampMicros,
                                    long offset, ByteBuf data, boolean tryCompress) {
        int length = data.readableBytes();
        int crc = crc32c(data);
        if (tryCompress && length >= MIN_COMPRESS_BYTES) {
            int max = COMPRESSOR.maxCompressedLength(length);
            ByteBuf out = alloc.directBuffer(max);
            try {
                ByteBuffer dst = out.nioBuffer(0, max);
                // nioBuffer() exposes the readable bytes starting at position 0, whatever the reader index.
                int n = COMPRESSOR.compress(data.nioBuffer(), 0, length, dst, 0, max);
                if (n <= length - (length >>> 3)) {
                    out.writerIndex(n);
                    ByteBuf sent = out;
                    out = null;
                    return new WriteFrame(handle, seq, timestampMicros, offset, length, crc, Protocol.FLAG_LZ4, sent);
                }
            } finally {
                if (out != null) {
                    out.release();
                }
            }
        }
        // A copy, not a slice: the frame outlives this call (pipelining, and kept until acked for re-sending),
        // and the caller may reuse its buffer as soon as we return.
        ByteBuf copy = alloc.directBuffer(length).writeBytes(data, data.readerIndex(), length);
        return new WriteFrame(handle, seq, timestampMicros, offset, length, crc, 0, copy);
    }

    /**
     * Verifies the frame's data as {@link #decodeInto} does (bounded decompression when flagged, then the CRC-32C
     * of the uncompressed bytes), without keeping them: uncompressed data is checked where it lies, with no copy
     * (that copy was one more pass over every byte the agent ingests), compressed data is decompressed into
     * {@code scratch}, which must have at least {@code frame.length()} bytes remaining and whose contents are then
     * undefined.
     *
     * @throws ProtocolException BAD_COMPRESSION, MALFORMED_FRAME or CRC_MISMATCH, naming the handle and sequence
     */
    public static void verify(WriteFrame frame, ByteBuffer scratch) throws ProtocolException {
        if (frame.compressed()) {
            decodeInto(frame, scratch.duplicate());
            return;
        }
        ByteBuf data = frame.data();
        if (data.readableBytes() != frame.length()) {
            throw new ProtocolException(ErrorCode.MALFORMED_FRAME, "data is " + data.readableBytes()
                    + " bytes, frame says " + frame.length() + " (handle " + Integer.toUnsignedString(frame.handle())
                    + ", seq " + frame.seq() + ")");
        }
        checkCrc(frame, crc32c(data));
    }

    /**
     * Decompresses (when flagged) and verifies the frame's data into {@code dst}, which must have at least
     * {@code frame.length()} bytes remaining; on return {@code dst} holds exactly the uncompressed bytes
     * (position advanced by {@code length}).
     *
     * @throws ProtocolException BAD_COMPRESSION or CRC_MISMATCH, naming the handle and sequence number
     */
    public static void decodeInto(WriteFrame frame, ByteBuffer dst) throws ProtocolException {
        int length = frame.length();
        ByteBuf data = frame.data();
        int start = dst.position();
        if (frame.compressed()) {
            if (data.readableBytes() >= length) {
                throw new ProtocolException(ErrorCode.BAD_COMPRESSION, frame.handle(), frame.seq(),
                        "compressed data (" + data.readableBytes() + " B) not smaller than length " + length);
            }
            String invalid = Lz4BlockCheck.invalidOffset(data);
            if (invalid != null) {
                throw new ProtocolException(ErrorCode.BAD_COMPRESSION, frame.handle(), frame.seq(),
                        "corrupt LZ4 block at seq " + frame.seq() + ": " + invalid);
            }
            int n;
            try {
                // One buffer in the common case; a frame that arrived in several TLS records may span several,
                // and LZ4 needs its block in one piece (nioBuffer() gathers them into a copy then).
                n = DECOMPRESSOR.decompress(data.nioBuffer(), 0, data.readableBytes(), dst, start, length);
            } catch (LZ4Exception | IndexOutOfBoundsException e) {
                throw new ProtocolException(ErrorCode.BAD_COMPRESSION, frame.handle(), frame.seq(),
                        "corrupt LZ4 block at seq " + frame.seq());
            }
            if (n != length) {
                throw new ProtocolException(ErrorCode.BAD_COMPRESSION, frame.handle(), frame.seq(),
                        "LZ4 block decompressed to " + n + " bytes, frame says " + length);
            }
        } else {
            if (data.readableBytes() != length) {
                throw new ProtocolException(ErrorCode.MALFORMED_FRAME, "data is " + data.readableBytes()
                        + " bytes, frame says " + length + " (handle " + Integer.toUnsignedString(frame.handle())
                        + ", seq " + frame.seq() + ")");
            }
            data.getBytes(data.readerIndex(), dst.duplicate().position(start).limit(start + length));
        }
        ByteBuffer plain = dst.duplicate();
        plain.position(start).limit(start + length);
        checkCrc(frame, crc32c(plain));
        dst.position(start + length);
    }

    private static void checkCrc(WriteFrame frame, int crc) throws ProtocolException {
        if (crc != frame.crc32c()) {
            throw new ProtocolException(ErrorCode.CRC_MISMATCH, frame.handle(), frame.seq(),
                    String.format("CRC-32C of seq %d is %08x, frame says %08x", frame.seq(), crc, frame.crc32c()));
        }
    }
}
