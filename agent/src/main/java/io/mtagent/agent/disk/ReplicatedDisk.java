package io.mtagent.agent.disk;

import io.mtagent.agent.apply.Applier.Hold;
import io.mtagent.agent.apply.Applier;
import io.mtagent.agent.ingest.DiskStateStore;
import io.mtagent.agent.ingest.IngestLog;
import io.mtagent.agent.ingest.IngestRecord;
import io.mtagent.agent.ingest.OfferResult;
import io.mtagent.agent.journal.PointInTimeView;
import io.mtagent.agent.journal.RetentionJournal;
import io.mtagent.agent.resync.ResyncMarkers;
import io.mtagent.agent.resync.ResyncStats;
import io.mtagent.nativeio.BlockDevice;
import io.mtagent.protocol.DiskState;
import io.mtagent.protocol.ErrorCode;
import io.mtagent.protocol.TagType;
import io.netty.buffer.ByteBuf;
import java.io.Closeable;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.concurrent.TimeoutException;
import java.util.logging.Logger;

/**
 * One declared target disk at run time: its target device, ingest log, applier and persisted state, and which
 * session stream currently owns it (fencing by stream epoch, docs/ARCHITECTURE.md, "Write path" step 2).
 *
 * <p>Thread-safety: {@link #open}, {@link #offerWrite}, {@link #offerTag} and {@link #release} are
 * {@code synchronized}, so ownership checks and sequence classification are atomic even when an old and a new
 * session race on different event loops. They never block on I/O except {@link #open} when the epoch changes
 * (persisted before answering, so fencing survives restarts) and when the disk moves to needs-resync.
 */
public final class ReplicatedDisk implements Closeable {
    private static final Logger LOG = Logger.getLogger(ReplicatedDisk.class.getName());

    private final String name;
    private final String id;
    private final BlockDevice target;
    private final IngestLog log;
    private final Applier applier;
    private final ApplyControl applyControl;
    private final DiskStateStore stateStore;
    private final long quotaBytes;
    private final DurableWaiters waiters;
    /** Null when no retention journal is kept. */
    private final RetentionJournal journal;
    private final DiskStats stats;
    /** Newest durable record and app-consistent tag (RPO, health), recovered from disk at start. */
    private final DurablePoints points;

    // Guarded by this.
    private long epoch;
    private DiskState state;
    private String reason;
    private long lastTimestampMicros;
    private long clockOffsetMicros;
    private boolean released;
    private volatile DiskOwner owner;
    /** The resync in progress (SPEC.md §12), persisted with the state; null when none. Guarded by this. */
    private DiskStateStore.Resync resync;
    /** State to return to after a resync ends: paused if the operator paused the disk. Guarded by this. */
    private boolean operatorPaused;
    private final ResyncStats resyncStats = new ResyncStats();
    private volatile CacheBudget cacheBudget;
    private volatile boolean acceptingWrites = true;

    ReplicatedDisk(String name, String id, BlockDevice target, IngestLog log, Applier applier,
                   DiskStateStore stateStore, long quotaBytes, DiskStats stats, RetentionJournal journal) {
        this.journal = journal;
        this.stats = stats;
        this.name = name;
        this.id = id;
        this.target = target;
        this.log = log;
        this.applier = applier;
        this.applyControl = new ApplyControl(applier, log);
        this.stateStore = stateStore;
        this.quotaBytes = quotaBytes;
        DiskStateStore.Snapshot s = stateStore.current();
        this.epoch = s.epoch();
        this.state = s.state();
        this.reason = s.reason();
        this.operatorPaused = s.state() == DiskState.PAUSED;
        this.resync = s.resync() == null ? null : ResyncResume.of(s.resync(), log);
        if (resync != null) {
            resyncStats.started(resync.offset(), resync.length(), resync.doneOffset());
        }
        if (operatorPaused) {
            applier.hold(Hold.OPERATOR, true);
        }
        this.points = DurablePoints.recover(log, journal);
        this.waiters = new DurableWaiters(log::lastDurableSeq);
        log.setSyncListener(stats::recordSync);
        log.addListener(new DiskLogEvents(this, stats, points, applier, waiters));
    }

