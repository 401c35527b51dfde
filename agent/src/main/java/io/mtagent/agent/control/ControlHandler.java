package io.mtagent.agent.control;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.mtagent.agent.config.AgentConfig;
import io.mtagent.agent.config.ConfigException;
import io.mtagent.agent.security.ControlToken;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.QueryStringDecoder;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.RejectedExecutionException;
import java.util.function.Function;
import java.util.function.Supplier;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Routes one control request. Authentication: every {@code /v1/...} call and {@code /status} need
 * {@code Authorization: Bearer <token>} (constant-time comparison; 401 with {@code WWW-Authenticate} otherwise);
 * {@code /health} and {@code /metrics} too unless configured open. Unknown paths get 404, a wrong method 405 with
 * {@code Allow}, a malformed request 400, an oversized one 413 (from the aggregator). {@link RequestGate} has
 * already refused unauthenticated requests to guarded paths, before their bodies were read.
 *
 * <p>The work runs on the control worker pool; the response is written back through the channel (thread-safe).
 */
final class ControlHandler extends SimpleChannelInboundHandler<FullHttpRequest> {
    private static final Logger LOG = Logger.getLogger(ControlHandler.class.getName());
    private static final String JSON = "application/json; charset=utf-8";
    static final String PROMETHEUS = "text/plain; version=0.0.4; charset=utf-8";
    /** Named here so they answer 501 with the reason, not 404. */
    private static final List<String> NOT_OFFERED = List.of();

    /**
     * @param healthWorker runs {@code /health} only, so a health check never waits behind slow control work (a
     *                     release waits for its disk's applier) and answers within a second whatever else runs
     */
    record Context(ControlledAgent agent, StatusReport report, ControlToken token, ObjectMapper json, ExecutorService workers,
                   PrometheusMeterRegistry prometheus, boolean openHealth, boolean openMetrics, RecoveryApi recovery,
                   Jobs jobs, ExecutorService healthWorker) {
    }

    /** What a route needs of the request: copied off the Netty buffer, which is released after channelRead0. */
    private record Call(HttpMethod method, String path, Map<String, List<String>> query, byte[] body, String auth) {
        String param(String name) {
            List<String> v = query.get(name);
            return v == null || v.isEmpty() ? null : v.get(0);
        }
    }

    private record Reply(HttpResponseStatus status, String contentType, byte[] body, Map<String, String> headers) {
    }

    private final Context c;

    ControlHandler(Context context) {
        this.c = context;
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest request) {
        boolean keepAlive = HttpUtil.isKeepAlive(request);
        if (request.decoderResult().isFailure()) {
            write(ctx, error(HttpResponseStatus.BAD_REQUEST, "malformed request: " + request.decoderResult().cause()
                    .getMessage()), false);
            return;
        }
        HttpMethod method = request.method();
        QueryStringDecoder uri = new QueryStringDecoder(request.uri());
        String path = uri.path();
        String auth = request.headers().get(HttpHeaderNames.AUTHORIZATION);
        byte[] body = new byte[request.content().readableBytes()];
        request.content().getBytes(request.content().readerIndex(), body);
        Call call = new Call(method, path, uri.parameters(), body, auth);
        try {
            (path.equals("/health") ? c.healthWorker() : c.workers()).execute(() -> {
                Reply reply;
                try {
                    reply = route(call);
                } catch (RuntimeException e) {
                    LOG.log(Level.WARNING, "control request " + method + " " + path + " failed", e);
                    reply = error(HttpResponseStatus.INTERNAL_SERVER_ERROR, "internal error: " + e);
                }
                write(ctx, reply, keepAlive);
            });
        } catch (RejectedExecutionException e) {
            write(ctx, error(HttpResponseStatus.SERVICE_UNAVAILABLE, "the agent is shutting down"), false);
        }
    }

