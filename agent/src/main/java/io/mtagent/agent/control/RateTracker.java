package io.mtagent.agent.control;

import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;

/**
 * Recent ingest and apply rates per disk, from periodic samples of the disks' monotonic byte counters over a
 * sliding window (default 30 samples): the input of the forecasts.
 *
 * <p>Thread-safe: synchronized (sampled once a second, read by requests).
 */
public final class RateTracker {
    private record Sample(long nanos, double received, double applied, long backlog) {
    }

    /**
     * Rates over the window; zero until two samples exist. Ingest and apply are the bytes of the disk's writes
     * (uncompressed, so they compare); the backlog's growth is in ingest-log bytes (compressed and framed: what
     * fills the cache volume and the disk's quota).
     */
    public record Rates(double ingestBytesPerSecond, double applyBytesPerSecond, double backlogBytesPerSecond) {
        static final Rates NONE = new Rates(0, 0, 0);
    }

    /** An RPO above this means writes are not arriving right now (the rates still show the past window). */
    static final double IDLE_SECONDS = 5;
    private final int window;
    private final Map<String, ArrayDeque<Sample>> samples = new HashMap<>();

    public RateTracker(int window) {
        this.window = window;
    }

    public synchronized void sample(String disk, long nanos, double receivedBytes, double appliedBytes,
                                    long backlogBytes) {
        ArrayDeque<Sample> q = samples.computeIfAbsent(disk, d -> new ArrayDeque<>());
        q.addLast(new Sample(nanos, receivedBytes, appliedBytes, backlogBytes));
        while (q.size() > window) {
            q.pollFirst();
        }
    }

    public synchronized Rates rates(String disk) {
        ArrayDeque<Sample> q = samples.get(disk);
        if (q == null || q.size() < 2) {
            return Rates.NONE;
        }
        Sample first = q.peekFirst();
        Sample last = q.peekLast();
        double seconds = (last.nanos() - first.nanos()) / 1e9;
        if (seconds <= 0) {
            return Rates.NONE;
        }
        return new Rates((last.received() - first.received()) / seconds, (last.applied() - first.applied()) / seconds,
                (last.backlog() - first.backlog()) / seconds);
    }

    /**
     * Seconds until a disk's RPO passes {@code thresholdSeconds}, or null if it is not heading there.
     * While writes arrive the RPO stays near zero unless the ingest log fills up: while the backlog grows, the disk
     * reaches its quota after (quota − backlog) / growth seconds (both in ingest-log bytes), then its stream gets
     * no credit and the RPO grows from there. When nothing arrives, the RPO grows by one second per second.
     */
    public static Double rpoForecastSeconds(Double rpoSeconds, double thresholdSeconds, Rates rates, long backlogBytes,
                                            long quotaBytes) {
        if (rpoSeconds == null) {
            return null;
        }
        if (rpoSeconds >= thresholdSeconds) {
            return 0.0;
        }
        if (rpoSeconds > IDLE_SECONDS || rates.ingestBytesPerSecond() <= 0) {
            return thresholdSeconds - rpoSeconds; // nothing arriving now: the RPO grows by a second per second
        }
        double growth = rates.backlogBytesPerSecond();
        if (growth <= 0) {
            return null;
        }
        return Math.max(0, quotaBytes - backlogBytes) / growth + thresholdSeconds;
    }

    /** Seconds until {@code freeBytes} are used up at a net growth of {@code churnBytesPerSecond}, or null. */
    public static Double fillForecastSeconds(long freeBytes, double churnBytesPerSecond) {
        return churnBytesPerSecond <= 0 ? null : freeBytes / churnBytesPerSecond;
    }
}
