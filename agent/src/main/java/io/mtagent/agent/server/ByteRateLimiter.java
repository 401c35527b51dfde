package io.mtagent.agent.server;

/**
 * A token bucket in bytes per second shared by every hash worker: {@link #acquire} blocks until the bytes may be
 * read. A burst of at most one second's worth is allowed, so a limited resync still reads in large requests.
 * Rate 0 means unlimited. Thread-safe (synchronized; sleeps outside the lock).
 */
public final class ByteRateLimiter {
    private final long bytesPerSecond;
    private double available;
    private long lastNanos = System.nanoTime();

    public ByteRateLimiter(long bytesPerSecond) {
        this.bytesPerSecond = bytesPerSecond;
        this.available = bytesPerSecond;
    }

    public long bytesPerSecond() {
        return bytesPerSecond;
    }

    public void acquire(long bytes) throws InterruptedException {
        if (bytesPerSecond <= 0) {
            return;
        }
        long waitNanos;
        synchronized (this) {
            long now = System.nanoTime();
            available = Math.min(bytesPerSecond, available + (now - lastNanos) * bytesPerSecond / 1e9);
            lastNanos = now;
            available -= bytes; // may go negative: the debt is slept off below, and by later callers
            waitNanos = available >= 0 ? 0 : (long) (-available * 1e9 / bytesPerSecond);
        }
        if (waitNanos > 0) {
            Thread.sleep(waitNanos / 1_000_000, (int) (waitNanos % 1_000_000));
        }
    }
}