    private Reply route(Call call) {
        HttpMethod method = call.method();
        String path = call.path();
        boolean authorized = c.token().matches(call.auth());
        switch (path) {
            case "/health":
                return get(method, () -> guarded(authorized || c.openHealth(), this::health));
            case "/metrics":
                return get(method, () -> guarded(authorized || c.openMetrics(), this::metrics));
            case "/status":
                return get(method, () -> guarded(authorized, () -> json(HttpResponseStatus.OK, c.report().status())));
            default:
                break;
        }
        if (!path.startsWith("/v1/")) {
            return error(HttpResponseStatus.NOT_FOUND, "no such path: " + path
                    + " (known: /health, /status, /metrics, /v1/disks, /v1/points, /v1/recover, /v1/commit,"
                    + " /v1/export, /v1/verify, /v1/jobs, /v1/nbd, /v1/test-failover)");
        }
        if (!authorized) {
            return unauthorized();
        }
        String[] parts = path.substring(4).split("/", -1);
        if (parts.length >= 1 && NOT_OFFERED.contains(parts[0])
                || parts.length == 3 && parts[0].equals("disks") && NOT_OFFERED.contains(parts[2])) {
            return error(HttpResponseStatus.NOT_IMPLEMENTED, "/v1/" + String.join("/", parts)
                    + " is not offered: 'mtagent verify' runs offline, with the agent stopped");
        }
        if (parts.length == 3 && parts[0].equals("disks")) {
            parts[1] = c.agent().disks().resolveId(parts[1]); // a disk by its configured name as well as its id
        }
        Reply recovery = recoveryRoute(call, parts);
        if (recovery != null) {
            return recovery;
        }
        if (parts.length == 1 && parts[0].equals("disks")) {
            return get(method, () -> json(HttpResponseStatus.OK, Map.of("disks", c.report().disks())));
        }
        if (parts.length == 2 && parts[0].equals("disks") && parts[1].equals("rescan")) {
            return post(method, this::rescan);
        }
        DiskControlApi disks = new DiskControlApi(c.agent(), c.jobs());
        if (parts.length == 3 && parts[0].equals("disks") && parts[2].equals("release")) {
            return post(method, () -> result(disks.release(parts[1])));
        }
        if (parts.length == 3 && parts[0].equals("disks") && parts[2].equals("attach")) {
            return post(method, () -> withBody(call, b -> disks.attach(parts[1], b)));
        }
        if (parts.length == 3 && parts[0].equals("disks") && parts[2].equals("clear-failure")) {
            return post(method, () -> result(disks.clearFailure(parts[1])));
        }
        if (parts.length == 3 && parts[0].equals("disks") && List.of("pause", "resume", "request-resync").contains(parts[2])) {
            return post(method, () -> result(disks.replicationState(parts[1], parts[2])));
        }
        return error(HttpResponseStatus.NOT_FOUND, "no such path: " + path);
    }

    /** The recovery endpoints (points, recover, commit, export, jobs, nbd), or null when the path is not one. */
    private Reply recoveryRoute(Call call, String[] parts) {
        HttpMethod method = call.method();
        RecoveryApi api = c.recovery();
        if (parts.length == 1) {
            switch (parts[0]) {
                case "points":
                    return get(method, () -> result(api.call(() -> api.points(call.param("disk"), call.param("group")))));
                case "recover":
                    return post(method, () -> withBody(call, b -> api.call(() -> api.recover(b))));
                case "commit":
                    return post(method, () -> withBody(call, b -> api.call(() -> api.commit(b))));
                case "export":
                    return post(method, () -> withBody(call, b -> api.call(() -> api.export(b))));
                case "verify":
                    return post(method, () -> withBody(call, b -> api.call(() -> api.verify(b))));
                case "jobs":
                    return get(method, () -> json(HttpResponseStatus.OK, Map.of("jobs", c.jobs().documents())));
                case "nbd":
                    if (method.equals(HttpMethod.GET)) {
                        return result(api.call(api::nbdList));
                    }
                    return post(method, () -> withBody(call, b -> api.call(() -> api.nbdStart(b))));
                case "test-failover":
                    if (method.equals(HttpMethod.GET)) {
                        return result(api.call(api.testFailover()::list));
                    }
                    return post(method, () -> withBody(call, b -> api.call(() -> api.testFailover().start(b))));
                default:
                    return null;
            }
        }
        if (parts.length == 2 && parts[0].equals("jobs") && method.equals(HttpMethod.DELETE)) {
            Jobs.Job job = c.jobs().get(parts[1]);
            if (job == null) {
                return error(HttpResponseStatus.NOT_FOUND, "no job '" + parts[1] + "'");
            }
            String refusal = c.jobs().cancel(job);
            return refusal != null ? error(HttpResponseStatus.CONFLICT, refusal)
                    : json(HttpResponseStatus.ACCEPTED, Map.of("job", job.id, "state", "cancelling"));
        }
        if (parts.length == 2 && parts[0].equals("jobs")) {
            return get(method, () -> {
                Jobs.Job job = c.jobs().get(parts[1]);
                return job == null ? error(HttpResponseStatus.NOT_FOUND, "no job '" + parts[1] + "' (jobs are kept"
                        + " in memory: the last " + Jobs.KEEP_FINISHED + " finished ones, until the agent restarts)")
                        : json(HttpResponseStatus.OK, job.document());
            });
        }
        if (parts.length == 2 && parts[0].equals("test-failover")) {
            if (!method.equals(HttpMethod.DELETE)) {
                return methodNotAllowed("DELETE");
            }
            String id = QueryStringDecoder.decodeComponent(parts[1]);
            return result(api.call(() -> api.testFailover().end(id)));
        }
        if (parts.length == 2 && parts[0].equals("nbd")) {
            if (!method.equals(HttpMethod.DELETE)) {
                return methodNotAllowed("DELETE");
            }
            String name = QueryStringDecoder.decodeComponent(parts[1]);
            return result(api.call(() -> api.nbdStop(name)));
        }
        return null;
    }

