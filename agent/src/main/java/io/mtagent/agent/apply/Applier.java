package io.mtagent.agent.apply;

import io.mtagent.agent.ingest.DirectPayloadBuffers;
import io.mtagent.agent.ingest.DiskTaskPool;
import io.mtagent.agent.ingest.IngestLog;
import io.mtagent.agent.ingest.Shortage;
import io.mtagent.agent.ingest.StoredRecord;
import io.mtagent.nativeio.BlockDevice;
import java.io.Closeable;
import java.io.IOException;
import java.time.Duration;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;
import java.util.logging.Logger;

/**
 * Applies one disk's durable ingest-log records to its target, in sequence order, one batch at a time.
 *
 * <p>Ordering promise, per batch: {@link ApplyStage#beforeOverwrite} (before-images durable, later), then the
 * target writes, then {@link BlockDevice#flush()}, and only then {@link IngestLog#markApplied}, which persists
 * the applied point and frees log segments. Pipelined (when the stage {@link ApplyStage#pipelines() allows it}):
 * batch N's target writes and flush run on a second thread while this thread reads and captures batch N+1; at
 * most one batch is in flight, N+1's writes start only after N landed and N+1's capture returned, and the
 * applied point moves in batch order. Overlapping the journal's reads, appends and sync with the target's
 * writes and flush is what fio's separate jobs do (bench/RESULTS.md, "What limits it").
 *
 * <p>A crash anywhere re-applies from the last persisted point; target writes are idempotent, so that is
 * harmless. Every payload is decompressed with a bounded safe decompressor and its CRC-32C re-checked before it
 * touches the target: a mismatch means on-disk corruption and fails the disk.
 *
 * <p>Each batch is read with a {@link DirectPayloadBuffers.Lease}: an uncompressed payload lands in an aligned direct
 * buffer that goes to the target write as it is. The lease is closed on this thread only once the batch has
 * landed and been reported {@link ApplyStage#landed} and the next batch's {@link ApplyStage#beforeOverwrite} has
 * returned (the stage's overlay may read the batch until then: {@link ApplyStage}, payload lifetime), or when the
 * loop ends. Records that do not fit the shared budget are read onto the heap.
 *
 * <p>Within a batch, up to {@code apply.target.lanes} target writes are under way at once, a write starting only
 * after every earlier overlapping write of the batch finished ({@link TargetBatchWriter}, {@link OverlapOrderedWrites}): the target ends as if
 * the batch were written in order.
 *
 * <p>Threads: thread-safe control methods. The apply loop is a task on a pooled thread ({@link DiskTaskPool}, named
 * "applier-&lt;disk&gt;" while it runs): it starts when records become durable (or on a resume or a stop) and none
 * runs, applies until nothing durable is left to take, lands the batch in flight, and gives the thread back, so a
 * quiet disk holds no thread. At most one loop task runs per disk (the {@code loopScheduled} flag, under the lock;
 * "the applier's thread" below means whichever pooled thread runs it, and the lock's hand-over orders one task's
 * work before the next task's). A pipelined batch's target writes run on a pooled thread named
 * "applier-&lt;disk&gt;-target" while it runs them (its second lane on another pooled thread).
 */
public final class Applier implements Closeable {
    private static final Logger LOG = Logger.getLogger(Applier.class.getName());

    /** Run state as operators see it. */
    public enum State { RUNNING, PAUSED, FAILED, STOPPED }

    /**
     * Why the applier is held. Each reason is held and released on its own and the applier applies only while none
     * is held, so one party's release never ends another's hold (an operator's resume does not lift the retention
     * volume's pause-apply, and the retention volume's release does not resume a disk the operator paused).
     */
    public enum Hold {
        /** The operator paused the disk (control API, CLI), or a test holds the backlog. */
        OPERATOR,
        /** The retention volume is over its cap under the pause-apply policy. */
        RETENTION_CAP,
        /** A rollback changes the target, or is rolled back and not yet committed. */
        ROLLBACK
    }

