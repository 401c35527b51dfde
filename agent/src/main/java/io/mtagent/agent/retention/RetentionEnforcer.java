package io.mtagent.agent.retention;

import io.mtagent.agent.apply.Applier.Hold;
import io.mtagent.agent.disk.ReplicatedDisk;
import io.mtagent.agent.journal.RetentionJournal;
import java.io.IOException;
import java.time.Duration;
import java.util.Collection;
import java.util.EnumMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.LongSupplier;
import java.util.function.Supplier;
import java.util.logging.Logger;

/**
 * Applies the retention policy to every disk's journal: prune whole segments, oldest first, whose records are
 * all older than the time window; then, while all journals together exceed the space cap, act by the
 * {@link SpacePolicy}. A segment an open view or export still reads is never pruned (journal leases).
 *
 * <p>Thread-safety: {@link #enforce()} is synchronized and meant to run from one scheduler thread; the status
 * getters are safe from any thread.
 */
public final class RetentionEnforcer {
    private static final Logger LOG = Logger.getLogger(RetentionEnforcer.class.getName());

    /** The disks now (disks may be added and released at run time). */
    private final Supplier<? extends Collection<ReplicatedDisk>> disks;
    /** Volatile: changed at run time by {@link #changePolicy} (SIGHUP), read by the pruning pass. */
    private volatile long windowMicros;
    private volatile long capBytes;
    private final SpacePolicy policy;
    private final LongSupplier nowMicros;
    private volatile boolean windowShortened;
    /** Held because the journals are over the cap (enforce) … */
    private volatile boolean capHolding;
    /** … or because the volume itself is full (onJournalFull). */
    private volatile boolean fullHolding;
    private volatile long journalBytes;
    private final Map<PruneReason, LongAdder> prunedBytes = new EnumMap<>(PruneReason.class);

    /** Why journal segments were pruned: the {@code reason} of {@code mtagent_retention_pruned_bytes_total}. */
    public enum PruneReason {
        /** Older than the retention window: the policy at work. */
        WINDOW,
        /** The journals reached {@code retention.max.bytes} inside the window (shrink-window). */
        CAP,
        /** The retention volume ran out of space (ENOSPC) inside the window (shrink-window). */
        VOLUME_FULL;

        public String label() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    public RetentionEnforcer(Supplier<? extends Collection<ReplicatedDisk>> disks, Duration window, long capBytes, SpacePolicy policy,
                             LongSupplier nowMicros) {
        this.disks = disks;
        this.windowMicros = window.toNanos() / 1000;
        this.capBytes = capBytes;
        this.policy = policy;
        this.nowMicros = nowMicros;
        for (PruneReason r : PruneReason.values()) {
            prunedBytes.put(r, new LongAdder());
        }
    }

    /**
     * Changes the window and the space cap while the agent runs (a configuration reload); the next pass of
     * {@link #enforce()} applies them (a shorter window prunes what falls out of it, as a restart would).
     */
    public void changePolicy(Duration window, long capBytes) {
        this.windowMicros = window.toNanos() / 1000;
        this.capBytes = capBytes;
        LOG.info("retention policy changed: window " + window + ", cap " + capBytes + " bytes");
    }

    /** Prunes the journal's oldest segment and counts the bytes it freed under {@code why}; false if it could not. */
    private boolean prune(RetentionJournal journal, PruneReason why) throws IOException {
        long before = journal.sizeBytes();
        if (!journal.pruneOldestSegment()) {
            return false;
        }
        prunedBytes.get(why).add(Math.max(0, before - journal.sizeBytes()));
        return true;
    }

    /** Journal bytes (segments and their index files) pruned since start for {@code why}. */
    public long prunedBytes(PruneReason why) {
        return prunedBytes.get(why).sum();
    }

    /**
     * The retention volume ran out of space while a journal appended (ENOSPC, e.g. other data on the volume, or a
     * cap above its real size). By policy: shrink-window prunes the oldest segment of any disk and retries;
     * pause-apply and stop-writes hold the applier here (waiting, re-checking every second) until space frees,
     * stop-writes also withholding credit from every disk. Returns false only when the applier is being stopped.
     */
    public boolean onJournalFull(RetentionJournal journal) throws IOException {
        if (Thread.currentThread().isInterrupted() || journal.stopRequested()) {
            return false;
        }
        if (policy == SpacePolicy.SHRINK_WINDOW) {
            synchronized (this) {
                ReplicatedDisk victim = oldestPrunable();
                if (victim != null && prune(victim.journal(), PruneReason.VOLUME_FULL)) {
                    if (!windowShortened) {
                        LOG.warning("retention volume full: pruning early, the recoverable window is now shorter than"
                                + " the policy");
                    }
                    windowShortened = true;
                    return true;
                }
            }
        } else if (!fullHolding) {
            fullHolding = true;
            LOG.warning("retention volume full: " + policy.label() + " until space frees up (acknowledged writes wait"
                    + " in the ingest logs)");
            if (policy == SpacePolicy.STOP_WRITES) {
                for (ReplicatedDisk d : disks.get()) {
                    d.setAcceptingWrites(false);
                }
            }
        }
        for (int i = 0; i < 10; i++) { // nothing to prune, or the policy holds: wait for space, then retry
            if (journal.stopRequested()) {
                return false;
            }
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
        }
        return true;
    }

