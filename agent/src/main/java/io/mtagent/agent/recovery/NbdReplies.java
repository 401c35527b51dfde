package io.mtagent.agent.recovery;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import java.util.List;

/**
 * Encodes transmission replies, simple or structured (NBD {@code doc/proto.md}, "Structured reply chunk message").
 *
 * <pre>
 * simple reply:      u32 0x67446698, u32 error, u64 handle [, read data]
 * structured chunk:  u32 0x668e33ef, u16 flags (DONE = 1), u16 type, u64 handle, u32 length, payload
 *   NONE (0)            no payload: the request succeeded
 *   OFFSET_DATA (1)     u64 offset, data
 *   BLOCK_STATUS (5)    u32 context id, n × (u32 length, u32 status flags)
 *   ERROR (32769)       u32 error, u16 message length (0: no message)
 * </pre>
 * Once the client negotiated structured replies every reply of the connection is a structured chunk carrying
 * the DONE flag (one chunk per request), so a client never has to tell the two kinds apart.
 *
 * <p>Stateless; the caller writes from one thread at a time per channel.
 */
final class NbdReplies {
    private static final int CHUNK_HEADER = 20;

    private NbdReplies() {
    }

    /** Success without data, or an error ({@code error} a Linux errno as the protocol defines them). */
    static ChannelFuture status(Channel ch, boolean structured, long handle, int error) {
        if (!structured) {
            return ch.writeAndFlush(ch.alloc().buffer(16).writeInt(Nbd.SIMPLE_REPLY_MAGIC).writeInt(error)
                    .writeLong(handle));
        }
        if (error == 0) {
            return ch.writeAndFlush(chunkHeader(ch, Nbd.REPLY_TYPE_NONE, handle, 0, 0));
        }
        ByteBuf b = chunkHeader(ch, Nbd.REPLY_TYPE_ERROR, handle, 6, 6);
        return ch.writeAndFlush(b.writeInt(error).writeShort(0));
    }

    /** The data of a read at {@code offset}; {@code data} is released once sent. */
    static ChannelFuture data(Channel ch, boolean structured, long handle, long offset, ByteBuf data) {
        if (structured) {
            ch.write(chunkHeader(ch, Nbd.REPLY_TYPE_OFFSET_DATA, handle, 8 + data.readableBytes(), 8)
                    .writeLong(offset));
        } else {
            ch.write(ch.alloc().buffer(16).writeInt(Nbd.SIMPLE_REPLY_MAGIC).writeInt(0).writeLong(handle));
        }
        return ch.writeAndFlush(data);
    }

    /** The {@value Nbd#META_BASE_ALLOCATION} descriptors of a block status request (structured only). */
    static ChannelFuture blockStatus(Channel ch, long handle, List<NbdBlockStatus.Descriptor> descriptors) {
        int length = 4 + 8 * descriptors.size();
        ByteBuf b = chunkHeader(ch, Nbd.REPLY_TYPE_BLOCK_STATUS, handle, length, length);
        b.writeInt(Nbd.META_BASE_ALLOCATION_ID);
        for (NbdBlockStatus.Descriptor d : descriptors) {
            b.writeInt(d.length()).writeInt(d.flags());
        }
        return ch.writeAndFlush(b);
    }

    /** A chunk's header, in a buffer with room for {@code inline} payload bytes after it. */
    private static ByteBuf chunkHeader(Channel ch, int type, long handle, int length, int inline) {
        ByteBuf b = ch.alloc().buffer(CHUNK_HEADER + inline);
        return b.writeInt(Nbd.STRUCTURED_REPLY_MAGIC).writeShort(Nbd.REPLY_FLAG_DONE).writeShort(type)
                .writeLong(handle).writeInt(length);
    }
}
