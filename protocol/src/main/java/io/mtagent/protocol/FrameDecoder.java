package io.mtagent.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.util.ReferenceCountUtil;
import java.util.List;

/**
 * Turns the byte stream into {@link Frame}s (SPEC.md §3–§5). A state machine with limits:
 * <ul>
 *   <li>{@code READ_LENGTH}: needs 4 bytes; a length of 0 is {@link ErrorCode#MALFORMED_FRAME} and one above
 *       the cap in force {@link ErrorCode#FRAME_TOO_LARGE}, both <em>before</em> any body byte is buffered, so a
 *       forged length never drives an allocation.</li>
 *   <li>{@code READ_FRAME}: waits until the whole frame is in the cumulation, then parses it in place; a WRITE's
 *       data is a retained slice of the input (no copy).</li>
 *   <li>{@code BAD}: after a framing error every further byte is discarded; the error was passed on as a
 *       {@link ProtocolException} through {@code exceptionCaught} so the session answers with an ERROR frame
 *       and closes.</li>
 * </ul>
 * The cap starts at {@link Protocol#HANDSHAKE_MAX_FRAME_LENGTH} and is raised by {@link #setMaxFrameLength}
 * once the peer is authenticated. Not thread-safe: used only on its channel's event loop.
 */
public final class FrameDecoder extends ByteToMessageDecoder {
    private enum State { READ_LENGTH, READ_FRAME, BAD }

    private State state = State.READ_LENGTH;
    private int frameLength;
    private int maxFrameLength;
    /** The negotiated version: frame types, flag bits and state values of later versions are refused. */
    private int version = Protocol.VERSION_1;

    public FrameDecoder(int maxFrameLength) {
        this.maxFrameLength = maxFrameLength;
        // Frames up to 16 MiB arrive as many decrypted TLS records of 16 KiB. Gathering them into one buffer
        // (the default) copied every byte at least once, more while the buffer grew by doubling, and a fresh
        // buffer per frame because the previous frame's data is still held (until the ingest log wrote it).
        // A composite cumulation keeps the records as they are: a WRITE's data is a slice across them.
        setCumulator(COMPOSITE_CUMULATOR);
    }

    /**
     * Sets the negotiated protocol version (after CHALLENGE). Until then, and for a v1 session, only v1 frames
     * decode: a v2 type is UNKNOWN_FRAME_TYPE, a v2 flag bit or state value MALFORMED_FRAME (SPEC.md §9).
     */
    public void setVersion(int version) {
        this.version = version;
    }

    public int version() {
        return version;
    }

    /** Raises (or lowers) the cap for frames whose length word has not been read yet. */
    public void setMaxFrameLength(int maxFrameLength) {
        this.maxFrameLength = maxFrameLength;
    }

    public int maxFrameLength() {
        return maxFrameLength;
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) throws Exception {
        while (true) {
            switch (state) {
                case READ_LENGTH -> {
                    if (in.readableBytes() < Protocol.LENGTH_FIELD_LENGTH) {
                        return;
                    }
                    long len = in.readUnsignedInt();
                    if (len == 0) {
                        fail(in, new ProtocolException(ErrorCode.MALFORMED_FRAME, "frame length 0"));
                    }
                    if (len > maxFrameLength) {
                        fail(in, new ProtocolException(ErrorCode.FRAME_TOO_LARGE,
                                "frame length " + len + " exceeds the cap of " + maxFrameLength));
                    }
                    frameLength = (int) len;
                    state = State.READ_FRAME;
                }
                case READ_FRAME -> {
                    if (in.readableBytes() < frameLength) {
                        return;
                    }
                    int end = in.readerIndex() + frameLength;
                    ByteBuf frame = in.slice(in.readerIndex(), frameLength);
                    in.readerIndex(end);
                    state = State.READ_LENGTH;
                    try {
                        out.add(parse(frame, version));
                    } catch (ProtocolException e) {
                        fail(in, e);
                    }
                }
                case BAD -> {
                    in.skipBytes(in.readableBytes());
                    return;
                }
                default -> throw new IllegalStateException();
            }
        }
    }

    private void fail(ByteBuf in, ProtocolException e) throws ProtocolException {
        state = State.BAD;
        in.skipBytes(in.readableBytes());
        throw e;
    }

