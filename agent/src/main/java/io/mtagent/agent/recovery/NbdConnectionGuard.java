package io.mtagent.agent.recovery;

import io.mtagent.agent.security.PeerStats;
import io.mtagent.agent.security.RateLimitedLog;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.handler.timeout.IdleStateHandler;
import io.netty.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * The time budget of one NBD connection: a fixed handshake deadline armed at the accept (TLS and option haggling
 * must be over, an export chosen, by then, however slowly the client sends: nothing restarts it), and once in
 * transmission an idle time-out (no request and no reply for that long closes the connection). Sits at the front
 * of the pipeline, behind the TLS handler once STARTTLS has added one.
 *
 * <p>Not sharable: one per connection; runs on the connection's event loop.
 */
final class NbdConnectionGuard extends ChannelDuplexHandler {
    static final String NAME = "nbd-guard";

    private final long handshakeMillis;
    private final long idleMillis;
    private final PeerStats stats;
    private final RateLimitedLog log;
    private ChannelHandlerContext context;
    private ScheduledFuture<?> deadline;
    private boolean transmission;

    NbdConnectionGuard(long handshakeMillis, long idleMillis, PeerStats stats, RateLimitedLog log) {
        this.handshakeMillis = handshakeMillis;
        this.idleMillis = idleMillis;
        this.stats = stats;
        this.log = log;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        context = ctx;
        deadline = ctx.executor().schedule(() -> {
            if (!transmission && ctx.channel().isOpen()) {
                stats.handshakeTimeouts.increment();
                log.warn("nbd-handshake-timeout", "NBD client " + ctx.channel().remoteAddress() + " did not finish"
                        + " its handshake within " + handshakeMillis + " ms (nbd.handshake.timeout); closed");
                ctx.close();
            }
        }, handshakeMillis, TimeUnit.MILLISECONDS);
    }

    /** The client chose an export: the deadline is off, the idle time-out on. Event loop only. */
    void transmissionStarted() {
        transmission = true;
        if (deadline != null) {
            deadline.cancel(false);
        }
        if (idleMillis > 0) {
            context.pipeline().addBefore(NAME, "nbd-idle", new IdleStateHandler(0, 0, idleMillis,
                    TimeUnit.MILLISECONDS));
        }
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
        if (evt instanceof IdleStateEvent) {
            stats.idleTimeouts.increment();
            log.warn("nbd-idle", "NBD client " + ctx.channel().remoteAddress() + " sent nothing for " + idleMillis
                    + " ms (nbd.idle.timeout); disconnected");
            ctx.close();
            return;
        }
        super.userEventTriggered(ctx, evt);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
        if (deadline != null) {
            deadline.cancel(false);
        }
        super.channelInactive(ctx);
    }
}
