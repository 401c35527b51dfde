package io.mtagent.agent.ingest;

import io.mtagent.agent.log.AppliedPoint;
import io.mtagent.agent.log.AtomicFile;
import io.mtagent.agent.log.Checkpoint;
import io.mtagent.agent.log.CleanMarker;
import io.mtagent.agent.log.DirectoryLock;
import io.mtagent.agent.log.LogFileNames;
import io.netty.buffer.ByteBuf;
import java.io.Closeable;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalInt;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.LongConsumer;

/**
 * One disk's ingest log on the cache volume: the redo log every received write lands in before it is
 * acknowledged (docs/ARCHITECTURE.md, "Write path"). A facade over classes with one job each:
 * <ul>
 *   <li>{@link GroupCommitWriter}: admission ({@link #offer}) and group commit; <b>a record is reported durable
 *       ({@link Listener#onDurable}, {@link #lastDurableSeq()}, {@link #flush()}) only after the segment holding it
 *       was fdatasync'd</b>, and for a new segment after the file and its directory were fsync'd; the session acks
 *       only from {@code onDurable}, so an acknowledged write survives kill -9 and power loss;</li>
 *   <li>{@link IngestSegments} and {@link SegmentFiles}: the segment lifecycle, checkpoints, spare segments;</li>
 *   <li>{@link IngestRecovery}: open (scan under the torn-tail/corruption rule, or the clean-shutdown shortcut);</li>
 *   <li>{@link IngestReader}: verified reads of durable records;</li>
 *   <li>{@link AppliedProgress}: the applied point, persisted before any segment is deleted;</li>
 *   <li>{@link IngestIndex}: the bookkeeping and the queries.</li>
 * </ul>
 * Formats: segments, records, checkpoint, applied point and clean marker are specified in the shared log layer
 * ({@code io.mtagent.agent.log}) and {@link SegmentFormat}.
 *
 * <h2>Clean shutdown</h2>
 * {@link #close} without a writer failure ends with the {@code clean} marker ({@link CleanMarker}), written
 * atomically after the final sync and checkpoint: it holds the segment list and the index of the unapplied
 * records, so the next {@link #open} can skip the scan ({@link IngestRecovery} says when it may).
 *
 * <h2>Threads</h2>
 * {@link #offer} is called from network event loops and never blocks on I/O; the writer runs on a pooled thread;
 * one applier thread calls {@link #readDurable} and {@link #markApplied}; the queries are thread-safe.
 */
public final class IngestLog implements Closeable {
    /** Callbacks; run on the writer thread (durable, failure) or the applier thread (applied). Keep them short. */
    public interface Listener {
        default void onDurable(long durableSeq) { }
        default void onApplied(long appliedSeq) { }
        default void onFailure(IOException e) { }
    }

    private final Path dir;
    private final List<Listener> listeners = new CopyOnWriteArrayList<>();
    private final IngestIndex index = new IngestIndex();
    private final IngestSegments segments;
    private final SegmentFiles files;
    private final GroupCommitWriter writer;
    private final IngestReader reader;
    private final AppliedProgress applied;
    private final IngestRecovery recovery;
    private DirectoryLock dirLock;

    private IngestLog(Path dir, String name, IngestLogOptions options) {
        this.dir = dir;
        this.files = SegmentFiles.of(dir, options.spareSegments());
        this.segments = new IngestSegments(dir, name, index, files);
        this.writer = new GroupCommitWriter(name, options, index, segments, listeners);
        this.reader = new IngestReader(dir, index);
        this.applied = new AppliedProgress(dir, name, index, segments, files, reader, listeners);
        this.recovery = new IngestRecovery(dir, name, index, segments);
    }

    /** Opens (creating if needed) and recovers the log in {@code dir}; its writer starts with the first offer. */
    public static IngestLog open(Path dir, String diskName, IngestLogOptions options) throws IOException {
        AtomicFile.createDirectories(dir); // durably: a power cut must not take the whole log's directory
        DirectoryLock lock = DirectoryLock.acquire(dir);
        IngestLog log = new IngestLog(dir, diskName, options);
        log.dirLock = lock;
        try {
            log.recovery.recover(log.files);
            log.applied.recovered(log.index.appliedSeq);
        } catch (IOException | RuntimeException e) {
            log.closeChannels();
            throw e;
        }
        return log;
    }

    /** Removes the clean-shutdown marker so the next {@link #open} scans every record (verify, repair). */
    public static void forgetCleanShutdown(Path dir) throws IOException {
        Files.deleteIfExists(dir.resolve(LogFileNames.CLEAN));
    }

