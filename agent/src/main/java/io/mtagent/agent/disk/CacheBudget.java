package io.mtagent.agent.disk;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;
import java.util.function.LongSupplier;

/**
 * The global cache-volume cap: when the ingest logs of all disks together hold more than {@code capBytes}, the
 * sessions that offered the last records stop reading their sockets (TCP back-pressure) until the appliers have
 * drained below 90% of the cap. Per-disk quotas (credit) normally stop a disk long before this; the cap is the
 * backstop that keeps the cache volume from running out of space.
 *
 * <p>Thread-safe.
 */
public final class CacheBudget {
    private final long capBytes;
    private final LongSupplier totalBacklog;
    private final Set<Object> parked = ConcurrentHashMap.newKeySet();
    private volatile Consumer<Object> resumer = o -> { };
    private volatile Consumer<Object> pauser = o -> { };

    public CacheBudget(long capBytes, LongSupplier totalBacklog) {
        this.capBytes = capBytes;
        this.totalBacklog = totalBacklog;
    }

    /** How parked sessions are paused and resumed (set once by the data server). */
    public void bind(Consumer<Object> pauser, Consumer<Object> resumer) {
        this.pauser = pauser;
        this.resumer = resumer;
    }

    public long capBytes() {
        return capBytes;
    }

    public boolean overCap() {
        return totalBacklog.getAsLong() >= capBytes;
    }

    /** Stops reading from {@code session} until the backlog drains. */
    public void park(Object session) {
        if (parked.add(session)) {
            pauser.accept(session);
            // The appliers may have drained between the check and the park: re-check so nobody stays parked.
            drained();
        }
    }

    /** Called when an applier freed space. */
    public void drained() {
        if (!parked.isEmpty() && totalBacklog.getAsLong() < capBytes - capBytes / 10) {
            for (Object s : parked) {
                if (parked.remove(s)) {
                    resumer.accept(s);
                }
            }
        }
    }

    public int parkedCount() {
        return parked.size();
    }
}