    private Reply withBody(Call call, Function<JsonNode,
            ApiResult> action) {
        JsonNode body;
        try {
            body = call.body().length == 0 ? c.json().createObjectNode() : c.json().readTree(call.body());
        } catch (IOException e) {
            return error(HttpResponseStatus.BAD_REQUEST, "the body is not JSON: " + (e instanceof JsonProcessingException j ? j.getOriginalMessage() : e.getMessage()));
        }
        if (body == null || !body.isObject()) {
            return error(HttpResponseStatus.BAD_REQUEST, "the body must be a JSON object");
        }
        return result(action.apply(body));
    }

    private Reply result(ApiResult r) {
        return json(r.status(), r.document());
    }

    private Reply get(HttpMethod method, Supplier<Reply> action) {
        return method.equals(HttpMethod.GET) ? action.get() : methodNotAllowed("GET");
    }

    private Reply post(HttpMethod method, Supplier<Reply> action) {
        return method.equals(HttpMethod.POST) ? action.get() : methodNotAllowed("POST");
    }

    private Reply guarded(boolean allowed, Supplier<Reply> action) {
        return allowed ? action.get() : unauthorized();
    }

    private Reply health() {
        StatusReport.Health h = c.report().health();
        return json(h.severity() == HealthRule.Severity.CRITICAL ? HttpResponseStatus.SERVICE_UNAVAILABLE
                : HttpResponseStatus.OK, h.status());
    }

    private Reply metrics() {
        if (c.prometheus() == null) {
            return error(HttpResponseStatus.NOT_FOUND, "this agent was started without a Prometheus registry");
        }
        return new Reply(HttpResponseStatus.OK, PROMETHEUS, c.prometheus().scrape().getBytes(StandardCharsets.UTF_8),
                Map.of());
    }

    private Reply rescan() {
        var file = c.agent().config().sourceFile();
        if (file.isEmpty()) {
            return error(HttpResponseStatus.CONFLICT, "the agent was started without a configuration file, so"
                    + " there is nothing to re-read; declare disks in a file and start with --config");
        }
        try {
            AgentConfig fresh = AgentConfig.load(file.get(), Map.of());
            List<String> added = c.agent().disks().rescan(fresh.disks());
            return json(HttpResponseStatus.OK, Map.of("added", added, "file", file.get().toString()));
        } catch (ConfigException e) {
            return error(HttpResponseStatus.UNPROCESSABLE_ENTITY, "the configuration file has problems: " + e.getMessage());
        } catch (IllegalArgumentException e) {
            return error(HttpResponseStatus.CONFLICT, e.getMessage());
        } catch (IOException | RuntimeException e) {
            return error(HttpResponseStatus.INTERNAL_SERVER_ERROR, "rescan failed: " + e.getMessage());
        }
    }

    private Reply unauthorized() {
        return new Reply(HttpResponseStatus.UNAUTHORIZED, JSON, body(Map.of("error", "a bearer token is required:"
                + " 'Authorization: Bearer <contents of control.token.file>'")),
                Map.of(HttpHeaderNames.WWW_AUTHENTICATE.toString(), "Bearer realm=\"mtagent\""));
    }

    private Reply methodNotAllowed(String allow) {
        return new Reply(HttpResponseStatus.METHOD_NOT_ALLOWED, JSON, body(Map.of("error", "use " + allow)),
                Map.of(HttpHeaderNames.ALLOW.toString(), allow));
    }

    private Reply json(HttpResponseStatus status, Object document) {
        return new Reply(status, JSON, body(document), Map.of());
    }

    private Reply error(HttpResponseStatus status, String message) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("error", message);
        return json(status, m);
    }

    private byte[] body(Object document) {
        try {
            return c.json().writeValueAsBytes(document);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot render JSON", e);
        }
    }

    private static void write(ChannelHandlerContext ctx, Reply reply, boolean keepAlive) {
        FullHttpResponse response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, reply.status(),
                Unpooled.wrappedBuffer(reply.body()));
        response.headers().set(HttpHeaderNames.CONTENT_TYPE, reply.contentType());
        response.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, reply.body().length);
        response.headers().set("Cache-Control", "no-store");
        reply.headers().forEach((k, v) -> response.headers().set(k, v));
        if (keepAlive) {
            response.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.KEEP_ALIVE);
            ctx.writeAndFlush(response);
        } else {
            response.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
            ctx.writeAndFlush(response).addListener(ChannelFutureListener.CLOSE);
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        LOG.fine(() -> "control connection " + ctx.channel().remoteAddress() + ": " + cause);
        ctx.close();
    }
}
