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
 *       of a WRITE to a writable export (a test failover) is gathered whole ({@code WRITE_DATA}, at most
 *       {@link Nbd#MAX_PAYLOAD}) and delivered with it; on a read-only export, or when larger, it is skipped
 *       without buffering ({@code WRITE_SKIP}) and the session answers EPERM or EINVAL.</li>
 *   <li>{@code DONE}: after a protocol error, NBD_CMD_DISC or NBD_OPT_ABORT every further byte is discarded.</li>
 * </ul>
 * Not thread-safe: used only on its channel's event loop. The session switches states from inside
 * {@code channelRead}, which Netty runs before decoding the next message, so the switch is exact.
 */
final class NbdDecoder extends ByteToMessageDecoder {
    private enum State { CLIENT_FLAGS, OPTION_HEADER, OPTION_DATA, OPTION_SKIP, REQUEST_HEADER, WRITE_DATA, WRITE_SKIP, DONE }

    record ClientFlags(int flags) {
    }

    record Option(int code, byte[] data) {
    }

    record OversizeOption(int code, long length) {
    }

    /**
     * A transmission request; {@code data} is a WRITE's payload on a writable export (the receiver releases it),
     * else null (a read-only export's WRITE payload and an oversize one are skipped unread).
     */
    record Request(int flags, int type, long handle, long offset, long length, ByteBuf data) {
        Request(int flags, int type, long handle, long offset, long length) {
            this(flags, type, handle, offset, length, null);
        }
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
    private boolean writable;
    private Request pendingWrite;

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
                    if (writable && r.length() <= Nbd.MAX_PAYLOAD) {
                        // Kept until whole (at most MAX_PAYLOAD buffered); the session bounds what it queues.
                        pendingWrite = r;
                        state = State.WRITE_DATA;
                        return;
                    }
                    state = State.WRITE_SKIP;
                }
                out.add(r);
            }
            case WRITE_DATA -> {
                if (in.readableBytes() >= remaining) {
                    Request h = pendingWrite;
                    pendingWrite = null;
                    state = State.REQUEST_HEADER;
                    out.add(new Request(h.flags(), h.type(), h.handle(), h.offset(), h.length(),
                            in.readRetainedSlice((int) remaining)));
                }
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

    /**
     * Option haggling is over: the next bytes are transmission requests. On a {@code writable} export a WRITE's
     * payload (up to {@link Nbd#MAX_PAYLOAD}) is delivered with its request; otherwise it is skipped unread.
     */
    void enterTransmission(boolean writable) {
        this.writable = writable;
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
