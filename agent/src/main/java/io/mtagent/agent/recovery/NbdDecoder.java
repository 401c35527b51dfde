package io.mtagent.agent.recovery;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import java.util.List;

/**
 * Splits the client's NBD byte stream into messages. A state machine with length caps checked before any
 * allocation:
 * <ul>
 *   <li>{@code CLIENT_FLAGS}: the 32-bit client flags that answer the server's greeting →
 *       {@link ClientFlags}.</li>
 *   <li>{@code OPTION_HEADER}: {@code u64 IHAVEOPT, u32 option, u32 length}; another magic is a hard error. A
 *       length above {@link Nbd#MAX_OPTION_LENGTH} is skipped byte by byte without buffering
 *       ({@code OPTION_SKIP}) and reported as {@link OversizeOption}; otherwise {@code OPTION_DATA} waits for the
 *       whole payload → {@link Option}.</li>
 *   <li>{@code REQUEST_HEADER} (after {@link #enterTransmission}): the 28-byte request
 *       {@code u32 magic, u16 flags, u16 type, u64 handle, u64 offset, u32 length} → {@link Request}. The payload
 *       of a WRITE is skipped without buffering ({@code WRITE_SKIP}): the export is read-only, the session
 *       answers EPERM.</li>
 *   <li>{@code DONE}: after a protocol error, NBD_CMD_DISC or NBD_OPT_ABORT every further byte is discarded.</li>
 * </ul>
 * Not thread-safe: used only on its channel's event loop. The session switches states from inside
 * {@code channelRead}, which Netty runs before decoding the next message, so the switch is exact.
 */
final class NbdDecoder extends ByteToMessageDecoder {
    private enum State { CLIENT_FLAGS, OPTION_HEADER, OPTION_DATA, OPTION_SKIP, REQUEST_HEADER, WRITE_SKIP, DONE }

    record ClientFlags(int flags) {
    }

    record Option(int code, byte[] data) {
    }

    record OversizeOption(int code, long length) {
    }

    record Request(int flags, int type, long handle, long offset, long length) {
    }

    /** A violation that ends the connection (hard disconnect, as the protocol allows). */
    static final class NbdProtocolException extends Exception {
        NbdProtocolException(String message) {
            super(message, null, false, false);
        }
    }

    private State state = State.CLIENT_FLAGS;
    private int optionCode;
    private long remaining;

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) throws Exception {
        switch (state) {
            case CLIENT_FLAGS -> {
                if (in.readableBytes() >= 4) {
                    state = State.OPTION_HEADER;
                    out.add(new ClientFlags(in.readInt()));
                }
            }
            case OPTION_HEADER -> {
                if (in.readableBytes() < 16) {
                    return;
                }
                long magic = in.readLong();
                if (magic != Nbd.OPTION_MAGIC) {
                    state = State.DONE;
                    throw new NbdProtocolException(String.format("option request without IHAVEOPT magic (0x%016x)", magic));
                }
                optionCode = in.readInt();
                remaining = in.readUnsignedInt();
                if (remaining == 0) {
                    // Emitted now: decode() is not called again until more bytes arrive.
                    out.add(new Option(optionCode, new byte[0]));
                } else {
                    state = remaining > Nbd.MAX_OPTION_LENGTH ? State.OPTION_SKIP : State.OPTION_DATA;
                }
            }
            case OPTION_DATA -> {
                if (in.readableBytes() >= remaining) {
                    byte[] data = new byte[(int) remaining];
                    in.readBytes(data);
                    state = State.OPTION_HEADER;
                    out.add(new Option(optionCode, data));
                }
            }
            case OPTION_SKIP -> {
                long length = remaining;
                if (skip(in)) {
                    state = State.OPTION_HEADER;
                    out.add(new OversizeOption(optionCode, length));
                }
            }
            case REQUEST_HEADER -> {
                if (in.readableBytes() < 28) {
                    return;
                }
                int magic = in.readInt();
                if (magic != Nbd.REQUEST_MAGIC) {
                    state = State.DONE;
                    throw new NbdProtocolException(String.format("request without NBD_REQUEST_MAGIC (0x%08x)", magic));
                }
                Request r = new Request(in.readUnsignedShort(), in.readUnsignedShort(), in.readLong(), in.readLong(),
                        in.readUnsignedInt());
                if (r.type() == Nbd.CMD_WRITE && r.length() > 0) {
                    remaining = r.length();
                    state = State.WRITE_SKIP;
                }
                out.add(r);
            }
            case WRITE_SKIP -> {
                if (skip(in)) {
                    state = State.REQUEST_HEADER;
                }
            }
            case DONE -> in.skipBytes(in.readableBytes());
            default -> throw new IllegalStateException(state.name());
        }
    }

    private boolean skip(ByteBuf in) {
        int n = (int) Math.min(remaining, in.readableBytes());
        in.skipBytes(n);
        remaining -= n;
        return remaining == 0;
    }

    /** Option haggling is over: the next bytes are transmission requests. */
    void enterTransmission() {
        state = State.REQUEST_HEADER;
    }

    /** Discards everything from now on (disconnect requested or protocol error). */
    void done() {
        state = State.DONE;
    }

    /** Bytes received but not decoded yet (must be zero when TLS starts: nothing may precede the handshake). */
    int pendingBytes() {
        return actualReadableBytes();
    }
}
