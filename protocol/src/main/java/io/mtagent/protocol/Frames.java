package io.mtagent.protocol;

import io.netty.buffer.ByteBuf;
import java.nio.charset.StandardCharsets;

/**
 * The immutable frame types other than {@link WriteFrame}. Field order and widths are SPEC.md §5 exactly;
 * each {@code read} checks every length against its limit before reading it, and rejects trailing bytes.
 */
public final class Frames {
    private Frames() {
    }

    private static void checkNonce(byte[] nonce) {
        if (nonce.length != HandshakeCrypto.NONCE_LENGTH) {
            throw new IllegalArgumentException("nonce must be " + HandshakeCrypto.NONCE_LENGTH + " bytes");
        }
    }

    /** C→A, first frame: {@code magic:u32 minVersion:u16 maxVersion:u16 clientNonce[32] clientTimeMicros:i64 clientName:str}. */
    public record Hello(int magic, int minVersion, int maxVersion, byte[] clientNonce, long clientTimeMicros,
                        String clientName) implements Frame {
        public Hello {
            checkNonce(clientNonce);
            Wire.utf8(clientName, Protocol.MAX_NAME_BYTES, "clientName");
        }
        public FrameType type() { return FrameType.HELLO; }
        public int bodyLength() { return 4 + 2 + 2 + 32 + 8 + Wire.stringLength(clientName.getBytes(StandardCharsets.UTF_8)); }
        public void writeBody(ByteBuf out) {
            out.writeInt(magic).writeShort(minVersion).writeShort(maxVersion).writeBytes(clientNonce)
                    .writeLong(clientTimeMicros);
            Wire.writeString(out, clientName.getBytes(StandardCharsets.UTF_8));
        }
        static Hello read(ByteBuf in) throws ProtocolException {
            Wire.need(in, 8, "HELLO");
            int magic = in.readInt();
            int min = in.readUnsignedShort();
            int max = in.readUnsignedShort();
            byte[] nonce = Wire.readFixed(in, 32, "clientNonce");
            Wire.need(in, 8, "clientTimeMicros");
            long time = in.readLong();
            return new Hello(magic, min, max, nonce, time, Wire.readString(in, Protocol.MAX_NAME_BYTES, "clientName"));
        }
    }

    /** A→C: {@code version:u16 serverNonce[32] saltLen:u8 salt[saltLen] iterations:u32 serverTimeMicros:i64 agentName:str}. */
    public record Challenge(int version, byte[] serverNonce, byte[] salt, int iterations, long serverTimeMicros,
                            String agentName) implements Frame {
        public Challenge {
            checkNonce(serverNonce);
            if (salt.length == 0 || salt.length > Protocol.MAX_SALT_BYTES) {
                throw new IllegalArgumentException("salt must be 1.." + Protocol.MAX_SALT_BYTES + " bytes");
            }
            Wire.utf8(agentName, Protocol.MAX_NAME_BYTES, "agentName");
        }
        public FrameType type() { return FrameType.CHALLENGE; }
        public int bodyLength() { return 2 + 32 + 1 + salt.length + 4 + 8 + Wire.stringLength(agentName.getBytes(StandardCharsets.UTF_8)); }
        public void writeBody(ByteBuf out) {
            out.writeShort(version).writeBytes(serverNonce).writeByte(salt.length).writeBytes(salt)
                    .writeInt(iterations).writeLong(serverTimeMicros);
            Wire.writeString(out, agentName.getBytes(StandardCharsets.UTF_8));
        }
        static Challenge read(ByteBuf in) throws ProtocolException {
            Wire.need(in, 2, "version");
            int version = in.readUnsignedShort();
            byte[] nonce = Wire.readFixed(in, 32, "serverNonce");
            Wire.need(in, 1, "saltLen");
            int saltLen = in.readUnsignedByte();
            if (saltLen == 0 || saltLen > Protocol.MAX_SALT_BYTES) {
                throw new ProtocolException(ErrorCode.MALFORMED_FRAME, "salt length " + saltLen);
            }
            byte[] salt = Wire.readFixed(in, saltLen, "salt");
            Wire.need(in, 12, "iterations");
            int iterations = in.readInt();
            long time = in.readLong();
            return new Challenge(version, nonce, salt, iterations, time,
                    Wire.readString(in, Protocol.MAX_NAME_BYTES, "agentName"));
        }
    }

    /** C→A: {@code proof[32]}. */
    public record AuthProof(byte[] proof) implements Frame {
        public AuthProof {
            if (proof.length != HandshakeCrypto.PROOF_LENGTH) {
                throw new IllegalArgumentException("proof must be 32 bytes");
            }
        }
        public FrameType type() { return FrameType.AUTH_PROOF; }
        public int bodyLength() { return 32; }
        public void writeBody(ByteBuf out) { out.writeBytes(proof); }
        static AuthProof read(ByteBuf in) throws ProtocolException {
            return new AuthProof(Wire.readFixed(in, 32, "proof"));
        }
    }

