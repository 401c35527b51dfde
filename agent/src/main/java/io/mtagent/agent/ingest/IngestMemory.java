package io.mtagent.agent.ingest;

import java.util.concurrent.atomic.AtomicLong;

/**
 * The bytes of received writes held in memory, all disks together, between an ingest log accepting them
 * ({@link IngestLog#offer}) and its group commit having written them: the part of the agent's memory that grows
 * with the number of disks times their in-flight window (8 MiB of credit each by default: 2 GiB for 256 disks)
 * whenever the group commits fall behind. The data server stops reading the sessions' sockets while it is over
 * its cap ({@code data.memory.max.bytes}, through the {@code CacheBudget} back-pressure gate), so a slow device
 * makes the process servers wait instead of the agent's memory grow.
 *
 * <p>Thread-safe: logs {@link #hold} on the network event loops and {@link #release} on their writer threads.
 */
public final class IngestMemory {
    private final AtomicLong held = new AtomicLong();
    private volatile Runnable onRelease = () -> { };

    /** Bytes accepted and not yet written, now. */
    public long held() {
        return held.get();
    }

    /** Called (on a writer thread, keep it short) after bytes were given back: the gate may let sessions read. */
    public void onRelease(Runnable listener) {
        this.onRelease = listener;
    }

    void hold(long bytes) {
        held.addAndGet(bytes);
    }

    void release(long bytes) {
        if (bytes > 0) {
            held.addAndGet(-bytes);
            onRelease.run();
        }
    }
}