    /** The resync in progress (what RESYNC_STATE reports), or null. */
    public synchronized DiskStateStore.Resync resync() {
        return resync;
    }

    /** Resync and hashing counters for status. */
    public ResyncStats resyncStats() {
        return resyncStats;
    }

    /**
     * The recovery point objective in seconds: agent time now minus the source time (corrected by the session's
     * clock offset) of the newest durable record, known from the first moment after a restart
     * ({@link DurablePoints}); null only while the disk never held a record.
     */
    public Double rpoSeconds() {
        return points.rpoSeconds();
    }

    /** Agent time (µs) of the newest durable record (the latest point), 0 while the disk never held one. */
    public long newestDurableMicros() {
        return points.newestMicros();
    }

    /** Agent time (µs) of the newest durable app-consistent tag (recovered at start too), 0 if none is known. */
    public long lastAppConsistentMicros() {
        return points.lastAppConsistentMicros();
    }

    public DiskStats stats() {
        return stats;
    }

    void attach(CacheBudget budget) {
        this.cacheBudget = budget;
    }

    CacheBudget cacheBudget() {
        return cacheBudget;
    }

    /** The stream that owns the disk now, or null. */
    DiskOwner owner() {
        return owner;
    }

    public String name() { return name; }
    public String id() { return id; }
    public long sizeBytes() { return target.size(); }
    public int sectorSize() { return target.logicalSectorSize(); }
    public long lastAcceptedSeq() { return log.lastAcceptedSeq(); }
    public long lastDurableSeq() { return log.lastDurableSeq(); }
    public long appliedSeq() { return log.appliedSeq(); }
    public long backlogBytes() { return log.backlogBytes(); }
    /** What services may do with the applier; the applier itself stays the disk's. */
    public ApplyControl applyControl() { return applyControl; }
    /** For readers (point resolution, status, verify); writes reach it only through the {@code offer*} methods. */
    public IngestLog ingestLog() { return log; }
    /** For the rollback, which writes onto it while the disk is recovering and its applier is held. */
    public BlockDevice target() { return target; }

    /** The retention journal, or null when none is kept (retention.dir unset): for points, views, pruning, rollback. */
    public RetentionJournal journal() { return journal; }

    /**
     * A read-only view of the disk at {@code point} (a sequence number); {@link DiskViews#open} says which points
     * are refused and why. {@code maxWait} is not used: points beyond the applied point read through the log.
     *
     * @throws IllegalStateException when no journal is kept, or the point is not held
     */
    public PointInTimeView view(long point, Duration maxWait) throws InterruptedException, TimeoutException {
        return DiskViews.open(this, point);
    }

    /**
     * True while the ingest log holds at least the disk's quota of unapplied bytes, or writes are held by the
     * retention policy: credit is withheld.
     */
    public boolean overQuota() {
        return !acceptingWrites || log.backlogBytes() >= quotaBytes;
    }

    /** The retention policy's stop-writes switch: when false, the disk's streams get no more credit. */
    public void setAcceptingWrites(boolean accepting) {
        this.acceptingWrites = accepting;
        if (accepting) {
            DiskOwner o = owner;
            if (o != null) {
                o.drained();
            }
        }
    }

    public synchronized DiskState state() {
        if ((state == DiskState.PROTECTED || state == DiskState.PAUSED || state.resyncing())
                && applier.state() == Applier.State.FAILED) {
            markFailed(DiskRegistry.failureReason(target, applier.lastError())); // same typed reason as the callback
        }
        return state;
    }

    public synchronized String stateReason() {
        return reason == null ? "" : reason;
    }

    public synchronized long epoch() {
        return epoch;
    }

