package io.mtagent.agent.disk;

import io.mtagent.agent.apply.Applier;
import io.mtagent.agent.ingest.IngestLog;
import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.TimeoutException;

/**
 * What the services above a disk may do with its applier, and no more: hold it and let it run again (the retention
 * policy's pause-apply, a rollback), apply everything durable and hold it (before a rollback changes the target),
 * read the target between two of its batches (resync checksums), and read its state, failure and stall for status
 * and the watchdog. Building, starting, stopping and failing the applier stay the disk's own
 * ({@link ReplicatedDisk}, {@link DiskRegistry}).
 *
 * <p>{@link #hold}/{@link #resume} are one switch, shared with the operator's pause
 * ({@link ReplicatedDisk#setPaused}): the last caller wins. Thread-safe (the applier's and the log's operations are).
 */
public final class ApplyControl {
    private final Applier applier;
    private final IngestLog log;

    ApplyControl(Applier applier, IngestLog log) {
        this.applier = applier;
        this.log = log;
    }

    /** Holds the applier after its current batch; the ingest log keeps taking writes up to its quota. */
    public void hold() {
        applier.setPaused(true);
    }

    /** Lets a held applier apply again. */
    public void resume() {
        applier.setPaused(false);
    }

    /**
     * Lets the applier apply every durable record, waits until it has, holds it, and persists the applied point
     * (so a restart finds everything applied and re-applies nothing onto a target that changes after this). For a
     * disk that accepts no more writes.
     *
     * @throws TimeoutException when the applier does not catch up within {@code timeout} (it is left running)
     */
    public void applyAllAndHold(Duration timeout) throws IOException, InterruptedException, TimeoutException {
        log.flush();
        resume();
        applier.awaitApplied(log.lastDurableSeq(), timeout);
        hold();
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
