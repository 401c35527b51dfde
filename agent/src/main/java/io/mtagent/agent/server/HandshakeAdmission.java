package io.mtagent.agent.server;

import java.net.InetAddress;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Caps the connections that have not authenticated yet, per source address and overall, so a peer without the
 * passphrase cannot hold more than a few sockets, TLS engines and handshake timers of the data server. A
 * connection counts from its accept until its AUTH_OK or its close, whichever comes first; over a cap it is
 * closed at once, before TLS. An address that authenticated recently is exempt from the overall cap.
 *
 * <p>Thread-safe: counters are atomic; the admit decision is a compare-and-set loop per counter.
 */
final class HandshakeAdmission {
    /** A process server opens one connection (a few while it replaces a half-dead one). */
    static final int DEFAULT_PER_ADDRESS = 8;
    static final int DEFAULT_TOTAL = 128;

    private final int perAddress;
    private final int total;
    private final AtomicInteger pending = new AtomicInteger();
    private final ConcurrentHashMap<InetAddress, AtomicInteger> byAddress = new ConcurrentHashMap<>();

    HandshakeAdmission(int perAddress, int total) {
        this.perAddress = perAddress;
        this.total = total;
    }

    /**
     * Why a connection was refused, or null when it was admitted (and must be {@link #release}d once).
     *
     * @param trusted the address authenticated recently: it is exempt from the overall cap (not from its own), so a
     *                flood from many addresses cannot lock a known process server out
     */
    String admit(InetAddress address, boolean trusted) {
        if (pending.incrementAndGet() > total && !trusted) {
            pending.decrementAndGet();
            return total + " connections are already in their handshake (the overall cap)";
        }
        AtomicInteger mine = byAddress.computeIfAbsent(address, a -> new AtomicInteger());
        if (mine.incrementAndGet() > perAddress) {
            release(address);
            return perAddress + " connections from " + address.getHostAddress() + " are already in their handshake";
        }
        return null;
    }

    /** The connection authenticated or closed. */
    void release(InetAddress address) {
        pending.decrementAndGet();
        byAddress.computeIfPresent(address, (a, n) -> n.decrementAndGet() <= 0 ? null : n);
    }

    /** Connections in their handshake now. */
    int pending() {
        return pending.get();
    }
}