    /**
     * Handles OPEN_DISK (SPEC.md §6): refuses an older epoch, fences the previous owner, persists a newer epoch,
     * and moves the disk to needs-resync when the sender's history does not reach back to our next sequence.
     */
    public synchronized OpenOutcome open(long newEpoch, long oldestSeq, DiskOwner newOwner) {
        return open(newEpoch, oldestSeq, newOwner, 0);
    }

    /**
     * {@link #open(long, long, DiskOwner)} with the session's clock offset (agent time minus source time, µs),
     * which corrects the source timestamps the RPO is computed from.
     */
    public synchronized OpenOutcome open(long newEpoch, long oldestSeq, DiskOwner newOwner, long clockOffsetMicros) {
        if (released) {
            return OpenOutcome.refused(ErrorCode.UNKNOWN_DISK, "disk " + id + " is being released through the"
                    + " control API; attach it again (POST /v1/disks/" + id + "/attach) before streaming to it");
        }
        this.clockOffsetMicros = clockOffsetMicros;
        if (newEpoch < epoch) {
            return OpenOutcome.refused(ErrorCode.STALE_EPOCH, "disk " + id + " is held under epoch " + epoch
                    + "; this open uses epoch " + newEpoch + " (an older process server?)");
        }
        DiskOwner previous = owner;
        if (previous != null && previous != newOwner) {
            previous.fenced(newEpoch);
        }
        owner = newOwner;
        if (newEpoch > epoch) {
            epoch = newEpoch;
            persist();
        }
        DiskState current = state();
        long next = log.lastAcceptedSeq() + 1;
        if ((current == DiskState.PROTECTED || current.resyncing()) && oldestSeq != 0 && oldestSeq > next) {
            markNeedsResync("no common history: the process server can send from seq " + oldestSeq
                    + " but the agent holds writes only up to seq " + (next - 1));
        }
        return new OpenOutcome(null, null, target.size(), target.logicalSectorSize(), state, log.lastDurableSeq(),
                log.appliedSeq());
    }

    /** Offers a verified WRITE; takes ownership of {@code data} in every case. */
    public synchronized WriteOutcome offerWrite(DiskOwner from, long seq, long timestampMicros, long offset, int length,
                                                int crc32c, boolean compressed, ByteBuf data) {
        return offerWrite(from, seq, timestampMicros, offset, length, crc32c, compressed, false, data);
    }

    /**
     * Offers a verified WRITE; {@code resyncWrite} marks a v2 resync write (SPEC.md §12.5), refused with
     * NOT_RESYNCING when no resync is in progress. Takes ownership of {@code data} in every case.
     */
    public synchronized WriteOutcome offerWrite(DiskOwner from, long seq, long timestampMicros, long offset, int length,
                                                int crc32c, boolean compressed, boolean resyncWrite, ByteBuf data) {
        WriteOutcome refused = refusal(from);
        if (refused == null && resyncWrite && resync == null && seq > log.lastAcceptedSeq()) {
            refused = WriteOutcome.NOT_RESYNCING;
        }
        if (refused != null) {
            data.release();
            return refused;
        }
        long ts = Math.max(timestampMicros, lastTimestampMicros);
        IngestRecord rec = IngestRecord.write(seq, epoch, ts, offset, length, crc32c, compressed);
        WriteOutcome out = classify(log.offer(rec, data, true), seq, ts, false, length); // verified: see the Javadoc
        if (out == WriteOutcome.ACCEPTED) {
            stats.writesReceived.increment();
            stats.bytesReceived.increment(length);
            if (resyncWrite) {
                resyncStats.resyncWrite(length);
            }
        }
        return out;
    }