    /** Journaling works again after a full volume: release what {@link #onJournalFull} held. */
    public void journalRecovered() {
        if (fullHolding && policy != SpacePolicy.SHRINK_WINDOW) {
            fullHolding = false;
            LOG.warning("retention volume has space again: resuming");
            for (ReplicatedDisk d : disks.get()) {
                d.setAcceptingWrites(!capHolding);
            }
        }
    }

    /** One pass; returns the number of segments pruned. */
    public synchronized int enforce() throws IOException {
        int pruned = 0;
        long horizon = nowMicros.getAsLong() - windowMicros;
        for (ReplicatedDisk d : disks.get()) {
            RetentionJournal j = d.journal();
            long[] oldest;
            while (j != null && (oldest = j.oldestPrunable()) != null && oldest[2] >= 0 && oldest[2] < horizon) {
                if (!prune(j, PruneReason.WINDOW)) {
                    break; // held by a view
                }
                pruned++;
            }
        }
        long total = totalBytes();
        boolean over = total > capBytes;
        if (over && policy == SpacePolicy.SHRINK_WINDOW) {
            while (total > capBytes) {
                ReplicatedDisk victim = oldestPrunable();
                if (victim == null || !prune(victim.journal(), PruneReason.CAP)) {
                    break;
                }
                pruned++;
                if (!windowShortened) {
                    LOG.warning("retention volume cap of " + capBytes + " bytes reached before the " + windowMicros / 3_600_000_000L
                            + " h window: pruning early, the recoverable window is now shorter than the policy");
                }
                windowShortened = true;
                total = totalBytes();
            }
        } else if (policy != SpacePolicy.SHRINK_WINDOW) {
            boolean hold = total > capBytes;
            if (hold != capHolding) {
                LOG.warning(hold ? "retention volume cap reached: " + policy.label() + " until space frees up"
                        : "retention volume back under its cap: resuming");
                for (ReplicatedDisk d : disks.get()) {
                    if (policy == SpacePolicy.PAUSE_APPLY) {
                        if (hold) {
                            d.applyControl().hold(Hold.RETENTION_CAP);
                        } else {
                            d.applyControl().resume(Hold.RETENTION_CAP);
                        }
                    } else {
                        d.setAcceptingWrites(!hold && !fullHolding);
                    }
                }
                capHolding = hold;
            }
        }
        journalBytes = totalBytes();
        if (windowShortened && earliestAcrossDisks() <= horizon) {
            windowShortened = false; // the window holds again
        }
        return pruned;
    }

    private ReplicatedDisk oldestPrunable() {
        ReplicatedDisk best = null;
        long bestTime = Long.MAX_VALUE;
        for (ReplicatedDisk d : disks.get()) {
            if (d.journal() == null) {
                continue;
            }
            long[] o = d.journal().oldestPrunable();
            if (o != null && o[2] < bestTime) {
                bestTime = o[2];
                best = d;
            }
        }
        return best;
    }

    private long earliestAcrossDisks() {
        long min = Long.MAX_VALUE;
        for (ReplicatedDisk d : disks.get()) {
            if (d.journal() != null) {
                long t = d.journal().earliestTimestampMicros();
                if (t >= 0) {
                    min = Math.min(min, t);
                }
            }
        }
        return min;
    }

    private long totalBytes() throws IOException {
        long sum = 0;
        for (ReplicatedDisk d : disks.get()) {
            if (d.journal() != null) {
                sum += d.journal().sizeBytes();
            }
        }
        return sum;
    }

    /** True while the cap forced pruning inside the time window (status warning, metric). */
    public boolean windowShortened() { return windowShortened; }
    /** True while PAUSE_APPLY or STOP_WRITES is holding replication back. */
    public boolean holding() { return capHolding || fullHolding; }
    public long journalBytes() { return journalBytes; }
    public long capBytes() { return capBytes; }
    public SpacePolicy policy() { return policy; }
    public Duration window() { return Duration.ofNanos(windowMicros * 1000); }
}
