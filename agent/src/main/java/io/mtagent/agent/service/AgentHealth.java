package io.mtagent.agent.service;

import io.mtagent.agent.apply.Applier;
import io.mtagent.agent.disk.ReplicatedDisk;
import java.time.Duration;
import java.util.Collection;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.function.LongSupplier;

/**
 * The watchdog's question: is the agent hung? Per disk, its applier must be alive: its thread runs, and when
 * durable records wait it makes progress within {@code stallLimit}.
 *
 * <p>Decision: a FAILED (or stopped, or paused) applier is <em>not</em> a hung agent. A failed disk is reported
 * through its state ({@code failed}, with the reason) and the other disks keep streaming; restarting the agent
 * would fail that disk the same way and interrupt every healthy one. A hang is an applier that should be working
 * and is not (a target write stuck for minutes, a dead thread, a deadlock — in which case this check itself
 * blocks on the disk's lock and the pings stop too): then systemd's restart is the right cure, and the ingest
 * log keeps every acknowledged write across it.
 *
 * <p>Not thread-safe: called from the one watchdog thread.
 */
public final class AgentHealth {
    /** What the check needs of one disk (a view, so the decision rules are testable without hanging a disk). */
    public interface DiskView {
        String id();
        Applier.State applierState();
        boolean applierLoopAlive();
        long appliedSeq();
        long durableSeq();
    }

    private final Duration stallLimit;
    private final LongSupplier nanoClock;
    private final Map<String, long[]> progress = new HashMap<>(); // id -> {appliedSeq, since nanos}

    public AgentHealth(Duration stallLimit, LongSupplier nanoClock) {
        this.stallLimit = stallLimit;
        this.nanoClock = nanoClock;
    }

    /** Why the agent looks hung, or empty when it is healthy. */
    public Optional<String> hangReason(Collection<? extends DiskView> disks) {
        long now = nanoClock.getAsLong();
        for (DiskView d : disks) {
            Applier.State state = d.applierState();
            if (state == Applier.State.FAILED || state == Applier.State.STOPPED) {
                progress.remove(d.id());
                continue;
            }
            if (!d.applierLoopAlive()) {
                return Optional.of("the apply loop of disk " + d.id() + " ended while " + state);
            }
            long applied = d.appliedSeq();
            long[] p = progress.computeIfAbsent(d.id(), k -> new long[] {applied, now});
            if (state == Applier.State.PAUSED || applied != p[0] || d.durableSeq() <= applied) {
                p[0] = applied;
                p[1] = now;
                continue;
            }
            if (now - p[1] > stallLimit.toNanos()) {
                return Optional.of("the applier of disk " + d.id() + " made no progress for "
                        + Duration.ofNanos(now - p[1]).toSeconds() + " s with durable records waiting (applied "
                        + applied + ", durable " + d.durableSeq() + ")");
            }
        }
        return Optional.empty();
    }

    /** The live view of a disk. {@link ReplicatedDisk#state()} takes the disk's lock: a deadlock stops the pings. */
    public static DiskView view(ReplicatedDisk disk) {
        return new DiskView() {
            @Override public String id() { return disk.id(); }
            @Override public Applier.State applierState() {
                disk.state();
                return disk.applyControl().state();
            }
            @Override public boolean applierLoopAlive() { return disk.applyControl().loopAlive(); }
            @Override public long appliedSeq() { return disk.applyControl().appliedSeq(); }
            @Override public long durableSeq() { return disk.lastDurableSeq(); }
        };
    }
}
