package io.mtagent.agent.ingest;

import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.logging.Logger;

/**
 * Temporary shortages (docs/ARCHITECTURE.md, "Hostile neighbours"): a full volume (ENOSPC, EDQUOT) or no file descriptor left
 * (EMFILE, ENFILE, "Too many open files") passes when space or descriptors are freed. Where the agent meets one
 * it holds the work and retries ({@link #retryLater}) instead of failing a disk: the writes wait in memory, no ack
 * or credit goes out, so the process servers are held back; the health report shows it.
 *
 * <p>Thread-safe.
 */
public final class Shortage {
    /** First retry after this many milliseconds, doubling up to {@link #MAX_RETRY_MILLIS}. */
    static final long FIRST_RETRY_MILLIS = 50;
    static final long MAX_RETRY_MILLIS = 2_000;
    private static final ScheduledExecutorService RETRIES = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "shortage-retry");
        t.setDaemon(true);
        return t;
    });

    private Shortage() {
    }

    /** The shortage {@code t} (or a cause of it) reports, or null when it is not a temporary one. */
    public static String of(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            String m = String.valueOf(c.getMessage());
            if (m.contains("No space left on device") || m.contains("ENOSPC") || m.contains("Disk quota exceeded")
                    || m.contains("There is not enough space on the disk")) {
                return "volume full (" + firstLine(m) + ")";
            }
            if (m.contains("Too many open files") || m.contains("EMFILE") || m.contains("ENFILE")) {
                return "too many open files (" + firstLine(m) + "): raise the agent's limit (LimitNOFILE)";
            }
        }
        return null;
    }

    /** Runs {@code task} after the delay that follows {@code attempt} (1, 2, …) retries. */
    static void retryLater(int attempt, Runnable task) {
        long delay = Math.min(MAX_RETRY_MILLIS, FIRST_RETRY_MILLIS << Math.min(10, attempt - 1));
        RETRIES.schedule(task, delay, TimeUnit.MILLISECONDS);
    }

    /**
     * One component's stall: what holds it (for health), how often it retried (for the delay), the log line when
     * it starts and ends. Thread-safe for readers of {@link #current}; {@link #hold} and {@link #clear} are called
     * by the one task that does the work.
     */
    public static final class Stall {
        private final String who;
        private volatile String current;
        private int attempts;

        public Stall(String who) {
            this.who = who;
        }

        /** Records the shortage (logged once per stall) and runs {@code retry} after the next delay. */
        public void hold(String shortage, Runnable retry) {
            if (current == null) {
                Logger.getLogger(Shortage.class.getName()).warning(who
                        + ": held by a temporary shortage, retrying until it ends: " + shortage);
            }
            current = shortage;
            retryLater(++attempts, retry);
        }

        /** The work went through: the stall, if any, is over. */
        public void clear() {
            attempts = 0;
            if (current != null) {
                Logger.getLogger(Shortage.class.getName()).info(who + ": the shortage ended ("
                        + current + ")");
                current = null;
            }
        }

        /** What holds the component now, or null. */
        public String current() {
            return current;
        }
    }

    private static String firstLine(String m) {
        int nl = m.indexOf('\n');
        return nl < 0 ? m : m.substring(0, nl);
    }
}