    /** A→C: {@code serverProof[32] maxFrameLength:u32 maxWriteBytes:u32 sessionId:u64}. */
    public record AuthOk(byte[] serverProof, int maxFrameLength, int maxWriteBytes, long sessionId) implements Frame {
        public AuthOk {
            if (serverProof.length != HandshakeCrypto.PROOF_LENGTH) {
                throw new IllegalArgumentException("proof must be 32 bytes");
            }
        }
        public FrameType type() { return FrameType.AUTH_OK; }
        public int bodyLength() { return 32 + 4 + 4 + 8; }
        public void writeBody(ByteBuf out) {
            out.writeBytes(serverProof).writeInt(maxFrameLength).writeInt(maxWriteBytes).writeLong(sessionId);
        }
        static AuthOk read(ByteBuf in) throws ProtocolException {
            byte[] proof = Wire.readFixed(in, 32, "serverProof");
            Wire.need(in, 16, "AUTH_OK");
            return new AuthOk(proof, in.readInt(), in.readInt(), in.readLong());
        }
    }

    /** C→A: {@code handle:u32 epoch:u64 oldestSeq:u64 diskId:str}. */
    public record OpenDisk(int handle, long epoch, long oldestSeq, String diskId) implements Frame {
        public OpenDisk {
            Wire.utf8(diskId, Protocol.MAX_DISK_ID_BYTES, "diskId");
        }
        public FrameType type() { return FrameType.OPEN_DISK; }
        public int bodyLength() { return 4 + 8 + 8 + Wire.stringLength(diskId.getBytes(StandardCharsets.UTF_8)); }
        public void writeBody(ByteBuf out) {
            out.writeInt(handle).writeLong(epoch).writeLong(oldestSeq);
            Wire.writeString(out, diskId.getBytes(StandardCharsets.UTF_8));
        }
        static OpenDisk read(ByteBuf in) throws ProtocolException {
            Wire.need(in, 20, "OPEN_DISK");
            int handle = in.readInt();
            long epoch = in.readLong();
            long oldest = in.readLong();
            String diskId = Wire.readString(in, Protocol.MAX_DISK_ID_BYTES, "diskId");
            if (diskId.isEmpty()) {
                // SPEC.md §5.5: 1..256 bytes; an empty str is outside the field's limits (MALFORMED_FRAME, §3).
                throw new ProtocolException(ErrorCode.MALFORMED_FRAME, "empty diskId in OPEN_DISK");
            }
            return new OpenDisk(handle, epoch, oldest, diskId);
        }
    }

    /** A→C: {@code handle:u32 sizeBytes:u64 sectorSize:u32 state:u8 lastDurableSeq:u64 appliedSeq:u64 credit:u32}. */
    public record DiskOpened(int handle, long sizeBytes, int sectorSize, DiskState state, long lastDurableSeq,
                             long appliedSeq, int credit) implements Frame {
        public FrameType type() { return FrameType.DISK_OPENED; }
        public int bodyLength() { return 4 + 8 + 4 + 1 + 8 + 8 + 4; }
        public void writeBody(ByteBuf out) {
            out.writeInt(handle).writeLong(sizeBytes).writeInt(sectorSize).writeByte(state.code())
                    .writeLong(lastDurableSeq).writeLong(appliedSeq).writeInt(credit);
        }
        static DiskOpened read(ByteBuf in) throws ProtocolException {
            Wire.need(in, 37, "DISK_OPENED");
            int handle = in.readInt();
            long size = in.readLong();
            int sector = in.readInt();
            int stateCode = in.readUnsignedByte();
            DiskState state = DiskState.of(stateCode);
            if (state == null) {
                throw new ProtocolException(ErrorCode.MALFORMED_FRAME, "unknown disk state " + stateCode);
            }
            return new DiskOpened(handle, size, sector, state, in.readLong(), in.readLong(), in.readInt());
        }
    }

    /** C→A: {@code handle:u32}. */
    public record CloseDisk(int handle) implements Frame {
        public FrameType type() { return FrameType.CLOSE_DISK; }
        public int bodyLength() { return 4; }
        public void writeBody(ByteBuf out) { out.writeInt(handle); }
        static CloseDisk read(ByteBuf in) throws ProtocolException {
            Wire.need(in, 4, "CLOSE_DISK");
            return new CloseDisk(in.readInt());
        }
    }

    /** A→C: {@code handle:u32 lastDurableSeq:u64}; sent once everything received for the handle is durable. */
    public record DiskClosed(int handle, long lastDurableSeq) implements Frame {
        public FrameType type() { return FrameType.DISK_CLOSED; }
        public int bodyLength() { return 12; }
        public void writeBody(ByteBuf out) { out.writeInt(handle).writeLong(lastDurableSeq); }
        static DiskClosed read(ByteBuf in) throws ProtocolException {
            Wire.need(in, 12, "DISK_CLOSED");
            return new DiskClosed(in.readInt(), in.readLong());
        }
    }