    // ------------------------------------------------------------------ writing

    /**
     * Classifies and, if new, queues the record. Never blocks on I/O. Takes ownership of {@code payload}
     * (released in every case). WRITE needs a payload, TAG none.
     */
    public OfferResult offer(IngestRecord rec, ByteBuf payload) {
        return offer(rec, payload, false);
    }

    /**
     * As {@link #offer(IngestRecord, ByteBuf)}; {@code payloadCrcChecked} says the caller has verified that an
     * uncompressed WRITE payload's CRC-32C is {@code rec.crc32c()} (the session does, before it offers). The
     * writer then derives the record CRC from it instead of a second pass over the payload. A caller that says so
     * wrongly gets records that never verify (the applier fails the disk, a restart treats them as damage): never
     * a wrong record taken for a good one.
     */
    public OfferResult offer(IngestRecord rec, ByteBuf payload, boolean payloadCrcChecked) {
        return writer.offer(rec, payload, payloadCrcChecked);
    }

    /** Blocks until every record offered before this call is durable and its listeners ran. */
    public void flush() throws IOException, InterruptedException {
        writer.flush();
    }

    /** The temporary shortage that holds the writer, or null. */
    public String stalled() {
        return writer.stalled();
    }

    /** Test seam: runs on the writer thread right before each group commit's fdatasync. */
    void setBeforeGroupSync(Runnable hook) {
        writer.setBeforeGroupSync(hook);
    }

    public void addListener(Listener l) {
        listeners.add(l);
    }

    /**
     * Receives the duration in nanoseconds of every group-commit fdatasync, on the writer thread (keep it short).
     * A plain {@code LongConsumer} keeps the log free of any metrics library.
     */
    public void setSyncListener(LongConsumer listener) {
        writer.setSyncListener(listener);
    }

    // ------------------------------------------------------------------ applier side

    /** {@link #readDurable(long, int, DirectPayloadBuffers.Lease)} with every payload on the heap. */
    public List<StoredRecord> readDurable(long afterSeq, int maxBytes) throws IOException {
        return readDurable(afterSeq, maxBytes, null);
    }

    /**
     * Durable records with seq &gt; {@code afterSeq}, in order, up to about {@code maxBytes} counting each record
     * as the larger of its stored and its decompressed size (at least one record if any): the applier and its
     * journaling stage hold a batch decompressed, so a highly compressible stream must not make a batch of
     * {@code maxBytes} stored turn into many times that on the heap.
     * Payloads are as stored (compressed when flagged): a write's in a direct buffer from {@code lease} when the
     * lease takes a batch of this size ({@link DirectPayloadBuffers.Lease#takesBatchOf}) and has room (one
     * scattering read puts the payload at the aligned buffer's start; valid until the lease is closed), else, and
     * always for tags or without a lease, in a byte array. Every record is verified either way.
     * Applier thread only.
     */
    public List<StoredRecord> readDurable(long afterSeq, int maxBytes, DirectPayloadBuffers.Lease lease)
            throws IOException {
        return reader.readDurable(afterSeq, maxBytes, lease);
    }

    /**
     * Everything ≤ {@code seq} is on the target and the target is flushed: frees the backlog, deletes segments
     * that hold nothing newer, and persists the applied point — always before a segment is deleted (a restart
     * must never need a deleted record), otherwise at most once a second ({@link AppliedProgress}).
     * Applier thread only.
     */
    public void markApplied(long seq) throws IOException {
        applied.markApplied(seq);
    }

    /**
     * Persists the applied point now rather than at the next interval. Call it only while the applier is idle
     * (paused or stopped): a rollback does, before it changes the target, so that a restart after it never
     * re-applies on the rolled-back target writes that were applied before (and whose branch a commit discards).
     */
    public void persistAppliedNow() throws IOException {
        applied.persistNow();
    }

    /**
     * Online verify: re-reads every durable, not yet applied record (record CRC, incarnation, and for writes the
     * uncompressed data's CRC-32C) with its own file handles, beside the applier. Records the applier finishes
     * meanwhile may vanish with their segment; they are skipped, not reported.
     *
     * @return null when everything verifies, else "file at offset: reason"
     */
    public String verifyUnapplied(LongConsumer progress) throws IOException {
        return reader.verifyUnapplied(progress);
    }

    /**
     * Durable records with {@code afterSeq < seq <= throughSeq}, in order, read with this call's own file handles
     * (any thread; point-in-time views beyond the applied point). Returns null when a record of the range is no
     * longer held (the applier applied it and its segment went): the caller retries from the newer applied point.
     */
    public List<StoredRecord> readRange(long afterSeq, long throughSeq) throws IOException {
        return reader.readRange(afterSeq, throughSeq);
    }

