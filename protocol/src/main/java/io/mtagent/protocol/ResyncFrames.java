package io.mtagent.protocol;

import io.netty.buffer.ByteBuf;
import java.nio.charset.StandardCharsets;

/**
 * The frames protocol version 2 adds for resynchronisation and online verify (SPEC.md §12). Field order and
 * widths are SPEC.md §12.3 exactly; each {@code read} checks every length and value set before reading on,
 * and the decoder rejects trailing bytes. None of these types may be sent on a session that negotiated v1.
 *
 * <p>RESYNC_START, RESYNC_PROGRESS and RESYNC_END consume one sequence number each, like a TAG, and cost
 * their wire length in credit: they travel in the disk's ordered stream, which is what makes "everything
 * before this marker" meaningful. CHECKSUM_REQUEST and CHECKSUMS are outside the sequence and cost no credit.
 */
public final class ResyncFrames {
    /** Smallest and largest chunk sizes a resync or checksum request may use; always a power of two. */
    public static final int MIN_CHUNK_SIZE = 64 * 1024;
    public static final int MAX_CHUNK_SIZE = 1024 * 1024;
    /** Most chunks one CHECKSUM_REQUEST may cover (bounds the agent's work per request). */
    public static final int MAX_CHUNKS_PER_REQUEST = 4096;
    /** Most digests one CHECKSUMS frame carries (32 KiB of digests: far under every frame cap). */
    public static final int MAX_DIGESTS_PER_FRAME = 1024;
    /** Most CHECKSUM_REQUESTs a handle may have outstanding; one more is TOO_MANY_REQUESTS. */
    public static final int MAX_OUTSTANDING_REQUESTS = 4;
    /** The only digest algorithm of v2: SHA-256, 32 bytes. */
    public static final int ALGORITHM_SHA256 = 1;
    public static final int DIGEST_LENGTH = 32;
    /** CHECKSUMS flag bit 0: the last frame answering its request. */
    public static final int FLAG_LAST = 0x01;

    private ResyncFrames() {
    }

    /** True for 64 KiB .. 1 MiB powers of two. */
    public static boolean validChunkSize(long chunkSize) {
        return chunkSize >= MIN_CHUNK_SIZE && chunkSize <= MAX_CHUNK_SIZE && Long.bitCount(chunkSize) == 1;
    }

    private static void checkChunk(long chunkSize) {
        if (!validChunkSize(chunkSize)) {
            throw new IllegalArgumentException("chunk size " + chunkSize + " is not a power of two in 64 KiB..1 MiB");
        }
    }

    private static Mode readMode(ByteBuf in) throws ProtocolException {
        int code = in.readUnsignedByte();
        Mode mode = Mode.of(code);
        if (mode == null) {
            throw new ProtocolException(ErrorCode.MALFORMED_FRAME, "unknown resync mode " + code);
        }
        return mode;
    }

    private static int readChunk(ByteBuf in) throws ProtocolException {
        long chunk = in.readUnsignedInt();
        if (!validChunkSize(chunk)) {
            throw new ProtocolException(ErrorCode.MALFORMED_FRAME, "chunk size " + chunk
                    + " is not a power of two in 65536..1048576");
        }
        return (int) chunk;
    }

    /** How a resync decides what to send; informational for the agent (status), binding for nothing else. */
    public enum Mode {
        /** Every chunk is sent (the target is empty or unrelated). */
        FULL(1, "full"),
        /** Checksums are compared and only differing chunks are sent. */
        DIFFERENTIAL(2, "differential"),
        /** Only the ranges an online verify found different are sent. */
        RANGES(3, "ranges");

        private final int code;
        private final String label;

        Mode(int code, String label) {
            this.code = code;
            this.label = label;
        }

        public int code() { return code; }
        public String label() { return label; }

        public static Mode of(int code) {
            for (Mode m : values()) {
                if (m.code == code) {
                    return m;
                }
            }
            return null;
        }

        public static Mode ofLabel(String label) {
            for (Mode m : values()) {
                if (m.label.equals(label)) {
                    return m;
                }
            }
            throw new IllegalArgumentException("unknown resync mode '" + label + "'");
        }
    }