    private final String diskName;
    private final IngestLog log;
    private final BlockDevice target;
    private final ApplyStage stage;
    private final ApplierOptions options;
    private final ReentrantLock lock = new ReentrantLock();
    /** Signalled when the loop has ended for good (close waits for it). */
    private final Condition ended = lock.newCondition();
    /** Decodes the payloads the target writes take (lane 0 into its own aligned buffer). */
    private final TargetPayloads payloads;
    // Guarded by lock.
    private final EnumSet<Hold> holds = EnumSet.noneOf(Hold.class);
    /** {@link #applyAllAndHold}: applying everything durable, whatever is held; then the rollback's hold. */
    private boolean draining;
    /** Guarded by lock: some hold is in force and no drain overrides it. */
    private boolean paused;
    private volatile boolean stopping;
    private boolean newData = true;
    /** {@link #start} was called: wake-ups may start the loop task from then on. */
    private boolean started;
    /** A loop task is queued or running; the next one starts only after it cleared this (one at a time). */
    private boolean loopScheduled;
    /** The loop ended for good (stopped or failed); no task starts again. Volatile for {@link #loopAlive}. */
    private volatile boolean loopEnded;

    // Loop task only (handed from one task to the next through the lock): what the loop carries between batches.
    /** The batch whose target writes run on the writer thread right now (pipelined stages only), and its last seq. */
    private Future<?> inFlight;
    private long inFlightLast;
    private long inFlightWriteBytes; // of the batch in flight, see appliedWriteBytes
    /** Uncompressed bytes of the writes applied since the applier started; written by the apply loop only. */
    private volatile long appliedWriteBytes;
    /** The payload buffers of the batch in flight: closed after it landed and the next capture returned. */
    private DirectPayloadBuffers.Lease inFlightLease;
    /** The last seq whose before-images are captured (and target write under way). */
    private long captured;
    private volatile State state = State.RUNNING;
    private volatile Throwable lastError;
    private volatile long appliedSeq;
    private volatile Consumer<Throwable> onFailure = t -> { };
    private final Shortage.Stall stall;
    /** Writes batches onto the target; lets readers in between two of them. */
    private final TargetBatchWriter batches;
    /**
     * Where a pipelined applier's batch N target writes and flush run while its own thread reads and captures
     * batch N+1; null when the stage does not pipeline. One pool for all disks, unbounded and without a queue
     * (a task always gets a thread at once, so a slow or hung disk never delays another disk's writes), whose
     * threads end after 10 s idle: at most one task per disk runs at a time, and with hundreds of quiet disks
     * only the few with a batch in flight hold a thread (a thread per disk was 256 more stacks in many-disks).
     */
    private final ExecutorService writer;
    /** Where batches' payloads are read to (the heap when a record does not fit its budget). */
    private final DirectPayloadBuffers payloadBuffers;
    /** Where the disk's apply time goes (metrics). */
    private final ApplyStageTimes times;
    private static final ExecutorService TARGET_WRITERS = DiskTaskPool.create("applier-target");
    /** Every disk's apply loop: a disk with durable records to apply holds a thread, a quiet one none. */
    private static final ExecutorService LOOPS = DiskTaskPool.create("applier");

    public Applier(String diskName, IngestLog log, BlockDevice target, ApplyStage stage, ApplierOptions options) {
        this(diskName, log, target, stage, options, new ApplyStageTimes());
    }

    /** Recording where the apply time goes in {@code times} (the disk's metrics). */
    public Applier(String diskName, IngestLog log, BlockDevice target, ApplyStage stage, ApplierOptions options,
                   ApplyStageTimes times) {
        this(diskName, log, target, stage, options, DirectPayloadBuffers.SHARED, times);
    }

    /** With its own payload budget (tests: a small one, to see the heap fallback). */
    Applier(String diskName, IngestLog log, BlockDevice target, ApplyStage stage, ApplierOptions options,
            DirectPayloadBuffers payloadBuffers) {
        this(diskName, log, target, stage, options, payloadBuffers, new ApplyStageTimes());
    }

