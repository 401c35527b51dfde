package io.mtagent.agent.disk;

import io.mtagent.agent.apply.Applier;
import io.mtagent.agent.apply.Applier.Hold;
import io.mtagent.agent.ingest.IngestLog;
import java.io.IOException;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.TimeoutException;

/**
 * What the services above a disk may do with its applier, and no more: hold it and let it run again (the retention
 * policy's pause-apply, a rollback), apply everything durable and hold it (before a rollback changes the target),
 * read the target between two of its batches (resync checksums), and read its state, failure and stall for status
 * and the watchdog. Building, starting, stopping and failing the applier stay the disk's own
 * ({@link ReplicatedDisk}, {@link DiskRegistry}).
 *
 * <p>Each party holds with its own reason ({@link Hold}) and releases only that one: the applier applies while no
 * reason is held, so the retention volume's release never resumes a disk the operator paused
 * ({@link ReplicatedDisk#setPaused}, {@link Hold#OPERATOR}), and an operator's resume never lifts the retention
 * volume's pause-apply. Thread-safe (the applier's and the log's operations are).
 */
public final class ApplyControl {
    private final Applier applier;
    private final IngestLog log;

    ApplyControl(Applier applier, IngestLog log) {
        this.applier = applier;
        this.log = log;
    }

    /** Holds the applier for {@code why} after its current batch; the ingest log keeps taking writes up to its quota. */
    public void hold(Hold why) {
        applier.hold(why, true);
    }

    /** Releases {@code why}'s hold; the applier applies again once no other reason holds it. */
    public void resume(Hold why) {
        applier.hold(why, false);
    }

    /** The reasons holding the applier now. */
    public Set<Hold> holds() {
        return applier.holds();
    }

    /**
     * Lets the applier apply every durable record whatever holds it, waits until it has, holds it for
     * {@link Hold#ROLLBACK}, and persists the applied point (so a restart finds everything applied and re-applies
     * nothing onto a target that changes after this). For a disk that accepts no more writes; the other holds stay.
     *
     * @throws TimeoutException when the applier does not catch up within {@code timeout} (the holds stay as they were)
     */
    public void applyAllAndHold(Duration timeout) throws IOException, InterruptedException, TimeoutException {
        log.flush();
        applier.applyAllAndHold(log.lastDurableSeq(), timeout);
        log.persistAppliedNow();
    }

    /** Waits until the applier has applied {@code seq}. */
    public void awaitApplied(long seq, Duration timeout) throws InterruptedException, TimeoutException {
        applier.awaitApplied(seq, timeout);
    }

    /** Runs {@code read} on the target between two batches of the applier; returns the seq the target reflects. */
    public long readBetweenBatches(Applier.TargetRead read) throws IOException {
        return applier.readBetweenBatches(read);
    }

    public Applier.State state() {
        return applier.state();
    }

    /** The error that stopped the applier, or null. */
    public Throwable lastError() {
        return applier.lastError();
    }

    /** The temporary shortage holding the applier, or null. */
    public String stalled() {
        return applier.stalled();
    }

    /** For the watchdog: false once the apply loop ended for good. */
    public boolean loopAlive() {
        return applier.loopAlive();
    }

    /** The applier's own applied seq (ahead of the persisted one between two persists). */
    public long appliedSeq() {
        return applier.appliedSeq();
    }
}
