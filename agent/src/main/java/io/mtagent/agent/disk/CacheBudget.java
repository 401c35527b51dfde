package io.mtagent.agent.disk;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;
import java.util.function.LongSupplier;

/**
 * The data server's back-pressure gate, with two caps:
 * <ul>
 *   <li>the global cache-volume cap: when the ingest logs of all disks together hold more than {@code capBytes},
 *       the sessions that offered the last records stop reading their sockets (TCP back-pressure) until the
 *       appliers have drained below 90% of the cap. Per-disk quotas (credit) normally stop a disk long before
 *       this; the cap is the backstop that keeps the cache volume from running out of space;</li>
 *   <li>the memory cap: when the received writes held in memory before their group commit ({@code memoryHeld},
 *       {@code data.memory.max.bytes}) reach {@code memoryCapBytes}, the same: reading resumes below 90% of it.
 *       Credit bounds this per disk only; with hundreds of disks and a stalled device it is what bounds the
 *       agent's memory.</li>
 * </ul>
 * A session resumes only when both are below their resume marks, so one cap never lets a session read while the
 * other holds it.
 *
 * <p>Thread-safe.
 */
public final class CacheBudget {
    private final long capBytes;
    private final LongSupplier totalBacklog;
    private final Set<Object> parked = ConcurrentHashMap.newKeySet();
    private final Set<Runnable> creditWaiters = ConcurrentHashMap.newKeySet();
    private volatile Consumer<Object> resumer = o -> { };
    private volatile Consumer<Object> pauser = o -> { };

    private final long memoryCapBytes;
    private final LongSupplier memoryHeld;

    /** The cache-volume cap only (no memory cap). */
    public CacheBudget(long capBytes, LongSupplier totalBacklog) {
        this(capBytes, totalBacklog, Long.MAX_VALUE, () -> 0);
    }

    public CacheBudget(long capBytes, LongSupplier totalBacklog, long memoryCapBytes, LongSupplier memoryHeld) {
        this.capBytes = capBytes;
        this.totalBacklog = totalBacklog;
        this.memoryCapBytes = memoryCapBytes;
        this.memoryHeld = memoryHeld;
    }

    public long memoryCapBytes() {
        return memoryCapBytes;
    }

    /** How parked sessions are paused and resumed (set once by the data server). */
    public void bind(Consumer<Object> pauser, Consumer<Object> resumer) {
        this.pauser = pauser;
        this.resumer = resumer;
    }

    public long capBytes() {
        return capBytes;
    }

    /**
     * The cache-volume cap alone is reached (health: CACHE_VOLUME_FULL). The memory cap is not a fault of the
     * volume: a slow device holds sessions briefly there, and the disks' backlog and apply rates show why.
     */
    public boolean cacheVolumeOverCap() {
        return totalBacklog.getAsLong() >= capBytes;
    }

    /** True when either cap is reached (the memory one is checked first: it is a counter read). */
    public boolean overCap() {
        return memoryHeld.getAsLong() >= memoryCapBytes || totalBacklog.getAsLong() >= capBytes;
    }

    /** Stops reading from {@code session} until the backlog drains. */
    public void park(Object session) {
        if (parked.add(session)) {
            pauser.accept(session);
            // The appliers may have drained between the check and the park: re-check so nobody stays parked.
            drained();
        }
    }

    /**
     * Runs {@code action} once the cache volume is below 90% of its cap again (at once if it already is): a
     * session withholds a disk's credit while the cap is reached, so a reconnecting process server cannot send a
     * write the cap cannot take, and gets its credit from here.
     */
    public void whenRoom(Runnable action) {
        creditWaiters.add(action);
        if (totalBacklog.getAsLong() < capBytes - capBytes / 10) {
            runCreditWaiters();
        }
    }

    private void runCreditWaiters() {
        for (Runnable r : creditWaiters) {
            if (creditWaiters.remove(r)) {
                r.run();
            }
        }
    }

    /** Called when an applier freed space or a group commit gave memory back. */
    public void drained() {
        if (!creditWaiters.isEmpty() && totalBacklog.getAsLong() < capBytes - capBytes / 10) {
            runCreditWaiters();
        }
        if (!parked.isEmpty() && memoryHeld.getAsLong() < memoryCapBytes - memoryCapBytes / 10
                && totalBacklog.getAsLong() < capBytes - capBytes / 10) {
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