    /**
     * Offers RESYNC_START (SPEC.md §12.2): accepted in protected, needs-resync, a resync (it supersedes it) and
     * paused. On acceptance the disk is resyncing (initial-sync when it never held a write) and the resync is
     * persisted before this returns, so a restart resumes it.
     */
    public synchronized WriteOutcome offerResyncStart(DiskOwner from, long seq, long timestampMicros, long resyncId,
                                                      String mode, int chunkSize, long offset, long length) {
        if (from != owner) {
            return WriteOutcome.NOT_OWNER;
        }
        DiskState s = state();
        if (s == DiskState.FAILED) {
            return WriteOutcome.FAILED;
        }
        if (s == DiskState.RECOVERING) {
            return WriteOutcome.RECOVERING;
        }
        boolean initial = s == DiskState.INITIAL_SYNC || log.lastAcceptedSeq() == 0;
        long ts = Math.max(timestampMicros, lastTimestampMicros);
        IngestRecord rec = IngestRecord.tag(seq, epoch, ts, ResyncMarkers.START, ResyncMarkers.startName(resyncId));
        WriteOutcome out = classify(log.offer(rec, null), seq, ts, false);
        if (out == WriteOutcome.ACCEPTED) {
            resync = new DiskStateStore.Resync(resyncId, mode, chunkSize, offset, length, seq, offset);
            state = initial ? DiskState.INITIAL_SYNC : DiskState.RESYNCING;
            reason = mode + " resync " + Long.toUnsignedString(resyncId) + " from seq " + seq + " over "
                    + offset + "+" + length + " bytes";
            resyncStats.started(offset, length, offset);
            LOG.info(() -> "disk " + id + " is now " + state.label() + ": " + reason);
            persist();
        }
        return out;
    }

    /** Offers RESYNC_PROGRESS: every chunk below {@code doneOffset} was compared and sent in earlier seqs. */
    public synchronized WriteOutcome offerResyncProgress(DiskOwner from, long seq, long timestampMicros, long resyncId,
                                                         long doneOffset) {
        WriteOutcome refused = resyncRefusal(from, seq, resyncId);
        if (refused != null) {
            return refused;
        }
        long ts = Math.max(timestampMicros, lastTimestampMicros);
        IngestRecord rec = IngestRecord.tag(seq, epoch, ts, ResyncMarkers.PROGRESS,
                ResyncMarkers.progressName(resyncId, doneOffset));
        WriteOutcome out = classify(log.offer(rec, null), seq, ts, false);
        if (out == WriteOutcome.ACCEPTED) {
            resyncStats.progressSent(doneOffset);
        }
        return out;
    }

    /**
     * Offers RESYNC_END: the end marker, a recovery point when {@code consistent}. On acceptance the disk returns
     * to protected (or paused) and the resync record is cleared.
     */
    public synchronized WriteOutcome offerResyncEnd(DiskOwner from, long seq, long timestampMicros, long resyncId,
                                                    boolean consistent, String endName) {
        WriteOutcome refused = resyncRefusal(from, seq, resyncId);
        if (refused != null) {
            return refused;
        }
        long ts = Math.max(timestampMicros, lastTimestampMicros);
        String n = endName.isEmpty() ? ResyncMarkers.startName(resyncId) : endName;
        IngestRecord rec = IngestRecord.tag(seq, epoch, ts, consistent ? ResyncMarkers.END : ResyncMarkers.END_INCONSISTENT, n);
        WriteOutcome out = classify(log.offer(rec, null), seq, ts, false);
        if (out == WriteOutcome.ACCEPTED && resync != null) {
            long started = resync.startSeq();
            resync = null;
            state = operatorPaused ? DiskState.PAUSED : DiskState.PROTECTED;
            reason = "resync " + Long.toUnsignedString(resyncId) + " (seq " + started + ".." + seq + ") ended"
                    + (consistent ? "; end marker '" + n + "' is a recovery point"
                    : " NOT consistent (the source changed during it): no recovery point until the next tag");
            resyncStats.ended();
            LOG.info(() -> "disk " + id + " is now " + state.label() + ": " + reason);
            persist();
        }
        return out;
    }

    private WriteOutcome resyncRefusal(DiskOwner from, long seq, long resyncId) {
        WriteOutcome refused = refusal(from);
        if (refused != null) {
            return refused;
        }
        if (seq > log.lastAcceptedSeq() && (resync == null || resync.id() != resyncId)) {
            return WriteOutcome.NOT_RESYNCING;
        }
        return null;
    }

