package io.mtagent.agent.ingest;

import io.mtagent.agent.log.SegmentHeader;
import io.netty.buffer.ByteBuf;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.function.LongConsumer;

/**
 * The ingest log's admission and group commit: {@link #offer} queues a record (never blocking on I/O), and the
 * writer task writes every queued record (up to {@code commitMaxBytes}) and then syncs once, so one fdatasync covers
 * all writes that arrived while the previous one ran.
 *
 * <h2>Durability promise</h2>
 * A record is reported durable ({@link IngestLog.Listener#onDurable}, the index's durable point, {@link #flush})
 * only after the segment holding it was fdatasync'd ({@link IngestSegments#sync}), and for a new segment after the
 * file and its directory were fsync'd. The session acknowledges a sequence number only from {@code onDurable}, so
 * an acknowledged write survives kill -9 and power loss.
 *
 * <h2>Threads</h2>
 * The writer is a task on a pooled thread ({@link DiskTaskPool}, named "ingest-&lt;disk&gt;" while it runs):
 * {@link #offer} starts it when records arrive and none runs, it writes and syncs until the queue is empty, then
 * gives the thread back. At most one writer task runs per log ({@code writerScheduled}, under the index lock), so
 * "writer thread" means whichever pooled thread runs it; the lock's hand-over orders one task's writes before the
 * next task's. A temporary shortage ({@link Shortage}) keeps the batch and retries it later: nothing becomes durable
 * meanwhile, so no ACK and no credit go out (back-pressure).
 */
final class GroupCommitWriter {
    /**
     * Group commits under way at once, all logs together. A quiet log holds no thread and a busy one holds one
     * while it commits; when more logs have work, each hands its thread over after a commit (round robin). A
     * group commit never waits for another log, so a bound cannot deadlock; it keeps a stalled device from
     * holding a thread (and its stack) per disk.
     */
    static final int WRITER_THREADS = 32;
    private static final ThreadPoolExecutor WRITERS = DiskTaskPool.bounded("ingest-writer", WRITER_THREADS);

    /**
     * A queued record. {@code crcChecked}: an uncompressed payload whose CRC-32C is known to be
     * {@code record.crc32c()}; {@code heldBytes}: what the offer counted in {@link IngestMemory}.
     */
    private record Pending(IngestRecord record, ByteBuf payload, byte[] name, IngestIndex.Entry entry,
                           boolean crcChecked, int heldBytes) {
    }

    private final String name;
    private final IngestLogOptions options;
    private final IngestIndex index;
    private final IngestSegments segments;
    private final List<IngestLog.Listener> listeners;
    private volatile LongConsumer syncListener = n -> { };
    /** Test seam: runs right before each group commit's fdatasync (a test holds the sync to prove no early ACK). */
    private volatile Runnable beforeGroupSync = () -> { };

    // Guarded by index.lock.
    private final ArrayDeque<Pending> queue = new ArrayDeque<>();
    /** A writer task is queued or running: the next one starts only after it cleared this (one at a time). */
    private boolean writerScheduled;

    // Writer thread only.
    private final RecordWriter recordWriter = new RecordWriter();
    private final List<Pending> batch = new ArrayList<>();
    /**
     * A temporary shortage stopped the batch: it is written again, from {@code resumeSeq} at {@code resumePosition}
     * of the current segment (records before resumeSeq were synced by a roll), after the next segment is started if
     * a roll closed the last one ({@code segmentPending}) and the checkpoint written if the roll's was not
     * ({@code checkpointPending}).
     */
    private boolean retrying;
    private long resumeSeq;
    private long resumePosition;
    private boolean segmentPending;
    private boolean checkpointPending;
    private final Shortage.Stall stall;

    GroupCommitWriter(String name, IngestLogOptions options, IngestIndex index, IngestSegments segments,
                      List<IngestLog.Listener> listeners) {
        this.name = name;
        this.options = options;
        this.index = index;
        this.segments = segments;
        this.listeners = listeners;
        this.stall = new Shortage.Stall("ingest log " + name);
    }

    /** Writer tasks waiting for a pooled thread, all logs together (a bound reached shows here). */
    static int waitingWriters() {
        return WRITERS.getQueue().size();
    }

    /** Writer tasks running, all logs together. */
    static int runningWriters() {
        return WRITERS.getActiveCount();
    }

    void setSyncListener(LongConsumer listener) {
        this.syncListener = listener == null ? n -> { } : listener;
    }

    void setBeforeGroupSync(Runnable hook) {
        this.beforeGroupSync = hook;
    }