    private Applier(String diskName, IngestLog log, BlockDevice target, ApplyStage stage, ApplierOptions options,
                    DirectPayloadBuffers payloadBuffers, ApplyStageTimes times) {
        this.payloadBuffers = payloadBuffers;
        this.times = times;
        this.diskName = diskName;
        this.stall = new Shortage.Stall("applier of disk " + diskName);
        this.payloads = new TargetPayloads(diskName, options.maxWriteBytes());
        this.log = log;
        this.target = target;
        this.stage = stage;
        this.options = options;
        this.appliedSeq = log.appliedSeq();
        this.batches = new TargetBatchWriter(target, payloads, options, times, TARGET_WRITERS, appliedSeq);
        this.captured = appliedSeq;
        this.writer = stage.pipelines() && options.pipelined() ? TARGET_WRITERS : null;
        log.addListener(new IngestLog.Listener() {
            @Override
            public void onDurable(long durableSeq) {
                wake();
            }
        });
    }

    /** Starts applying (the loop runs whenever there is something to apply). */
    public void start() {
        lock.lock();
        try {
            started = true;
            scheduleLoop();
        } finally {
            lock.unlock();
        }
    }

    /**
     * Under the lock: starts the loop task unless one is queued or running, or the loop has ended. Before
     * {@link #start} nothing starts; a stop then ends the loop at once.
     */
    private void scheduleLoop() {
        if (loopScheduled || loopEnded) {
            return;
        }
        if (!started) {
            if (stopping) {
                loopEnded = true;
                state = State.STOPPED;
                ended.signalAll();
            }
            return;
        }
        loopScheduled = true;
        try {
            LOOPS.execute(() -> DiskTaskPool.runNamed("applier-" + diskName, this::loop));
        } catch (RuntimeException | OutOfMemoryError e) { // no thread to be had: fail the disk visibly
            loopScheduled = false;
            loopEnded = true;
            lastError = e;
            state = State.FAILED;
            ended.signalAll();
            LOG.severe("applier of disk " + diskName + " could not start; the ingest log keeps the writes: " + e);
            onFailure.accept(e);
        }
    }

    /** Called (on the applier thread) when the applier fails. */
    public void onFailure(Consumer<Throwable> listener) {
        this.onFailure = listener;
    }

    /** The operator's hold ({@link Hold#OPERATOR}) set or released; see {@link #hold}. */
    public void setPaused(boolean p) {
        hold(Hold.OPERATOR, p);
    }

    /**
     * Sets or releases one reason to hold the applier after its current batch; it applies again once no reason is
     * held. The ingest log keeps absorbing writes meanwhile (up to its quota).
     */
    public void hold(Hold why, boolean held) {
        lock.lock();
        try {
            if (held) {
                holds.add(why);
            } else {
                holds.remove(why);
            }
            updatePaused();
        } finally {
            lock.unlock();
        }
    }

    /** The reasons held now (a copy). */
    public Set<Hold> holds() {
        lock.lock();
        try {
            return holds.isEmpty() ? Set.of() : EnumSet.copyOf(holds);
        } finally {
            lock.unlock();
        }
    }

    /**
     * Applies every record up to {@code seq} whatever is held (a rollback must find the target at latest before it
     * changes it), then holds the applier for {@link Hold#ROLLBACK}. On a time-out the holds in force before stay as
     * they were (the rollback's is not added).
     */
    public void applyAllAndHold(long seq, Duration timeout) throws InterruptedException, TimeoutException {
        lock.lock();
        try {
            draining = true;
            updatePaused();
        } finally {
            lock.unlock();
        }
        boolean done = false;
        try {
            awaitApplied(seq, timeout);
            done = true;
        } finally {
            lock.lock();
            try {
                draining = false;
                if (done) {
                    holds.add(Hold.ROLLBACK);
                }
                updatePaused();
            } finally {
                lock.unlock();
            }
        }
    }

    private void updatePaused() {
        paused = !holds.isEmpty() && !draining;
        if (state != State.FAILED && state != State.STOPPED) {
            state = paused ? State.PAUSED : State.RUNNING;
        }
        scheduleLoop();
    }

    public long appliedSeq() { return appliedSeq; }
    public State state() { return state; }
    public Throwable lastError() { return lastError; }
    /**
     * For the service watchdog: false once the apply loop ended for good (normally only after FAILED or STOPPED;
     * an idle loop that gave its thread back is alive). False before {@link #start}.
     */
    public boolean loopAlive() {
        lock.lock();
        try {
            return started && !loopEnded;
        } finally {
            lock.unlock();
        }
    }