    // ------------------------------------------------------------------ queries (thread-safe)

    /** Durable tags not yet applied (seq &gt; max(afterSeq, applied)), oldest first. */
    public List<IngestRecord> durableTagsAfter(long afterSeq) {
        return index.durableTagsAfter(afterSeq);
    }

    /** The largest durable, not yet applied seq whose source time is ≤ {@code timestampMicros}; 0 if none. */
    public long durableSeqAtOrBefore(long timestampMicros) {
        return index.durableSeqAtOrBefore(timestampMicros);
    }

    /** The applied point and its source time (-1 when unknown). */
    public AppliedPoint appliedPoint() {
        return index.appliedPoint();
    }

    /**
     * Source time of the newest durable record: of the newest unapplied one the log holds, else of the applied
     * point (persisted with it, so known after a restart even when every segment was applied and deleted); -1
     * when unknown (an empty log, or one written before the applied point carried its time and fully applied).
     */
    public long newestDurableTimestampMicros() {
        return index.newestDurableTimestampMicros();
    }

    /** Source time of a held (not yet applied) record, or -1. */
    public long timestampOf(long seq) {
        return index.timestampOf(seq);
    }

    /** CRC of a record still held (seq &gt; applied), for re-send comparison. */
    public OptionalInt crcOf(long seq) {
        return index.crcOf(seq);
    }

    /** Ingest-log bytes (record framing included) applied and freed since this log was opened. */
    public long appliedBytes() {
        return index.get(i -> i.appliedBytes);
    }

    public long lastAcceptedSeq() {
        return index.get(i -> i.lastAccepted);
    }

    public long lastDurableSeq() {
        return index.get(i -> i.durableSeq);
    }

    public long appliedSeq() {
        return index.get(i -> i.appliedSeq);
    }

    /** Bytes of records accepted but not yet applied (record framing included). */
    public long backlogBytes() {
        return index.get(i -> i.backlogBytes);
    }

    /** The failure that stopped the writer, or null. */
    public IOException failure() {
        return index.failure();
    }

    /** Number of segment files (for tests and status). */
    public int segmentCount() {
        return (int) index.get(i -> i.segments.size());
    }

    public Path directory() {
        return dir;
    }

    /** True if {@link #open} found a valid clean-shutdown marker and skipped the scan. */
    public boolean recoveredClean() {
        return recovery.recoveredClean();
    }

    /** Records read and verified by the recovery scan at open (0 after a clean shutdown). */
    public long recoveryScannedRecords() {
        return recovery.scannedRecords();
    }

    // ------------------------------------------------------------------ close

    /** Writes what is queued, syncs, checkpoints and stops the writer. */
    @Override
    public void close() throws IOException {
        if (!writer.stopAndWait()) {
            return;
        }
        try {
            if (failure() == null && segments.isOpen()) {
                segments.cutAtEnd(); // the clean marker holds only if the file ends at the checkpoint
                segments.writeCheckpoint();
                applied.persistNow(); // the applier has stopped: its last point, before the marker vouches
                writeCleanMarker();
            }
        } finally {
            closeChannels();
        }
    }

    /** After the final sync and checkpoint (writer stopped): vouch for the files as they are now. */
    private void writeCleanMarker() throws IOException {
        List<CleanMarker.SegmentInfo> segs = new ArrayList<>();
        List<CleanMarker.EntryInfo> entries = new ArrayList<>();
        long appliedSeq;
        long durable;
        index.lock.lock();
        try {
            appliedSeq = index.appliedSeq;
            durable = index.durableSeq;
            for (IngestIndex.Segment seg : index.segments.values()) {
                segs.add(new CleanMarker.SegmentInfo(seg.index, seg.incarnation, seg.lastSeq));
            }
            for (int i = index.head; i < index.entries.size(); i++) {
                IngestIndex.Entry e = index.entries.get(i);
                entries.add(new CleanMarker.EntryInfo(e.crc, e.tag, e.length, e.segment, e.position,
                        e.timestampMicros));
            }
        } finally {
            index.lock.unlock();
        }
        Checkpoint cp = new Checkpoint(segments.current().index, segments.position(), durable);
        CleanMarker.write(dir.resolve(LogFileNames.CLEAN), new CleanMarker(cp, appliedSeq, segs, entries));
    }

    private void closeChannels() throws IOException {
        try {
            segments.close();
            reader.close();
        } finally {
            if (dirLock != null) {
                dirLock.close();
                dirLock = null;
            }
        }
    }
}
