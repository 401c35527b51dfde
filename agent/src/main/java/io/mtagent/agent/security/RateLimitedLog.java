package io.mtagent.agent.security;

import java.util.HashMap;
import java.util.Map;
import java.util.function.LongSupplier;

/**
 * Log lines about hostile or broken peers (failed proofs, refused connections, timed-out handshakes), throttled:
 * per kind, the first event is logged at once, later ones at most once per {@link #INTERVAL_NANOS} with the count
 * of events since the last line. A flood of 6,000 failures makes a handful of lines that still say how many.
 *
 * <p>Thread-safe (synchronized; events are rare next to data frames).
 */
public final class RateLimitedLog {
    static final long INTERVAL_NANOS = 10_000_000_000L;

    private final System.Logger log;
    private final LongSupplier nanoTime;
    private final Map<String, long[]> kinds = new HashMap<>(); // kind → {last line time, events since}

    public RateLimitedLog(System.Logger log) {
        this(log, System::nanoTime);
    }

    RateLimitedLog(System.Logger log, LongSupplier nanoTime) {
        this.log = log;
        this.nanoTime = nanoTime;
    }

    /**
     * One event of {@code kind}; logs {@code message} with the count when the kind's interval has passed.
     *
     * @return whether a line was written
     */
    public synchronized boolean warn(String kind, String message) {
        long now = nanoTime.getAsLong();
        long[] state = kinds.get(kind);
        if (state == null) {
            kinds.put(kind, new long[] {now, 0});
            log.log(System.Logger.Level.WARNING, "1 " + message);
            return true;
        }
        state[1]++;
        if (now - state[0] < INTERVAL_NANOS) {
            return false;
        }
        long count = state[1];
        long seconds = Math.max(1, (now - state[0]) / 1_000_000_000L);
        state[0] = now;
        state[1] = 0;
        log.log(System.Logger.Level.WARNING, count + " " + message + " (in the last " + seconds
                + " s; logged at most every 10 s)");
        return true;
    }
}