    public void awaitApplied(long seq, Duration timeout) throws InterruptedException, TimeoutException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (appliedSeq < seq) {
            if (state == State.FAILED) {
                throw new IllegalStateException("applier of " + diskName + " failed", lastError);
            }
            if (System.nanoTime() > deadline) {
                throw new TimeoutException("disk " + diskName + " applied " + appliedSeq + " of " + seq);
            }
            Thread.sleep(5);
        }
    }

    private void wake() {
        lock.lock();
        try {
            newData = true;
            scheduleLoop();
        } finally {
            lock.unlock();
        }
    }

    /**
     * The loop task: applies batches until there is nothing to take, then (with no batch in flight) clears
     * {@code loopScheduled} under the lock and returns. The idle check and the clearing happen under the same
     * lock hold as {@link #wake}'s "new data, start a task", so a wake-up is never lost between them.
     */
    private void loop() {
        boolean over = false; // the loop ended for good: stopped or failed
        try {
            while (true) {
                boolean idle;
                lock.lock();
                try {
                    idle = stopping || paused || (!newData && log.lastDurableSeq() <= captured);
                } finally {
                    lock.unlock();
                }
                if (idle && inFlight != null) {
                    // Nothing to capture meanwhile (or asked to hold or stop): land the batch in flight first, so a
                    // paused or idle applier has nothing under way and its applied point is everything it took.
                    finish(inFlight, inFlightLast, inFlightWriteBytes);
                    inFlight = null;
                    close(inFlightLease); // landed; no capture after it will overlay it
                    inFlightLease = null;
                    continue;
                }
                lock.lock();
                try {
                    if (stopping) {
                        break;
                    }
                    if (paused || (!newData && log.lastDurableSeq() <= captured)) {
                        loopScheduled = false; // idle, nothing in flight: give the thread back until woken
                        return;
                    }
                    newData = false;
                } finally {
                    lock.unlock();
                }
                DirectPayloadBuffers.Lease lease = payloadBuffers.lease();
                boolean handedOver = false; // once true, the lease is closed with inFlightLease
                try {
                    List<StoredRecord> batch;
                    try {
                        batch = log.readDurable(captured, options.batchBytes(), lease);
                    } catch (IOException e) {
                        if (Shortage.of(e) == null || stopping) {
                            throw e;
                        }
                        // Nothing was captured or written for this batch: read again later, never fail the disk.
                        stall.hold(Shortage.of(e), () -> LOOPS.execute(() -> DiskTaskPool.runNamed("applier-"
                                + diskName, this::loop)));
                        return; // loopScheduled stays set: the retry is this disk's one loop task
                    }
                    stall.clear();
                    if (batch.isEmpty()) {
                        continue;
                    }
                    // Runs while the previous batch may still be landing: the stage overlays it (ApplyStage,
                    // Pipelining).
                    long captureStart = System.nanoTime();
                    stage.beforeOverwrite(batch, target);
                    times.since(ApplyStageTimes.Stage.CAPTURE, captureStart);
                    if (inFlight != null) {
                        // only one batch in flight: the next capture overlays just this one
                        finish(inFlight, inFlightLast, inFlightWriteBytes);
                        inFlight = null;
                        close(inFlightLease); // landed, and this batch's capture (its last reader) returned
                        inFlightLease = null;
                    }
                    long last = batch.get(batch.size() - 1).record().seq();
                    long writeBytes = StoredRecord.writeBytes(batch);
                    captured = last;
                    if (writer != null) {
                        inFlight = writer.submit(() -> {
                            Thread me = Thread.currentThread();
                            String pooled = me.getName();
                            me.setName("applier-" + diskName + "-target"); // for thread dumps and profiles
                            try {
                                batches.write(batch);
                            } finally {
                                me.setName(pooled);
                            }
                            return null;
                        });
                        handedOver = true;
                        inFlightLast = last;
                        inFlightWriteBytes = writeBytes;
                        inFlightLease = lease;
                    } else {
                        batches.write(batch);
                        markApplied(last, writeBytes);
                    }
                } finally {
                    if (!handedOver) {
                        close(lease);
                    }
                }
                lock.lock();
                try {
                    newData = true; // there may be more than one batch's worth durable
                } finally {
                    lock.unlock();
                }
            }
            if (inFlight != null) {
                finish(inFlight, inFlightLast, inFlightWriteBytes);
                inFlight = null;
            }
            close(inFlightLease);
            inFlightLease = null;
            over = true;
            state = State.STOPPED;
        } catch (InterruptedException e) {
            over = true;
            state = State.STOPPED;
        } catch (Throwable e) {
            over = true;
            if (stopping) {
                state = State.STOPPED; // interrupted while waiting (e.g. for retention space) because we are closing
                return;
            }
            lastError = e;
            state = State.FAILED;
            LOG.severe("applier of disk " + diskName + " failed; the ingest log keeps the writes: " + e);
            onFailure.accept(e);
        } finally {
            if (over) {
                if (inFlight != null) {
                    inFlight.cancel(false); // not started yet: never write; started: it ends on its own
                    awaitQuietly(inFlight);
                    inFlight = null;
                }
                close(inFlightLease); // the loop is over: neither the writes nor the stage read it again
                inFlightLease = null;
                lock.lock();
                try {
                    loopEnded = true; // loopScheduled stays set: no task starts again
                    ended.signalAll();
                } finally {
                    lock.unlock();
                }
            }
        }
    }

    /** The temporary shortage holding the applier, or null. */
    public String stalled() {
        return stall.current();
    }

    /** Waits for the batch in flight, then records it applied (the target is flushed by then). */
    private void finish(Future<?> inFlight, long last, long writeBytes) throws IOException, InterruptedException {
        try {
            long waitStart = System.nanoTime();
            inFlight.get();
            times.since(ApplyStageTimes.Stage.TARGET_WAIT, waitStart);
        } catch (ExecutionException e) {
            throw Failures.rethrow(e.getCause(), "target writer of " + diskName);
        }
        markApplied(last, writeBytes);
    }

    /** {@code writeBytes}: the batch's write bytes, counted applied before the log's listeners hear of it. */
    private void markApplied(long last, long writeBytes) throws IOException {
        appliedWriteBytes += writeBytes; // the apply loop is the only writer
        log.markApplied(last);
        appliedSeq = last;
        stage.landed(last);
    }

    private static void close(DirectPayloadBuffers.Lease lease) {
        if (lease != null) {
            lease.close();
        }
    }

    private static void awaitQuietly(Future<?> f) {
        try {
            f.get();
        } catch (Exception ignored) {
            // the failure that got us here is the one reported
        }
    }

    /**
     * Uncompressed bytes of the writes applied to the target since this applier started: the same unit as the
     * bytes received (the ingest log's own bytes are compressed and framed), so applied and received rates compare.
     */
    public long appliedWriteBytes() {
        return appliedWriteBytes;
    }

    /** A read of the target that no batch's writes interleave with. */
    @FunctionalInterface
    public interface TargetRead {
        void read(BlockDevice target) throws IOException;
    }

    /**
     * Runs {@code read} between two batches' target writes and returns the seq the target then reflects (every
     * record up to it written, none after). Keep reads short (a MiB or so): the applier waits meanwhile. Reads of
     * several threads run at once (a waiting batch goes first once they end: the lock is not barged by new readers
     * while a writer waits). Thread-safe.
     */
    public long readBetweenBatches(TargetRead read) throws IOException {
        return batches.readBetween(read);
    }

    /** Asks the applier to stop after its current batch without waiting (see {@link #close()}). */
    public void requestStop() {
        lock.lock();
        try {
            stopping = true;
            scheduleLoop(); // an idle loop runs once more to end (it lands nothing: nothing is in flight)
        } finally {
            lock.unlock();
        }
    }

    /** Stops after the current batch and waits (up to 30 s) for the loop to end. */
    @Override
    public void close() {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        lock.lock();
        try {
            stopping = true;
            scheduleLoop();
            while (!loopEnded) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    LOG.warning("applier of disk " + diskName + " did not stop within 30 s; closing without it");
                    return;
                }
                ended.awaitNanos(left);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            lock.unlock();
        }
    }
}