    /** See {@link IngestLog#offer(IngestRecord, ByteBuf, boolean)}. */
    OfferResult offer(IngestRecord rec, ByteBuf payload, boolean payloadCrcChecked) {
        boolean startWriter = false;
        index.lock.lock();
        try {
            if (index.failure != null || index.closing) {
                release(payload);
                return OfferResult.CLOSED;
            }
            long seq = rec.seq();
            if (seq <= index.lastAccepted) {
                IngestIndex.Entry e = index.entry(seq);
                release(payload);
                if (e == null || (e.crc == rec.crc32c() && e.tag == (rec.type() == IngestRecord.Type.TAG))) {
                    return OfferResult.DUPLICATE;
                }
                return OfferResult.CONFLICT;
            }
            if (seq != index.lastAccepted + 1) {
                release(payload);
                return OfferResult.GAP;
            }
            byte[] nameBytes = rec.type() == IngestRecord.Type.TAG
                    ? rec.tagName().getBytes(StandardCharsets.UTF_8) : null;
            int payloadLength = nameBytes != null ? nameBytes.length : payload.readableBytes();
            int length = SegmentFormat.recordLength(payloadLength);
            IngestIndex.Entry e = new IngestIndex.Entry(rec, length);
            index.entries.add(e);
            int held = payload != null ? payload.readableBytes() : 0;
            queue.addLast(new Pending(rec, payload, nameBytes, e,
                    payloadCrcChecked && nameBytes == null && !rec.compressed(), held));
            index.lastAccepted = seq;
            index.backlogBytes += length;
            options.memory().hold(held);
            if (!writerScheduled) {
                writerScheduled = true;
                startWriter = true;
            }
        } finally {
            index.lock.unlock();
        }
        if (startWriter) {
            startWriter(); // outside the lock: handing over to (or creating) a pooled thread takes a moment
        }
        return OfferResult.ACCEPTED;
    }

    private void startWriter() {
        try {
            WRITERS.execute(() -> DiskTaskPool.runNamed("ingest-" + name, this::writeQueued));
        } catch (RuntimeException | OutOfMemoryError e) { // no thread to be had: nothing queued can become durable
            fail(new IOException("ingest log " + name + ": cannot start its writer: " + e, e));
        }
    }

    private static void release(ByteBuf b) {
        if (b != null) {
            b.release();
        }
    }

    /**
     * The writer task: group commits until the queue is empty, then clears {@code writerScheduled} (under the lock,
     * so an offer racing with the end either is taken by this task or starts the next one) and returns. When other
     * logs' tasks wait for a thread, it requeues itself after a commit instead ({@code writerScheduled} stays set).
     */
    private void writeQueued() {
        boolean first = true;
        while (true) {
            boolean handOver = false;
            index.lock.lock();
            try {
                if (retrying && index.closing) {
                    abandonStalled();
                    return;
                }
                if (!retrying && queue.isEmpty()) {
                    writerScheduled = false;
                    index.writerIdle.signalAll();
                    return;
                }
                if (!first && DiskTaskPool.othersWaiting(WRITERS)) {
                    handOver = true; // writerScheduled stays set: the requeued task is this log's one writer
                } else { // (a retried batch takes on what queued meanwhile, up to the same bound)
                    long bytes = 0;
                    while (!queue.isEmpty() && (batch.isEmpty() || bytes < options.commitMaxBytes())) {
                        Pending p = queue.pollFirst();
                        bytes += p.entry().length;
                        batch.add(p);
                    }
                }
            } finally {
                index.lock.unlock();
            }
            if (handOver) {
                startWriter(); // to the back of the pool's queue, outside the lock
                return;
            }
            first = false;
            if (!commitBatch()) {
                return;
            }
        }
    }

    /** One group commit of {@code batch}; false when the task must end (a shortage holds it, or the log failed). */
    private boolean commitBatch() {
        if (!retrying) {
            resumeSeq = batch.get(0).record().seq();
            resumePosition = segments.position();
        }
        boolean keepBatch = false;
        try {
            if (segmentPending) {
                segments.start(segments.current().index + 1, resumeSeq);
                segmentPending = false;
                resumePosition = segments.position();
            }
            if (checkpointPending) {
                segments.writeCheckpoint();
                checkpointPending = false;
            }
            segments.rewindTo(resumePosition); // after a shortage: the batch's records are written over
            for (Pending p : batch) {
                if (p.record().seq() >= resumeSeq) {
                    append(p);
                }
            }
            long last = batch.get(batch.size() - 1).record().seq();
            long syncStart = System.nanoTime();
            beforeGroupSync.run();
            segments.sync();
            syncListener.accept(System.nanoTime() - syncStart);
            publishDurable(last); // only now: the fdatasync above covers every record up to last
            stall.clear();
            segments.checkpointIfDue(options.checkpointIntervalMillis());
            return true;
        } catch (IOException | RuntimeException e) {
            String shortage = Shortage.of(e);
            if (shortage != null) {
                keepBatch = true;
                retrying = true;
                stall.hold(shortage, this::startWriter);
                return false; // writerScheduled stays set: the retry is this log's one writer
            }
            fail(e instanceof IOException ioe ? ioe : new IOException("ingest log writer of " + name + " failed", e));
            return false;
        } catch (Error e) { // a dedicated thread would have died here: the log must not wait for it forever
            fail(new IOException("ingest log writer of " + name + " failed: " + e, e));
            throw e;
        } finally {
            if (!keepBatch) {
                retrying = false;
                options.memory().release(releaseAll(batch));
            }
        }
    }

