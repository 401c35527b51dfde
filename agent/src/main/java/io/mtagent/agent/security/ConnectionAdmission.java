package io.mtagent.agent.security;

import io.netty.channel.Channel;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Connection caps of a listening port (control and NBD), so slow or silent clients cannot hold its sockets (and
 * the agent's file descriptors) however many they open:
 * <ul>
 *   <li>at most {@code maxOpen} connections at all, and {@code maxOpenPerPeer} from one peer; beyond, a new one is
 *       closed at once;</li>
 *   <li>of those, at most {@code maxPending} may be still in their handshake (TLS, request headers, NBD option
 *       haggling), and at most {@code maxPendingPerPeer} from one peer. When a new connection would pass a pending
 *       cap, the <em>oldest</em> pending connection (of that peer, else of all) is closed to make room: a flood of
 *       slow connections then only ever holds the newest few slots, and a real client still gets in.</li>
 * </ul>
 * A connection leaves "pending" when its handshake is complete ({@link #handshakeComplete}). A peer is whatever
 * identifies the other end: the remote IP address on TCP, the user id on a Unix socket.
 *
 * <p>Thread-safe: synchronized (a few operations per connection).
 */
public final class ConnectionAdmission {
    private final int maxOpen;
    private final int maxOpenPerPeer;
    private final int maxPending;
    private final int maxPendingPerPeer;
    private final PeerStats stats;
    private final LinkedHashMap<Channel, Object> pending = new LinkedHashMap<>();
    private final Map<Object, Integer> pendingByPeer = new HashMap<>();
    private final Map<Object, Integer> openByPeer = new HashMap<>();
    private int open;

    public ConnectionAdmission(int maxOpen, int maxOpenPerPeer, int maxPending, int maxPendingPerPeer,
                               PeerStats stats) {
        this.maxOpen = maxOpen;
        this.maxOpenPerPeer = maxOpenPerPeer;
        this.maxPending = maxPending;
        this.maxPendingPerPeer = maxPendingPerPeer;
        this.stats = stats;
    }

    /**
     * Admits {@code ch} from {@code peer} (closing it, or an older pending one, as the caps say); its close is
     * tracked. Returns false when {@code ch} itself was refused (it is being closed).
     */
    public boolean admit(Channel ch, Object peer) {
        Channel evict = null;
        synchronized (this) {
            if (open >= maxOpen || openByPeer.getOrDefault(peer, 0) >= maxOpenPerPeer) {
                stats.connectionsRefused.increment();
                ch.close();
                return false;
            }
            open++;
            openByPeer.merge(peer, 1, Integer::sum);
            if (pendingByPeer.getOrDefault(peer, 0) >= maxPendingPerPeer) {
                evict = oldestPending(peer);
            } else if (pending.size() >= maxPending) {
                evict = pending.keySet().iterator().next();
            }
            if (evict != null) {
                removePending(evict);
            }
            pending.put(ch, peer);
            pendingByPeer.merge(peer, 1, Integer::sum);
        }
        ch.closeFuture().addListener(f -> closed(ch, peer));
        if (evict != null) {
            stats.connectionsRefused.increment();
            evict.close();
        }
        return true;
    }

    /** The handshake of {@code ch} is complete: it no longer counts as pending (and cannot be evicted). */
    public synchronized void handshakeComplete(Channel ch) {
        removePending(ch);
    }

    public synchronized int open() {
        return open;
    }

    public synchronized int pending() {
        return pending.size();
    }

    private synchronized void closed(Channel ch, Object peer) {
        open--;
        openByPeer.computeIfPresent(peer, (p, n) -> n <= 1 ? null : n - 1);
        removePending(ch);
    }

    private Channel oldestPending(Object peer) {
        for (Iterator<Map.Entry<Channel, Object>> it = pending.entrySet().iterator(); it.hasNext(); ) {
            Map.Entry<Channel, Object> e = it.next();
            if (e.getValue().equals(peer)) {
                return e.getKey();
            }
        }
        return null;
    }

    private void removePending(Channel ch) {
        Object peer = pending.remove(ch);
        if (peer != null) {
            pendingByPeer.computeIfPresent(peer, (p, n) -> n <= 1 ? null : n - 1);
        }
    }
}
