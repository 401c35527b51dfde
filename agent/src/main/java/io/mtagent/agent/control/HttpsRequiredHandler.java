package io.mtagent.agent.control;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.handler.ssl.SslHandler;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * First handler of a control connection: looks at the first bytes and, when they are a TLS record, steps aside for
 * the TLS handler behind it; when they are anything else (plain HTTP from {@code curl http://...} or a browser), it
 * answers with a plain-text HTTP 400 saying the port speaks HTTPS and which URL to use, and closes, so the
 * operator gets a reason instead of an empty reply. Nothing of the request is parsed. Per-channel, not shared.
 */
final class HttpsRequiredHandler extends ByteToMessageDecoder {
    /** A TLS record header is 5 bytes. */
    private static final int PEEK_BYTES = 5;
    private final int port;
    private final Runnable onPlaintext;

    HttpsRequiredHandler(int port, Runnable onPlaintext) {
        this.port = port;
        this.onPlaintext = onPlaintext;
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        if (in.readableBytes() < PEEK_BYTES) {
            return;
        }
        if (SslHandler.isEncrypted(in, false)) {
            ChannelHandler self = this;
            ctx.pipeline().remove(self); // the buffered bytes go on to the TLS handler
            return;
        }
        onPlaintext.run();
        in.skipBytes(in.readableBytes());
        String text = "This is the mtagent control port; it speaks HTTPS only. Use https://<host>:" + port
                + "/health (the certificate is the agent's own: 'mtagent cert' shows its fingerprint).\n";
        byte[] body = text.getBytes(StandardCharsets.UTF_8);
        String head = "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: "
                + body.length + "\r\nConnection: close\r\n\r\n";
        ByteBuf reply = Unpooled.wrappedBuffer(head.getBytes(StandardCharsets.US_ASCII), body);
        ctx.writeAndFlush(reply).addListener(ChannelFutureListener.CLOSE);
    }
}