    /** Releases the payloads of {@code pending} and clears it; returns the bytes they held. */
    private static long releaseAll(Collection<Pending> pending) {
        long held = 0;
        for (Pending p : pending) {
            held += p.heldBytes();
            release(p.payload());
        }
        pending.clear();
        return held;
    }

    /** The temporary shortage that holds the writer, or null. */
    String stalled() {
        return stall.current();
    }

    /**
     * Under the lock: the log closes while a shortage holds its writer. What was not made durable was never
     * acknowledged, so it is dropped; without a clean marker the next start scans the log.
     */
    private void abandonStalled() {
        index.failure = new IOException("ingest log " + name + " closed while its writes were held ("
                + stall.current() + "); the unacknowledged writes were dropped");
        long dropped = releaseAll(batch) + releaseAll(queue);
        retrying = false;
        writerScheduled = false;
        index.writerIdle.signalAll();
        index.synced.signalAll();
        options.memory().release(dropped);
    }

    /** Everything up to {@code last} is synced: tell the waiters and the listeners (the session acks from there). */
    private void publishDurable(long last) {
        index.lock.lock();
        try {
            index.durableSeq = last;
            segments.current().lastSeq = last;
        } finally {
            index.lock.unlock();
        }
        for (IngestLog.Listener l : listeners) {
            l.onDurable(last);
        }
        index.lock.lock();
        try {
            index.notifiedSeq = last;
            index.synced.signalAll();
        } finally {
            index.lock.unlock();
        }
    }

    /** Ends the log's writing for good: nothing queued is written, waiters wake, no writer task starts again. */
    private void fail(IOException e) {
        long dropped;
        index.lock.lock();
        try {
            index.failure = e;
            dropped = releaseAll(queue);
            writerScheduled = false; // offers are refused from now on, so none starts another task
            index.writerIdle.signalAll();
            index.synced.signalAll();
        } finally {
            index.lock.unlock();
        }
        options.memory().release(dropped);
        for (IngestLog.Listener l : listeners) {
            l.onFailure(e);
        }
    }

    private void append(Pending p) throws IOException {
        int payloadLength = p.name() != null ? p.name().length : p.payload().readableBytes();
        int length = p.entry().length;
        if (segments.position() + length > options.segmentBytes()
                && segments.position() > SegmentHeader.LENGTH) {
            roll(p.record().seq());
        }
        IngestIndex.Segment current = segments.current();
        ByteBuffer[] payload = p.name() != null ? new ByteBuffer[] {ByteBuffer.wrap(p.name())}
                : p.payload().nioBuffers();
        long pos = segments.position();
        recordWriter.write(segments.channel(), pos, current.incarnation, p.record(), payload, payloadLength,
                p.crcChecked(), length);
        segments.advance(length);
        index.lock.lock();
        try {
            p.entry().segment = current.index;
            p.entry().position = pos;
        } finally {
            index.lock.unlock();
        }
    }

    /** Closes the current segment (cut, synced) and starts the next one; the checkpoint then moves past it. */
    private void roll(long nextSeq) throws IOException {
        segments.closeCurrent(); // before the next segment exists: a scan that sees the next one sees this one cut
        index.lock.lock();
        try {
            // The closing segment holds everything before nextSeq: it may be deleted only once that is applied.
            segments.current().lastSeq = nextSeq - 1;
        } finally {
            index.lock.unlock();
        }
        // From here a shortage resumes the batch at nextSeq (what came before is synced in the closed segment).
        resumeSeq = nextSeq;
        segmentPending = true;
        segments.start(segments.current().index + 1, nextSeq);
        segmentPending = false;
        resumePosition = segments.position();
        checkpointPending = true;
        segments.writeCheckpoint();
        checkpointPending = false;
    }

    /** Blocks until every record offered before this call is durable and its listeners ran. */
    void flush() throws IOException, InterruptedException {
        index.lock.lock();
        try {
            long target = index.lastAccepted;
            while (index.notifiedSeq < target) {
                if (index.failure != null) {
                    throw index.failure;
                }
                if (stall.current() != null) {
                    throw new IOException("ingest log " + name + " cannot make its writes durable now: "
                            + stall.current());
                }
                index.synced.await(100, TimeUnit.MILLISECONDS);
            }
        } finally {
            index.lock.unlock();
        }
    }

    /**
     * Refuses offers from now on and waits until the writer task under way has written what is queued and ended
     * (its final sync must come before the cut and the clean marker). False when already closing.
     */
    boolean stopAndWait() {
        index.lock.lock();
        try {
            if (index.closing) {
                return false;
            }
            index.closing = true;
            while (writerScheduled) {
                index.writerIdle.awaitUninterruptibly();
            }
            return true;
        } finally {
            index.lock.unlock();
        }
    }
}
