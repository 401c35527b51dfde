package io.mtagent.agent.security;

import java.util.concurrent.atomic.LongAdder;

/**
 * Plain counters of what one listening port refused or cut off (data, control or NBD): connections over a cap,
 * handshakes or headers that did not finish in time, idle connections closed, proofs checked and proofs refused
 * unchecked. Tests and the README figures read them; they are not exported as metrics here (metric names belong to
 * the monitoring issue, which can register gauges on these).
 *
 * <p>Thread-safe: {@link LongAdder}s.
 */
public final class PeerStats {
    public final LongAdder connectionsRefused = new LongAdder();
    public final LongAdder handshakeTimeouts = new LongAdder();
    public final LongAdder idleTimeouts = new LongAdder();
    public final LongAdder proofsChecked = new LongAdder();
    public final LongAdder proofsRefusedUnchecked = new LongAdder();
    public final LongAdder unauthenticatedRequests = new LongAdder();

    @Override
    public String toString() {
        return "PeerStats[refused=" + connectionsRefused + ", handshakeTimeouts=" + handshakeTimeouts + ", idle="
                + idleTimeouts + ", proofsChecked=" + proofsChecked + ", proofsRefused=" + proofsRefusedUnchecked
                + ", unauthenticated=" + unauthenticatedRequests + "]";
    }
}
