package io.mtagent.agent.control;

import io.mtagent.agent.security.PeerStats;
import io.netty.channel.Channel;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Connection caps of the control port, so slow or silent clients cannot hold its sockets (and the agent's file
 * descriptors) however many they open:
 * <ul>
 *   <li>at most {@code maxOpen} connections at all; beyond, a new one is closed at once;</li>
 *   <li>of those, at most {@code maxPending} may be still waiting for their request headers (TLS included), and
 *       at most {@code maxPendingPerAddress} from one address. When a new connection would pass a pending cap, the
 *       <em>oldest</em> pending connection (of that address, else of all) is closed to make room: a flood of slow
 *       connections then only ever holds the newest few slots, and an operator's request or a health check still
 *       gets in.</li>
 * </ul>
 * A connection leaves "pending" when its request headers are complete ({@link #headersComplete}).
 *
 * <p>Thread-safe: synchronized (a few operations per connection).
 */
final class ControlAdmission {
    private final int maxOpen;
    private final int maxPending;
    private final int maxPendingPerAddress;
    private final PeerStats stats;
    private final LinkedHashMap<Channel, InetAddress> pending = new LinkedHashMap<>();
    private final Map<InetAddress, Integer> pendingByAddress = new HashMap<>();
    private int open;

    ControlAdmission(int maxOpen, int maxPending, int maxPendingPerAddress, PeerStats stats) {
        this.maxOpen = maxOpen;
        this.maxPending = maxPending;
        this.maxPendingPerAddress = maxPendingPerAddress;
        this.stats = stats;
    }

    /** Admits {@code ch} (closing it, or an older pending one, as the caps say); its close is tracked. */
    void admit(Channel ch) {
        InetAddress address = ch.remoteAddress() instanceof InetSocketAddress inet ? inet.getAddress()
                : InetAddress.getLoopbackAddress();
        Channel evict = null;
        synchronized (this) {
            if (open >= maxOpen) {
                stats.connectionsRefused.increment();
                ch.close();
                return;
            }
            open++;
            if (pendingByAddress.getOrDefault(address, 0) >= maxPendingPerAddress) {
                evict = oldestPending(address);
            } else if (pending.size() >= maxPending) {
                evict = pending.keySet().iterator().next();
            }
            if (evict != null) {
                removePending(evict);
            }
            pending.put(ch, address);
            pendingByAddress.merge(address, 1, Integer::sum);
        }
        ch.closeFuture().addListener(f -> closed(ch));
        if (evict != null) {
            stats.connectionsRefused.increment();
            evict.close();
        }
    }

    /** The request headers of {@code ch} arrived: it no longer counts as pending. */
    synchronized void headersComplete(Channel ch) {
        removePending(ch);
    }

    synchronized int open() {
        return open;
    }

    synchronized int pending() {
        return pending.size();
    }

    private synchronized void closed(Channel ch) {
        open--;
        removePending(ch);
    }

    private Channel oldestPending(InetAddress address) {
        for (Map.Entry<Channel, InetAddress> e : pending.entrySet()) {
            if (e.getValue().equals(address)) {
                return e.getKey();
            }
        }
        return null;
    }

    private void removePending(Channel ch) {
        InetAddress address = pending.remove(ch);
        if (address != null) {
            pendingByAddress.computeIfPresent(address, (a, n) -> n <= 1 ? null : n - 1);
        }
    }
}
