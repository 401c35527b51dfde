package io.mtagent.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.DefaultByteBufHolder;

/**
 * C→A change block (SPEC.md §5.9, §10):
 * <pre>
 *   handle:u32 seq:u64 timestampMicros:i64 offset:u64 length:u32 crc32c:u32 flags:u8 data[frameLength-38]
 * </pre>
 * {@code length} is the uncompressed byte count, {@code crc32c} covers the uncompressed bytes, and
 * {@code data} is either those bytes ({@code flags = 0}) or one raw LZ4 block decompressing to exactly
 * {@code length} bytes ({@code flags = FLAG_LZ4}). The frame owns {@code data}; release it when done.
 *
 * <p>Not thread-safe for concurrent release; otherwise immutable.
 */
public final class WriteFrame extends DefaultByteBufHolder implements Frame {
    private final int handle;
    private final long seq;
    private final long timestampMicros;
    private final long offset;
    private final int length;
    private final int crc32c;
    private final int flags;

    public WriteFrame(int handle, long seq, long timestampMicros, long offset, int length, int crc32c, int flags,
                      ByteBuf data) {
        super(data);
        this.handle = handle;
        this.seq = seq;
        this.timestampMicros = timestampMicros;
        this.offset = offset;
        this.length = length;
        this.crc32c = crc32c;
        this.flags = flags;
    }

    public int handle() { return handle; }
    public long seq() { return seq; }
    public long timestampMicros() { return timestampMicros; }
    public long offset() { return offset; }
    /** Uncompressed length in bytes. */
    public int length() { return length; }
    public int crc32c() { return crc32c; }
    public int flags() { return flags; }
    public boolean compressed() { return (flags & Protocol.FLAG_LZ4) != 0; }
    /** A resync write (protocol v2, SPEC.md §12): part of the resync in progress, not a live write. */
    public boolean resync() { return (flags & Protocol.FLAG_RESYNC) != 0; }
    /** The data as sent (compressed when {@link #compressed()}). */
    public ByteBuf data() { return content(); }

    /** Bytes this frame occupies on the wire, length prefix included: what it costs in credit. */
    public int wireLength() {
        return Protocol.LENGTH_FIELD_LENGTH + 1 + Protocol.WRITE_HEADER_LENGTH + content().readableBytes();
    }

    @Override
    public FrameType type() { return FrameType.WRITE; }

    /** The header only; the encoder sends {@link #data()} after it without copying. */
    @Override
    public int bodyLength() { return Protocol.WRITE_HEADER_LENGTH; }

    @Override
    public void writeBody(ByteBuf out) {
        out.writeInt(handle).writeLong(seq).writeLong(timestampMicros).writeLong(offset).writeInt(length)
                .writeInt(crc32c).writeByte(flags);
    }

    @Override
    public WriteFrame replace(ByteBuf content) {
        return new WriteFrame(handle, seq, timestampMicros, offset, length, crc32c, flags, content);
    }

    @Override
    public WriteFrame retainedDuplicate() {
        return replace(content().retainedDuplicate());
    }

    @Override
    public WriteFrame retain() {
        super.retain();
        return this;
    }

    @Override
    public String toString() {
        return "WRITE(handle=" + handle + ", seq=" + seq + ", offset=" + offset + ", length=" + length
                + ", flags=" + flags + ", data=" + content().readableBytes() + "B)";
    }
}
