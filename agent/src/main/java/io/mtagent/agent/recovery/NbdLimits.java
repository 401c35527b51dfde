package io.mtagent.agent.recovery;

import java.time.Duration;

/**
 * The NBD server's budget of connections and time, so idle or slow clients cannot keep a real reader out:
 *
 * @param handshakeTimeout from the accept to entering transmission (TLS and option haggling included): a fixed
 *                         deadline that does not restart per byte
 * @param idleTimeout      a connection in transmission with no request and no reply for this long is closed;
 *                         {@link Duration#ZERO} = never
 * @param maxOpen          connections at once, all listeners together
 * @param maxOpenPerPeer   connections at once from one peer (an IP address, or a local user on the Unix socket)
 * @param maxPending       connections still in their handshake; a new one beyond closes the oldest
 * @param maxPendingPerPeer the same per peer
 */
public record NbdLimits(Duration handshakeTimeout, Duration idleTimeout, int maxOpen, int maxOpenPerPeer,
                        int maxPending, int maxPendingPerPeer) {
    public NbdLimits {
        if (handshakeTimeout.isNegative() || handshakeTimeout.isZero() || idleTimeout.isNegative()) {
            throw new IllegalArgumentException("handshakeTimeout must be > 0 and idleTimeout >= 0");
        }
        if (maxOpenPerPeer < 1 || maxOpen < maxOpenPerPeer || maxPendingPerPeer < 1 || maxPending < maxPendingPerPeer) {
            throw new IllegalArgumentException("caps must be >= 1, overall ones at least the per-peer ones");
        }
    }

    /**
     * 10 s handshake, 1 h idle; 64 connections (nbdcopy opens up to 4 per copy), 32 from one peer; 16 pending, 8
     * from one peer.
     */
    public static NbdLimits defaults() {
        return new NbdLimits(Duration.ofSeconds(10), Duration.ofHours(1), 64, 32, 16, 8);
    }

    public NbdLimits withTimeouts(Duration handshake, Duration idle) {
        return new NbdLimits(handshake, idle, maxOpen, maxOpenPerPeer, maxPending, maxPendingPerPeer);
    }

    public NbdLimits withMaxOpen(int open) {
        return new NbdLimits(handshakeTimeout, idleTimeout, open, Math.min(open, maxOpenPerPeer), maxPending,
                maxPendingPerPeer);
    }
}