    /** C→A: {@code handle:u32 seq:u64 timestampMicros:i64 tagType:u8 name:str}; consumes one sequence number. */
    public record Tag(int handle, long seq, long timestampMicros, TagType tagType, String name) implements Frame {
        public Tag {
            Wire.utf8(name, Protocol.MAX_TAG_NAME_BYTES, "tag name");
        }
        public FrameType type() { return FrameType.TAG; }
        public int bodyLength() { return 4 + 8 + 8 + 1 + Wire.stringLength(name.getBytes(StandardCharsets.UTF_8)); }
        public void writeBody(ByteBuf out) {
            out.writeInt(handle).writeLong(seq).writeLong(timestampMicros).writeByte(tagType.code());
            Wire.writeString(out, name.getBytes(StandardCharsets.UTF_8));
        }
        static Tag read(ByteBuf in) throws ProtocolException {
            Wire.need(in, 21, "TAG");
            int handle = in.readInt();
            long seq = in.readLong();
            long ts = in.readLong();
            int typeCode = in.readUnsignedByte();
            TagType type = TagType.of(typeCode);
            if (type == null) {
                throw new ProtocolException(ErrorCode.MALFORMED_FRAME, "unknown tag type " + typeCode);
            }
            return new Tag(handle, seq, ts, type, Wire.readString(in, Protocol.MAX_TAG_NAME_BYTES, "tag name"));
        }
    }

    /** A→C: {@code handle:u32 ackedSeq:u64}: every sequence number ≤ ackedSeq of the disk is durable. */
    public record Ack(int handle, long ackedSeq) implements Frame {
        public FrameType type() { return FrameType.ACK; }
        public int bodyLength() { return 12; }
        public void writeBody(ByteBuf out) { out.writeInt(handle).writeLong(ackedSeq); }
        static Ack read(ByteBuf in) throws ProtocolException {
            Wire.need(in, 12, "ACK");
            return new Ack(in.readInt(), in.readLong());
        }
    }

    /** A→C: {@code handle:u32 bytes:u32}: the disk's credit grows by {@code bytes}. */
    public record Credit(int handle, int bytes) implements Frame {
        public FrameType type() { return FrameType.CREDIT; }
        public int bodyLength() { return 8; }
        public void writeBody(ByteBuf out) { out.writeInt(handle).writeInt(bytes); }
        static Credit read(ByteBuf in) throws ProtocolException {
            Wire.need(in, 8, "CREDIT");
            return new Credit(in.readInt(), in.readInt());
        }
    }

    /** A→C: {@code code:u16 handle:u32 seq:u64 fatal:u8 message:str}. */
    public record Error(int code, int handle, long seq, boolean fatal, String message) implements Frame {
        public Error {
            byte[] b = message.getBytes(StandardCharsets.UTF_8);
            if (b.length > Protocol.MAX_ERROR_MESSAGE_BYTES) {
                message = new String(b, 0, Protocol.MAX_ERROR_MESSAGE_BYTES - 3, StandardCharsets.UTF_8) + "...";
                while (message.getBytes(StandardCharsets.UTF_8).length > Protocol.MAX_ERROR_MESSAGE_BYTES) {
                    message = message.substring(0, message.length() - 4) + "...";
                }
            }
        }
        public static Error of(ErrorCode code, int handle, long seq, String message) {
            return new Error(code.code(), handle, seq, code.fatal(), message);
        }
        /** The known code, or null for a code this version does not know. */
        public ErrorCode errorCode() { return ErrorCode.of(code); }
        public FrameType type() { return FrameType.ERROR; }
        public int bodyLength() { return 2 + 4 + 8 + 1 + Wire.stringLength(message.getBytes(StandardCharsets.UTF_8)); }
        public void writeBody(ByteBuf out) {
            out.writeShort(code).writeInt(handle).writeLong(seq).writeByte(fatal ? 1 : 0);
            Wire.writeString(out, message.getBytes(StandardCharsets.UTF_8));
        }
        static Error read(ByteBuf in) throws ProtocolException {
            Wire.need(in, 15, "ERROR");
            int code = in.readUnsignedShort();
            int handle = in.readInt();
            long seq = in.readLong();
            int fatal = in.readUnsignedByte();
            if (fatal > 1) {
                throw new ProtocolException(ErrorCode.MALFORMED_FRAME, "fatal flag " + fatal);
            }
            return new Error(code, handle, seq, fatal == 1, Wire.readString(in, Protocol.MAX_ERROR_MESSAGE_BYTES, "message"));
        }
    }

    /** Either direction: {@code nonce:u64}; answered by PONG with the same nonce. */
    public record Ping(long nonce) implements Frame {
        public FrameType type() { return FrameType.PING; }
        public int bodyLength() { return 8; }
        public void writeBody(ByteBuf out) { out.writeLong(nonce); }
        static Ping read(ByteBuf in) throws ProtocolException {
            Wire.need(in, 8, "PING");
            return new Ping(in.readLong());
        }
    }

    /** Either direction: {@code nonce:u64}. */
    public record Pong(long nonce) implements Frame {
        public FrameType type() { return FrameType.PONG; }
        public int bodyLength() { return 8; }
        public void writeBody(ByteBuf out) { out.writeLong(nonce); }
        static Pong read(ByteBuf in) throws ProtocolException {
            Wire.need(in, 8, "PONG");
            return new Pong(in.readLong());
        }
    }
}