    /**
     * Applier thread (through {@link io.mtagent.agent.resync.ResyncApplyStage}): a PROGRESS marker was durable and
     * is being applied; persists the resume offset so a restart continues from there.
     */
    public synchronized void progressApplied(long resyncId, long doneOffset) {
        if (resync != null && resync.id() == resyncId && doneOffset > resync.doneOffset()) {
            resync = resync.withDone(doneOffset);
            resyncStats.progressDurable(doneOffset);
            persist();
        }
    }

    /** Operator pause (applying stops, the ingest log keeps taking writes up to its quota) or resume. */
    public synchronized void setPaused(boolean paused, String why) {
        operatorPaused = paused;
        applier.hold(Hold.OPERATOR, paused);
        if (state == DiskState.PROTECTED || state == DiskState.PAUSED) {
            state = paused ? DiskState.PAUSED : DiskState.PROTECTED;
            reason = why;
            persist();
        }
    }

    /** Offers a TAG (a recovery point once durable). */
    public synchronized WriteOutcome offerTag(DiskOwner from, long seq, long timestampMicros, TagType type, String tagName) {
        WriteOutcome refused = refusal(from);
        if (refused != null) {
            return refused;
        }
        long ts = Math.max(timestampMicros, lastTimestampMicros);
        IngestRecord rec = IngestRecord.tag(seq, epoch, ts, (byte) type.code(), tagName);
        return classify(log.offer(rec, null), seq, ts, type == TagType.APP_CONSISTENT);
    }

    private WriteOutcome refusal(DiskOwner from) {
        if (from != owner) {
            return WriteOutcome.NOT_OWNER;
        }
        DiskState s = state();
        if (s == DiskState.NEEDS_RESYNC) {
            return WriteOutcome.NEEDS_RESYNC;
        }
        if (s == DiskState.FAILED) {
            return WriteOutcome.FAILED;
        }
        if (s == DiskState.RECOVERING) {
            return WriteOutcome.RECOVERING;
        }
        return null;
    }

    private WriteOutcome classify(OfferResult r, long seq, long ts, boolean appConsistent) {
        return classify(r, seq, ts, appConsistent, 0);
    }

    /** {@code writeBytes}: the write's uncompressed length (0 for tags), counted durable with it. */
    private WriteOutcome classify(OfferResult r, long seq, long ts, boolean appConsistent, int writeBytes) {
        switch (r) {
            case ACCEPTED:
                lastTimestampMicros = ts;
                points.accepted(seq, ts + clockOffsetMicros, appConsistent, writeBytes);
                return WriteOutcome.ACCEPTED;
            case DUPLICATE:
                return WriteOutcome.DUPLICATE;
            case CONFLICT:
                return WriteOutcome.CONFLICT;
            case GAP:
                resync = null; // the writes after the gap are lost: a resync must start again
                resyncStats.ended();
                markNeedsResync("sequence gap: received seq " + seq + " after " + log.lastAcceptedSeq());
                return WriteOutcome.GAP;
            default:
                markFailed("ingest log closed");
                return WriteOutcome.FAILED;
        }
    }

    /** The owner's stream stopped (error, close, disconnect): stop sending it callbacks. */
    public synchronized void release(DiskOwner from) {
        if (owner == from) {
            owner = null;
        }
    }

    /**
     * Release step 1 (control API): refuse new opens from now on and fence the current owner, so nothing new
     * arrives. What was accepted stays and is made durable and applied by {@link #quiesce}.
     */
    public synchronized void beginRelease() {
        released = true;
        DiskOwner previous = owner;
        owner = null;
        if (previous != null) {
            previous.fenced(epoch);
        }
    }

    public synchronized boolean releasing() {
        return released;
    }

    /** Undoes {@link #beginRelease} when the release could not finish: the disk takes streams again. */
    public synchronized void cancelRelease() {
        released = false;
    }

