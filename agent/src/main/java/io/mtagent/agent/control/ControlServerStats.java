package io.mtagent.agent.control;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.ssl.SslHandler;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;

/**
 * Counters of the HTTPS control server: open connections, failed TLS handshakes and refused tokens (401), as
 * {@code mtagent_control_*}. {@link #handler()} is the shared pipeline handler that counts connections and
 * 401 answers without touching the request handling; {@link #watch} counts a connection's failed handshake.
 *
 * <p>Thread-safe: atomics, updated from the event loop and read by scrapes.
 */
final class ControlServerStats {
    private final AtomicInteger open = new AtomicInteger();
    private final LongAdder accepted = new LongAdder();
    private final LongAdder handshakeFailures = new LongAdder();
    private final LongAdder authFailures = new LongAdder();
    private final ChannelHandler handler = new Counting();

    void register(MeterRegistry registry) {
        Gauge.builder("mtagent.control.connections", open, AtomicInteger::get)
                .description("Open connections to the control server").register(registry);
        FunctionCounter.builder("mtagent.control.connections.accepted", accepted, LongAdder::sum)
                .description("Connections the control server accepted since start").register(registry);
        FunctionCounter.builder("mtagent.control.tls.handshake.failures", handshakeFailures, LongAdder::sum)
                .description("TLS handshakes on the control port that failed (a client that does not trust the"
                        + " agent's certificate, or a scanner)").register(registry);
        FunctionCounter.builder("mtagent.control.auth.failures", authFailures, LongAdder::sum)
                .description("Control requests refused for a missing or wrong bearer token (HTTP 401)")
                .register(registry);
    }

    /** The pipeline handler (shared by every connection; put it after the HTTP codec). */
    ChannelHandler handler() {
        return handler;
    }

    /** Counts {@code tls}'s handshake if it fails. */
    void watch(SslHandler tls) {
        tls.handshakeFuture().addListener(f -> {
            if (!f.isSuccess()) {
                handshakeFailures.increment();
            }
        });
    }

    long authFailures() {
        return authFailures.sum();
    }

    long handshakeFailures() {
        return handshakeFailures.sum();
    }

    @ChannelHandler.Sharable
    private final class Counting extends ChannelDuplexHandler {
        @Override
        public void channelActive(ChannelHandlerContext ctx) throws Exception {
            open.incrementAndGet();
            accepted.increment();
            super.channelActive(ctx);
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) throws Exception {
            open.decrementAndGet();
            super.channelInactive(ctx);
        }

        @Override
        public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) throws Exception {
            if (msg instanceof HttpResponse r && HttpResponseStatus.UNAUTHORIZED.equals(r.status())) {
                authFailures.increment();
            }
            super.write(ctx, msg, promise);
        }
    }
}