    /**
     * C→A, 0x22, consumes a seq: {@code handle:u32 seq:u64 timestampMicros:i64 resyncId:u64 mode:u8
     * chunkSize:u32 offset:u64 length:u64}. Opens resync {@code resyncId} over [offset, offset+length).
     */
    public record ResyncStart(int handle, long seq, long timestampMicros, long resyncId, Mode mode, int chunkSize,
                              long offset, long length) implements Frame {
        public static final int BODY_LENGTH = 4 + 8 + 8 + 8 + 1 + 4 + 8 + 8;
        public ResyncStart {
            checkChunk(chunkSize);
        }
        public FrameType type() { return FrameType.RESYNC_START; }
        public int bodyLength() { return BODY_LENGTH; }
        public void writeBody(ByteBuf out) {
            out.writeInt(handle).writeLong(seq).writeLong(timestampMicros).writeLong(resyncId).writeByte(mode.code())
                    .writeInt(chunkSize).writeLong(offset).writeLong(length);
        }
        static ResyncStart read(ByteBuf in) throws ProtocolException {
            Wire.need(in, BODY_LENGTH, "RESYNC_START");
            int handle = in.readInt();
            long seq = in.readLong();
            long ts = in.readLong();
            long id = in.readLong();
            Mode mode = readMode(in);
            int chunk = readChunk(in);
            return new ResyncStart(handle, seq, ts, id, mode, chunk, in.readLong(), in.readLong());
        }
    }

    /**
     * C→A, 0x23, consumes a seq: {@code handle:u32 seq:u64 timestampMicros:i64 resyncId:u64 doneOffset:u64}.
     * Every chunk of the resync below {@code doneOffset} was compared, and each differing one sent, in earlier
     * sequence numbers. Once durable it is where a restarted resync resumes.
     */
    public record ResyncProgress(int handle, long seq, long timestampMicros, long resyncId, long doneOffset)
            implements Frame {
        public static final int BODY_LENGTH = 4 + 8 + 8 + 8 + 8;
        public FrameType type() { return FrameType.RESYNC_PROGRESS; }
        public int bodyLength() { return BODY_LENGTH; }
        public void writeBody(ByteBuf out) {
            out.writeInt(handle).writeLong(seq).writeLong(timestampMicros).writeLong(resyncId).writeLong(doneOffset);
        }
        static ResyncProgress read(ByteBuf in) throws ProtocolException {
            Wire.need(in, BODY_LENGTH, "RESYNC_PROGRESS");
            return new ResyncProgress(in.readInt(), in.readLong(), in.readLong(), in.readLong(), in.readLong());
        }
    }

    /**
     * C→A, 0x24, consumes a seq: {@code handle:u32 seq:u64 timestampMicros:i64 resyncId:u64 consistent:u8
     * name:str}. The end marker: with {@code consistent = 1} it is the first recovery point after the resync.
     */
    public record ResyncEnd(int handle, long seq, long timestampMicros, long resyncId, boolean consistent, String name)
            implements Frame {
        public ResyncEnd {
            Wire.utf8(name, Protocol.MAX_TAG_NAME_BYTES, "resync end name");
        }
        public FrameType type() { return FrameType.RESYNC_END; }
        public int bodyLength() {
            return 4 + 8 + 8 + 8 + 1 + Wire.stringLength(name.getBytes(StandardCharsets.UTF_8));
        }
        public void writeBody(ByteBuf out) {
            out.writeInt(handle).writeLong(seq).writeLong(timestampMicros).writeLong(resyncId)
                    .writeByte(consistent ? 1 : 0);
            Wire.writeString(out, name.getBytes(StandardCharsets.UTF_8));
        }
        static ResyncEnd read(ByteBuf in) throws ProtocolException {
            Wire.need(in, 29, "RESYNC_END");
            int handle = in.readInt();
            long seq = in.readLong();
            long ts = in.readLong();
            long id = in.readLong();
            int consistent = in.readUnsignedByte();
            if (consistent > 1) {
                throw new ProtocolException(ErrorCode.MALFORMED_FRAME, "consistent must be 0 or 1, not " + consistent);
            }
            return new ResyncEnd(handle, seq, ts, id, consistent == 1,
                    Wire.readString(in, Protocol.MAX_TAG_NAME_BYTES, "resync end name"));
        }
    }

    /**
     * A→C, 0x32: {@code handle:u32 resyncId:u64 mode:u8 chunkSize:u32 offset:u64 length:u64 doneOffset:u64}.
     * Sent right after DISK_OPENED when the disk has a resync in progress, so C resumes it at doneOffset.
     */
    public record ResyncState(int handle, long resyncId, Mode mode, int chunkSize, long offset, long length,
                              long doneOffset) implements Frame {
        public static final int BODY_LENGTH = 4 + 8 + 1 + 4 + 8 + 8 + 8;
        public ResyncState {
            checkChunk(chunkSize);
        }
        public FrameType type() { return FrameType.RESYNC_STATE; }
        public int bodyLength() { return BODY_LENGTH; }
        public void writeBody(ByteBuf out) {
            out.writeInt(handle).writeLong(resyncId).writeByte(mode.code()).writeInt(chunkSize).writeLong(offset)
                    .writeLong(length).writeLong(doneOffset);
        }
        static ResyncState read(ByteBuf in) throws ProtocolException {
            Wire.need(in, BODY_LENGTH, "RESYNC_STATE");
            int handle = in.readInt();
            long id = in.readLong();
            Mode mode = readMode(in);
            int chunk = readChunk(in);
            return new ResyncState(handle, id, mode, chunk, in.readLong(), in.readLong(), in.readLong());
        }
    }

