package io.mtagent.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.MessageToMessageEncoder;
import java.util.List;

/**
 * Encodes {@link Frame}s: {@code length:u32 type:u8 body}. A WRITE's header goes into one small buffer and its
 * data follows as the frame's own buffer, so payloads are never copied. Stateless and {@link ChannelHandler.Sharable}.
 */
@ChannelHandler.Sharable
public final class FrameEncoder extends MessageToMessageEncoder<Frame> {
    public static final FrameEncoder INSTANCE = new FrameEncoder();

    private FrameEncoder() {
        super(Frame.class);
    }

    @Override
    protected void encode(ChannelHandlerContext ctx, Frame frame, List<Object> out) {
        if (frame instanceof WriteFrame w) {
            ByteBuf header = ctx.alloc().buffer(Protocol.LENGTH_FIELD_LENGTH + 1 + Protocol.WRITE_HEADER_LENGTH);
            header.writeInt(1 + Protocol.WRITE_HEADER_LENGTH + w.data().readableBytes());
            header.writeByte(FrameType.WRITE.code());
            w.writeBody(header);
            out.add(header);
            out.add(w.data().retain()); // MessageToMessageEncoder releases the frame itself afterwards
        } else {
            out.add(encode(ctx.alloc().buffer(Protocol.LENGTH_FIELD_LENGTH + 1 + frame.bodyLength()), frame));
        }
    }

    /** Writes one complete non-WRITE frame into {@code buf}; also used by tests and the hex example. */
    public static ByteBuf encode(ByteBuf buf, Frame frame) {
        int start = buf.writerIndex();
        buf.writeInt(0);
        buf.writeByte(frame.type().code());
        frame.writeBody(buf);
        if (frame instanceof WriteFrame w) {
            buf.writeBytes(w.data(), w.data().readerIndex(), w.data().readableBytes());
        }
        buf.setInt(start, buf.writerIndex() - start - Protocol.LENGTH_FIELD_LENGTH);
        return buf;
    }
}