    /**
     * The operator (or the check at start) found the target working again: a failed disk returns to the state its
     * persisted record implies (a resync in progress, or protected) and its applier applies what the ingest log
     * holds. No effect unless the disk is failed.
     */
    public synchronized void clearFailure(String why) {
        if (state != DiskState.FAILED) {
            return;
        }
        state = resync == null ? DiskState.PROTECTED
                : resync.startSeq() <= 1 ? DiskState.INITIAL_SYNC : DiskState.RESYNCING;
        reason = why;
        LOG.warning(() -> "disk " + id + " is now " + state.label() + ": " + why);
        persist();
    }

    /**
     * Release step 2: makes everything accepted durable and waits until the applier wrote it to the target.
     *
     * @throws TimeoutException if the applier does not catch up within {@code timeout}
     */
    public void quiesce(Duration timeout) throws IOException, InterruptedException,
            TimeoutException {
        log.flush();
        long durable = log.lastDurableSeq();
        if (log.appliedSeq() < durable) {
            applier.awaitApplied(durable, timeout);
        }
    }

    /** Runs {@code action} (on a disk thread, or now) once everything up to {@code seq} is durable. */
    public void whenDurable(long seq, Runnable action) {
        waiters.whenDurable(seq, action);
    }

    /**
     * Moves the disk into or out of an operator's recovery (rollback): persisted, and while recovering every
     * stream is fenced and writes are refused. {@code next} is the state after (protected or needs-resync).
     */
    public synchronized void setRecoveryState(DiskState next, String why) {
        DiskOwner o = owner;
        if (next == DiskState.RECOVERING && o != null) {
            o.fenced(epoch);
            owner = null;
        }
        if (next == DiskState.RECOVERING && resync != null) {
            resync = null; // a rollback ends any resync: after the commit the source side must resync anew
            resyncStats.ended();
        }
        state = next;
        reason = why;
        LOG.warning(() -> "disk " + id + " is now " + next.label() + ": " + why);
        persist();
    }

    /** An operator asks for a resync: needs-resync with {@code why} (persisted); a resync in progress is dropped. */
    public synchronized void requestResync(String why) {
        if (state != DiskState.FAILED && state != DiskState.RECOVERING) {
            markNeedsResync(why);
        }
    }

    synchronized void markNeedsResync(String why) {
        if (state != DiskState.NEEDS_RESYNC) {
            resync = null; // a resync in progress cannot continue: writes it relied on are lost
            resyncStats.ended();
            state = DiskState.NEEDS_RESYNC;
            reason = why;
            LOG.warning(() -> "disk " + id + " is now needs-resync: " + why);
            persist();
        }
    }

    /** A failed disk's check found the target still failing: the new reason replaces the old one. */
    synchronized void markFailedAgain(String why) {
        if (state == DiskState.FAILED) {
            reason = why;
            LOG.severe(() -> "disk " + id + " still FAILED: " + why);
            persist();
        } else {
            markFailed(why);
        }
    }

    synchronized void markFailed(String why) {
        if (state != DiskState.FAILED) {
            state = DiskState.FAILED;
            reason = why;
            LOG.severe(() -> "disk " + id + " FAILED: " + why);
            persist();
            DiskOwner o = owner;
            if (o != null) {
                o.failed(why);
            }
        }
    }

    private void persist() {
        try {
            stateStore.save(new DiskStateStore.Snapshot(epoch, state, reason, resync));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot persist the state of disk " + id + " in " + stateStore.path(), e);
        }
    }

    /** Makes every accepted record durable (clean shutdown step). */
    public void flush() throws IOException, InterruptedException {
        log.flush();
    }

    /** Stops the applier after its current batch, then closes the log and the target. */
    @Override
    public void close() throws IOException {
        applier.requestStop();
        if (journal != null) {
            journal.requestStop(); // an applier waiting for retention space gives up now
        }
        applier.close();
        log.close();
        if (journal != null) {
            journal.close();
        }
        target.close();
    }
}
