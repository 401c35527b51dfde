package io.mtagent.agent.server;

import io.mtagent.protocol.ErrorCode;
import io.mtagent.protocol.FrameEncoder;
import io.mtagent.protocol.Frames;
import io.mtagent.protocol.Protocol;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;
import java.util.List;

/**
 * First handler of a TLS data-server pipeline: looks at the first bytes and, if they are a TLS record,
 * replaces itself with the {@link SslHandler}; otherwise it answers with a plaintext ERROR frame saying TLS is
 * required (so a misconfigured process server gets a reason, not a reset) and closes. Per-channel, not shared.
 */
final class TlsRequiredHandler extends ByteToMessageDecoder {
    /** A TLS record header is 5 bytes. */
    private static final int PEEK_BYTES = 5;
    private final SslContext sslContext;
    private final Runnable onPlaintext;
    private final Runnable onHandshakeFailure;

    TlsRequiredHandler(SslContext sslContext, Runnable onPlaintext, Runnable onHandshakeFailure) {
        this.sslContext = sslContext;
        this.onPlaintext = onPlaintext;
        this.onHandshakeFailure = onHandshakeFailure;
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        if (in.readableBytes() < PEEK_BYTES) {
            return;
        }
        if (SslHandler.isEncrypted(in, false)) {
            SslHandler tls = sslContext.newHandler(ctx.alloc());
            tls.handshakeFuture().addListener(f -> {
                if (!f.isSuccess()) {
                    onHandshakeFailure.run();
                }
            });
            ctx.pipeline().replace(this, "tls", tls);
            return;
        }
        onPlaintext.run();
        in.skipBytes(in.readableBytes());
        ByteBuf err = FrameEncoder.encode(ctx.alloc().buffer(), Frames.Error.of(ErrorCode.PROTOCOL_VIOLATION,
                Protocol.NO_HANDLE, 0, "this agent requires TLS on this port; connect with TLS"));
        ctx.writeAndFlush(err).addListener(ChannelFutureListener.CLOSE);
    }
}
