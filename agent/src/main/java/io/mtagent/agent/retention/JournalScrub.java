package io.mtagent.agent.retention;

import io.mtagent.agent.disk.ReplicatedDisk;
import io.mtagent.agent.journal.RetentionJournal;
import java.io.IOException;
import java.time.Duration;
import java.util.Collection;
import java.util.concurrent.CancellationException;
import java.util.function.Supplier;
import java.util.logging.Logger;

/**
 * Re-reads every retention journal once, some time after the agent started, on a low-priority background thread.
 * A restart trusts sealed segments to their index files (so it does not scale with the journal's size); this scrub
 * is what still finds a flipped byte in them early, instead of when an operator needs the point: damage is logged,
 * kept by the journal ({@link RetentionJournal#damage()}) and reported by the status as MT-2005. While it reads a
 * journal it holds a lease, so pruning of that journal waits.
 *
 * <p>Thread-safety: one thread of its own; {@link #close()} from any thread stops it at the next record.
 */
public final class JournalScrub implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(JournalScrub.class.getName());
    private final Thread thread;
    private volatile boolean stopped;

    private JournalScrub(Supplier<Collection<ReplicatedDisk>> disks, Duration delay) {
        thread = new Thread(() -> run(disks, delay), "journal-scrub");
        thread.setDaemon(true);
        thread.setPriority(Thread.MIN_PRIORITY);
    }

    /** Starts the scrub after {@code delay}. */
    public static JournalScrub start(Supplier<Collection<ReplicatedDisk>> disks, Duration delay) {
        JournalScrub s = new JournalScrub(disks, delay);
        s.thread.start();
        return s;
    }

    private void run(Supplier<Collection<ReplicatedDisk>> disks, Duration delay) {
        try {
            Thread.sleep(delay.toMillis());
        } catch (InterruptedException e) {
            return;
        }
        for (ReplicatedDisk d : disks.get()) {
            RetentionJournal j = d.journal();
            if (stopped) {
                return;
            }
            if (j == null) {
                continue;
            }
            long start = System.nanoTime();
            long[] records = {0};
            try {
                String damage = j.verifyOnline(n -> {
                    if (stopped) {
                        throw new CancellationException();
                    }
                    records[0] = n;
                });
                if (damage == null) {
                    LOG.info("retention journal of " + d.id() + " verified: " + records[0] + " records in "
                            + (System.nanoTime() - start) / 1_000_000 + " ms");
                }
            } catch (IOException | RuntimeException e) {
                if (!stopped) {
                    LOG.warning("retention journal scrub of " + d.id() + " could not finish: " + e);
                }
            }
        }
    }

    @Override
    public void close() {
        stopped = true;
        thread.interrupt();
    }
}
