package io.mtagent.agent.control;

import io.mtagent.agent.security.ConnectionAdmission;
import io.mtagent.agent.security.ControlToken;
import io.mtagent.agent.security.PeerStats;
import io.mtagent.agent.security.RateLimitedLog;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

/**
 * Decides on a control request from its request line and headers alone, before a byte of its body is read
 * (docs/ARCHITECTURE.md, "Hostile neighbours"). Sits between the HTTP codec and the aggregator:
 * <ul>
 *   <li><b>Header deadline.</b> A connection must deliver its request headers (TLS handshake included) within
 *       {@code deadlineMillis} of its accept, and each further request on a kept-alive connection within the same
 *       time after the previous response. The deadline is fixed: bytes arriving do not restart it, so a client
 *       sending one header byte a second is cut off like a silent one.</li>
 *   <li><b>Authentication first.</b> {@code /status} and {@code /v1/...} need the bearer token; a request without
 *       it is answered 401 and the connection closed, with its body never read. A request that carries a body
 *       without the token is refused the same way (401 on a guarded path, 413 on an open one).</li>
 *   <li><b>Body cap.</b> A declared body over {@code maxBody} is 413 at once (the aggregator's cap stays as the
 *       guard for chunked bodies).</li>
 * </ul>
 * Not sharable: one per connection; runs on the connection's event loop.
 */
final class RequestGate extends ChannelDuplexHandler {
    /** Refused tokens are logged (an operator with the wrong file, or someone guessing), at most every 10 s. */
    private static final RateLimitedLog REFUSALS = new RateLimitedLog(System.getLogger(RequestGate.class.getName()));
    private final ControlToken token;
    private final boolean openHealth;
    private final boolean openMetrics;
    private final int maxBody;
    private final long deadlineMillis;
    private final ConnectionAdmission admission;
    private final PeerStats stats;
    private ScheduledFuture<?> deadline;
    /** Discarding the rest of a refused request until the connection closes. */
    private boolean refused;

    RequestGate(ControlToken token, boolean openHealth, boolean openMetrics, int maxBody, long deadlineMillis,
                ConnectionAdmission admission, PeerStats stats) {
        this.token = token;
        this.openHealth = openHealth;
        this.openMetrics = openMetrics;
        this.maxBody = maxBody;
        this.deadlineMillis = deadlineMillis;
        this.admission = admission;
        this.stats = stats;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        armDeadline(ctx);
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        cancelDeadline();
    }

    private void armDeadline(ChannelHandlerContext ctx) {
        cancelDeadline();
        deadline = ctx.executor().schedule(() -> {
            stats.handshakeTimeouts.increment();
            ctx.close();
        }, deadlineMillis, TimeUnit.MILLISECONDS);
    }

    private void cancelDeadline() {
        if (deadline != null) {
            deadline.cancel(false);
            deadline = null;
        }
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (refused) {
            ReferenceCountUtil.release(msg);
            return;
        }
        if (msg instanceof HttpRequest request) {
            cancelDeadline();
            admission.handshakeComplete(ctx.channel());
            String refusal = check(request);
            if (refusal != null) {
                refused = true;
                ReferenceCountUtil.release(msg);
                stats.unauthenticatedRequests.increment();
                HttpResponseStatus status = refusal.startsWith("401") ? HttpResponseStatus.UNAUTHORIZED
                        : HttpResponseStatus.REQUEST_ENTITY_TOO_LARGE;
                if (status == HttpResponseStatus.UNAUTHORIZED) {
                    boolean given = request.headers().contains(HttpHeaderNames.AUTHORIZATION);
                    REFUSALS.warn(given ? "wrong" : "missing", "control request(s) refused (401) "
                            + (given ? "for a wrong bearer token" : "without a bearer token") + "; last: "
                            + request.method() + " " + new QueryStringDecoder(request.uri()).path() + " from "
                            + ctx.channel().remoteAddress());
                }
                refuse(ctx, status, refusal.substring(4));
                return;
            }
        }
        ctx.fireChannelRead(msg);
    }

    /** "401 reason" or "413 reason" when the request must not be read further, else null. */
    private String check(HttpRequest request) {
        if (request.decoderResult().isFailure()) {
            return null; // the handler answers 400 with the codec's reason
        }
        String path = new QueryStringDecoder(request.uri()).path();
        boolean authorized = token.matches(request.headers().get(HttpHeaderNames.AUTHORIZATION));
        boolean hasBody = HttpUtil.isTransferEncodingChunked(request) || HttpUtil.getContentLength(request, 0L) > 0;
        boolean guarded = path.equals("/status") || path.startsWith("/v1/") || path.equals("/v1")
                || path.equals("/health") && !openHealth || path.equals("/metrics") && !openMetrics;
        if (!authorized && guarded) {
            return request.headers().contains(HttpHeaderNames.AUTHORIZATION)
                    ? "401 the bearer token does not match this agent's control.token.file: use the configuration the"
                            + " agent runs with (mtagent --config FILE), as its user or root"
                    : "401 a bearer token is required: 'Authorization: Bearer <contents of control.token.file>'";
        }
        if (!authorized && hasBody) {
            return "413 a request without the bearer token carries no body";
        }
        if (HttpUtil.getContentLength(request, 0L) > maxBody) {
            return "413 the body is larger than " + maxBody + " bytes (control requests are small JSON documents)";
        }
        return null;
    }

    private static void refuse(ChannelHandlerContext ctx, HttpResponseStatus status, String message) {
        byte[] body = ("{\"error\":\"" + message.replace("\"", "'") + "\"}").getBytes(StandardCharsets.UTF_8);
        FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status, Unpooled.wrappedBuffer(body));
        r.headers().set(HttpHeaderNames.CONTENT_TYPE, "application/json; charset=utf-8");
        r.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, body.length);
        r.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
        if (status == HttpResponseStatus.UNAUTHORIZED) {
            r.headers().set(HttpHeaderNames.WWW_AUTHENTICATE, "Bearer realm=\"mtagent\"");
        }
        ctx.writeAndFlush(r).addListener(ChannelFutureListener.CLOSE);
    }

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
        boolean endOfResponse = msg instanceof LastHttpContent || msg instanceof FullHttpResponse;
        boolean headOnly = msg instanceof HttpResponse && !(msg instanceof HttpContent);
        ctx.write(msg, promise);
        if (endOfResponse && !headOnly && !refused) {
            armDeadline(ctx); // the next request on this kept-alive connection has the same time
        }
    }
}
