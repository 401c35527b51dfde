package io.mtagent.agent.disk;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.function.LongSupplier;

/**
 * Actions waiting until a disk's ingest log is durable up to a sequence number (a resync's end, a release). An
 * action runs once, on the thread that reports the durability, or at once when the point is already durable.
 * Thread-safe: registration and the durability report synchronise on this object, so no action is missed between
 * the check and the registration; actions run outside the lock.
 */
final class DurableWaiters {
    private record Waiter(long seq, Runnable action) {
    }

    private final List<Waiter> waiters = new ArrayList<>();
    private final LongSupplier durableSeq;

    /** @param durableSeq the log's durable sequence number now */
    DurableWaiters(LongSupplier durableSeq) {
        this.durableSeq = durableSeq;
    }

    /** Runs {@code action} once everything up to {@code seq} is durable (now, if it already is). */
    void whenDurable(long seq, Runnable action) {
        synchronized (this) {
            if (durableSeq.getAsLong() < seq) {
                waiters.add(new Waiter(seq, action));
                return;
            }
        }
        action.run();
    }

    /** The log is durable up to {@code durable}: runs the actions that waited for it. */
    void durable(long durable) {
        List<Runnable> due = new ArrayList<>();
        synchronized (this) {
            for (Iterator<Waiter> it = waiters.iterator(); it.hasNext(); ) {
                Waiter w = it.next();
                if (w.seq() <= durable) {
                    due.add(w.action());
                    it.remove();
                }
            }
        }
        due.forEach(Runnable::run);
    }
}