    /**
     * C→A, 0x60: {@code handle:u32 requestId:u32 offset:u64 length:u64 chunkSize:u32 algorithm:u8}. Asks for the
     * digest of every chunk of the target in [offset, offset+length); answered by CHECKSUMS frames in order.
     */
    public record ChecksumRequest(int handle, int requestId, long offset, long length, int chunkSize, int algorithm)
            implements Frame {
        public static final int BODY_LENGTH = 4 + 4 + 8 + 8 + 4 + 1;
        public ChecksumRequest {
            checkChunk(chunkSize);
        }
        public FrameType type() { return FrameType.CHECKSUM_REQUEST; }
        public int bodyLength() { return BODY_LENGTH; }
        public void writeBody(ByteBuf out) {
            out.writeInt(handle).writeInt(requestId).writeLong(offset).writeLong(length).writeInt(chunkSize)
                    .writeByte(algorithm);
        }
        /** Number of chunks covered (the last may be short). */
        public long chunks() {
            return (length + chunkSize - 1) / chunkSize;
        }
        static ChecksumRequest read(ByteBuf in) throws ProtocolException {
            Wire.need(in, BODY_LENGTH, "CHECKSUM_REQUEST");
            int handle = in.readInt();
            int id = in.readInt();
            long offset = in.readLong();
            long length = in.readLong();
            int chunk = readChunk(in);
            int alg = in.readUnsignedByte();
            if (alg != ALGORITHM_SHA256) {
                throw new ProtocolException(ErrorCode.MALFORMED_FRAME, "unknown checksum algorithm " + alg);
            }
            return new ChecksumRequest(handle, id, offset, length, chunk, alg);
        }
    }

    /**
     * A→C, 0x61: {@code handle:u32 requestId:u32 offset:u64 appliedSeq:u64 flags:u8 count:u16
     * digests[32 × count]}. The digests of {@code count} consecutive chunks starting at {@code offset}, hashed
     * from the target when everything up to {@code appliedSeq} was applied to it.
     */
    public record Checksums(int handle, int requestId, long offset, long appliedSeq, int flags, byte[] digests)
            implements Frame {
        public static final int HEADER_LENGTH = 4 + 4 + 8 + 8 + 1 + 2;
        public Checksums {
            if (digests.length % DIGEST_LENGTH != 0 || digests.length / DIGEST_LENGTH > MAX_DIGESTS_PER_FRAME) {
                throw new IllegalArgumentException("digests must be 0.." + MAX_DIGESTS_PER_FRAME + " × 32 bytes");
            }
            if ((flags & ~FLAG_LAST) != 0) {
                throw new IllegalArgumentException("flags " + flags);
            }
        }
        public int count() { return digests.length / DIGEST_LENGTH; }
        public boolean last() { return (flags & FLAG_LAST) != 0; }
        public FrameType type() { return FrameType.CHECKSUMS; }
        public int bodyLength() { return HEADER_LENGTH + digests.length; }
        public void writeBody(ByteBuf out) {
            out.writeInt(handle).writeInt(requestId).writeLong(offset).writeLong(appliedSeq).writeByte(flags)
                    .writeShort(count()).writeBytes(digests);
        }
        static Checksums read(ByteBuf in) throws ProtocolException {
            Wire.need(in, HEADER_LENGTH, "CHECKSUMS");
            int handle = in.readInt();
            int id = in.readInt();
            long offset = in.readLong();
            long applied = in.readLong();
            int flags = in.readUnsignedByte();
            if ((flags & ~FLAG_LAST) != 0) {
                throw new ProtocolException(ErrorCode.MALFORMED_FRAME, "reserved CHECKSUMS flag bits set: " + flags);
            }
            int count = in.readUnsignedShort();
            if (count > MAX_DIGESTS_PER_FRAME) {
                throw new ProtocolException(ErrorCode.MALFORMED_FRAME, "CHECKSUMS count " + count + " exceeds "
                        + MAX_DIGESTS_PER_FRAME);
            }
            if (count == 0 && (flags & FLAG_LAST) == 0) {
                throw new ProtocolException(ErrorCode.MALFORMED_FRAME, "an empty CHECKSUMS frame must be the last");
            }
            return new Checksums(handle, id, offset, applied, flags, Wire.readFixed(in, count * DIGEST_LENGTH, "digests"));
        }
    }
}