    /**
     * Parses one frame (type byte + body, exactly); public for raw clients and tests.
     * The returned WRITE holds a retained slice of {@code frame}.
     */
    public static Frame parse(ByteBuf frame) throws ProtocolException {
        return parse(frame, Protocol.VERSION_1);
    }

    /** {@link #parse(ByteBuf)} under negotiated {@code version}. */
    public static Frame parse(ByteBuf frame, int version) throws ProtocolException {
        int typeCode = frame.readUnsignedByte();
        FrameType type = FrameType.of(typeCode);
        if (type == null || type.sinceVersion() > version) {
            throw new ProtocolException(ErrorCode.UNKNOWN_FRAME_TYPE, String.format("unknown frame type 0x%02x", typeCode));
        }
        Frame f = switch (type) {
            case HELLO -> Frames.Hello.read(frame);
            case CHALLENGE -> Frames.Challenge.read(frame);
            case AUTH_PROOF -> Frames.AuthProof.read(frame);
            case AUTH_OK -> Frames.AuthOk.read(frame);
            case OPEN_DISK -> Frames.OpenDisk.read(frame);
            case DISK_OPENED -> Frames.DiskOpened.read(frame);
            case CLOSE_DISK -> Frames.CloseDisk.read(frame);
            case DISK_CLOSED -> Frames.DiskClosed.read(frame);
            case WRITE -> readWrite(frame, version);
            case TAG -> Frames.Tag.read(frame);
            case ACK -> Frames.Ack.read(frame);
            case CREDIT -> Frames.Credit.read(frame);
            case ERROR -> Frames.Error.read(frame);
            case PING -> Frames.Ping.read(frame);
            case PONG -> Frames.Pong.read(frame);
            case RESYNC_START -> ResyncFrames.ResyncStart.read(frame);
            case RESYNC_PROGRESS -> ResyncFrames.ResyncProgress.read(frame);
            case RESYNC_END -> ResyncFrames.ResyncEnd.read(frame);
            case RESYNC_STATE -> ResyncFrames.ResyncState.read(frame);
            case CHECKSUM_REQUEST -> ResyncFrames.ChecksumRequest.read(frame);
            case CHECKSUMS -> ResyncFrames.Checksums.read(frame);
        };
        if (f instanceof Frames.DiskOpened o && o.state().sinceVersion() > version) {
            throw new ProtocolException(ErrorCode.MALFORMED_FRAME, "disk state " + o.state().code()
                    + " is not defined in protocol version " + version);
        }
        if (frame.isReadable()) {
            ReferenceCountUtil.release(f);
            throw new ProtocolException(ErrorCode.MALFORMED_FRAME,
                    frame.readableBytes() + " trailing bytes after a " + type + " frame");
        }
        return f;
    }

    private static WriteFrame readWrite(ByteBuf in, int version) throws ProtocolException {
        Wire.need(in, Protocol.WRITE_HEADER_LENGTH, "WRITE header");
        int handle = in.readInt();
        long seq = in.readLong();
        long ts = in.readLong();
        long offset = in.readLong();
        int length = in.readInt();
        int crc = in.readInt();
        int flags = in.readUnsignedByte();
        int known = version >= Protocol.VERSION_2 ? Protocol.FLAG_LZ4 | Protocol.FLAG_RESYNC : Protocol.FLAG_LZ4;
        if ((flags & ~known) != 0) {
            // A framing error (SPEC.md §3): fatal, for the connection (NO_HANDLE); the handle is only named.
            throw new ProtocolException(ErrorCode.MALFORMED_FRAME, "reserved WRITE flag bits set: " + flags
                    + " (WRITE on handle " + Integer.toUnsignedString(handle) + ", seq " + seq + ")");
        }
        int dataLength = in.readableBytes();
        if ((flags & Protocol.FLAG_LZ4) == 0 && dataLength != length) {
            throw new ProtocolException(ErrorCode.MALFORMED_FRAME, "uncompressed WRITE carries " + dataLength
                    + " bytes but says length " + length + " (handle " + Integer.toUnsignedString(handle) + ", seq "
                    + seq + ")");
        }
        ByteBuf data = in.readRetainedSlice(dataLength);
        return new WriteFrame(handle, seq, ts, offset, length, crc, flags, data);
    }
}
