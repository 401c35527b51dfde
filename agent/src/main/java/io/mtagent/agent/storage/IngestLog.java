package io.mtagent.agent.storage;

import io.mtagent.protocol.Crc32cCombine;
import io.netty.buffer.ByteBuf;
import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.SecureRandom;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.TreeMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.function.LongConsumer;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.stream.Stream;
import java.util.zip.CRC32C;

/**
 * One disk's ingest log on the cache volume: the redo log every received write lands in before it is
 * acknowledged (DESIGN.md write path §4). Format: {@link SegmentFormat}.
 *
 * <h2>Durability promise</h2>
 * A record is reported durable ({@link Listener#onDurable}, {@link #lastDurableSeq()}, {@link #flush()}) only
 * after the segment holding it was fdatasync'd, and for a new segment after the file and its directory were
 * fsync'd. The session acknowledges a sequence number only from {@code onDurable}, so an acknowledged write
 * survives kill -9 and power loss. Group commit: the writer writes every queued record (up to
 * {@code commitMaxBytes}) and then syncs once, so one fdatasync covers all writes that arrived while the previous
 * one ran.
 *
 * <h2>Recovery</h2>
 * {@link #open} scans the segments. The {@code checkpoint} file (segment, offset, seq; written atomically at
 * every segment roll, at close and at most once a second) says how far the log was known synced: a record that
 * does not verify <em>after</em> it is a torn tail and is truncated away automatically (a power cut must never
 * stop the agent from starting); one <em>before</em> it is corruption: {@link CorruptLogException}, fixed with
 * {@link IngestLogRepair}. The in-memory index (seq → segment, position, CRC) is rebuilt from the records.
 *
 * <h2>Clean shutdown</h2>
 * {@link #close} without a writer failure ends with the {@code clean} marker ({@link CleanMarker}), written
 * atomically after the final sync and checkpoint: it holds the segment list and the index of the unapplied
 * records. {@link #open} trusts it only if it verifies and matches the checkpoint, the applied point and the
 * segment files exactly (the current segment ends at the checkpoint: nothing was written after it); then it
 * skips the scan. Either way the marker is deleted (and the directory synced) before anything is appended, so
 * a crash later can never make a stale marker look valid. Without a valid marker the scan runs, under exactly
 * the torn-tail/corruption rules above. Skipping the scan means damage to the files while the agent was stopped
 * (bit rot, a stray write) is found when the applier reads the record (it re-verifies every record: the disk
 * fails with the reason) rather than at start; {@code mtagent verify} calls {@link #forgetCleanShutdown} first,
 * so it always reads every record.
 *
 * <h2>Spare segments</h2>
 * A segment whose records are all applied is not deleted while fewer than {@code spareSegments} are kept: it is
 * renamed {@code spare-<name>.seg} (never a segment name, so no scan reads it), and the next segment is written
 * over it. Why: appending to a new file makes every group commit's fdatasync also commit the file system's block
 * allocation, and deleting a file makes a {@code discard}-mounted volume trim its blocks; overwriting allocated
 * blocks does neither (seq-1m through one disk: 1.25× with a spare, bench/RESULTS.md). What keeps it safe:
 * <ul>
 *   <li>the new header (a new random incarnation) is written and synced before the file takes the segment's name,
 *       so a file under a segment name always carries that segment's header;</li>
 *   <li>the old records left past the new segment's end carry the old incarnation, so they never verify as the
 *       new segment's: after a crash they end the scan like any torn tail (after the checkpoint, never acked);</li>
 *   <li>a segment is cut at its last record and synced before the next one exists ({@code roll}), and the current
 *       one at a clean close, so a closed segment ends exactly at its last record as a never-reused one does.</li>
 * </ul>
 *
 * <h2>Threads</h2>
 * {@link #offer} is called from network event loops and never blocks on I/O. The writer (group commit) is a task
 * on a pooled thread ({@link DiskTaskPool}, named "ingest-&lt;disk&gt;" while it runs): {@link #offer} starts it when
 * records arrive and none runs, it writes and syncs until the queue is empty, then gives the thread back. At most
 * one writer task runs per log (the {@code writerScheduled} flag, under the lock), so "writer thread" below means
 * whichever pooled thread runs it; the lock's hand-over orders one task's writes before the next task's.
 * One applier thread calls {@link #readDurable} and {@link #markApplied}. Shared state is guarded by one lock,
 * held only for bookkeeping.
 */
public final class IngestLog implements Closeable {
    static final String CHECKPOINT_FILE = "checkpoint";
    static final String APPLIED_FILE = "applied";
    static final String RESERVE_FILE = "reserve";
    static final int RESERVE_BYTES = 64 << 10;
    static final String CLEAN_FILE = CleanMarker.FILE;
    private static final java.util.logging.Logger LOG = java.util.logging.Logger.getLogger(IngestLog.class.getName());
    private static final SecureRandom RANDOM = new SecureRandom();

    /** Callbacks; run on the writer thread (durable, failure) or the applier thread (applied). Keep them short. */
    public interface Listener {
        default void onDurable(long durableSeq) { }
        default void onApplied(long appliedSeq) { }
        default void onFailure(IOException e) { }
    }

    /** Index entry of a record with seq > applied. Position fields are written by the writer thread under the lock. */
    private static final class Entry {
        final long seq;
        final int crc;
        final boolean tag;
        final int length;
        final long timestampMicros;
        /** The record itself for tags (recovery points before they are applied); null for writes. */
        final IngestRecord tagRecord;
        long segment = -1;
        long position = -1;

        Entry(IngestRecord r, int length) {
            this.seq = r.seq();
            this.crc = r.crc32c();
            this.tag = r.type() == IngestRecord.Type.TAG;
            this.length = length;
            this.timestampMicros = r.timestampMicros();
            this.tagRecord = tag ? r : null;
        }

        /** From a clean-shutdown marker: {@code tagRecord} is the tag re-read from its segment, null for writes. */
        Entry(long seq, int crc, IngestRecord tagRecord, int length, long timestampMicros) {
            this.seq = seq;
            this.crc = crc;
            this.tag = tagRecord != null;
            this.length = length;
            this.timestampMicros = timestampMicros;
            this.tagRecord = tagRecord;
        }
    }

    /** {@code crcChecked}: an uncompressed payload whose CRC-32C is known to be {@code record.crc32c()}. */
    /** {@code heldBytes}: what the offer counted in {@link IngestMemory} (given back once written or dropped). */
    private record Pending(IngestRecord record, ByteBuf payload, byte[] name, Entry entry, boolean crcChecked,
                           int heldBytes) {
    }

    private static final class Segment {
        final long index;
        final long incarnation;
        final Path file;
        long lastSeq;

        Segment(long index, long incarnation, Path file, long lastSeq) {
            this.index = index;
            this.incarnation = incarnation;
            this.file = file;
            this.lastSeq = lastSeq;
        }
    }

    private final Path dir;
    private final String name;
    private final IngestLogOptions options;
    private final List<Listener> listeners = new CopyOnWriteArrayList<>();
    private volatile LongConsumer syncListener = n -> { };
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition synced = lock.newCondition();
    /** Signalled when a writer task ends (close waits for the last one). */
    private final Condition writerIdle = lock.newCondition();
    /**
     * Group commits under way at once, all logs together. A quiet log holds no thread and a busy one holds one
     * while it commits; when more logs have work, each hands its thread over after a commit (round robin). A
     * group commit never waits for another log, so a bound cannot deadlock; it keeps a stalled device from
     * holding a thread (and its stack) per disk: with 256 disks a stall grew the agent by 256 threads.
     */
    static final int WRITER_THREADS = 32;
    private static final ThreadPoolExecutor WRITERS = DiskTaskPool.bounded("ingest-writer", WRITER_THREADS);

    // Guarded by lock.
    private final ArrayDeque<Pending> queue = new ArrayDeque<>();
    private final ArrayList<Entry> entries = new ArrayList<>();
    private int head;
    private final TreeMap<Long, Segment> segments = new TreeMap<>();
    /** Applied segment files kept for the writer to write over (oldest first); at most options.spareSegments. */
    private final ArrayDeque<Path> spares = new ArrayDeque<>();
    private long lastAccepted;
    private long durableSeq;
    private long notifiedSeq;
    private long appliedSeq;
    /** Source time of record {@code appliedSeq}, -1 when unknown ({@link AppliedPoint}). */
    private long appliedTimestampMicros = -1;
    private long backlogBytes;
    private long appliedBytes;
    private IOException failure;
    private boolean closing;
    /** A writer task is queued or running: the next one starts only after it cleared this (one at a time). */
    private boolean writerScheduled;
    // Set by recover(): how the log was opened (for the log line, status and tests).
    private boolean recoveredClean;
    private long scannedRecords;

    // Writer thread only (after open).
    private Segment current;
    private FileChannel currentChannel;
    private long currentPosition;
    private long lastCheckpointNanos;
    private final ByteBuffer recordHeader = ByteBuffer.allocateDirect(SegmentFormat.RECORD_PREFIX_LENGTH
            + SegmentFormat.BODY_HEADER_LENGTH);
    private final ByteBuffer padding = ByteBuffer.allocateDirect(8);
    private final CRC32C crc = new CRC32C();
    private final List<Pending> batch = new ArrayList<>();
    /**
     * A temporary shortage ({@link Shortage}) stopped the batch: it is written again, from {@code resumeSeq} at
     * {@code resumePosition} of the current segment (records before resumeSeq were synced by a roll), after the
     * next segment is started if a roll closed the last one ({@code segmentPending}) and the checkpoint written if
     * the roll's was not ({@code checkpointPending}).
     */
    private boolean retrying;
    private long resumeSeq;
    private long resumePosition;
    private boolean segmentPending;
    private boolean checkpointPending;
    private final Shortage.Stall stall;

    /**
     * Test seam: runs on the writer thread right before each group commit's fdatasync, so a test can hold the sync
     * and prove that nothing is reported durable (no ACK) until it has completed.
     */
    private volatile Runnable beforeGroupSync = () -> { };

    void setBeforeGroupSync(Runnable hook) {
        this.beforeGroupSync = hook;
    }

    // Applier thread only.
    private final Map<Long, FileChannel> readChannels = new HashMap<>();
    private DirectoryLock dirLock;

    private IngestLog(Path dir, String name, IngestLogOptions options) {
        this.dir = dir;
        this.name = name;
        this.options = options;
        this.stall = new Shortage.Stall("ingest log " + name);
    }

    /** Opens (creating if needed) and recovers the log in {@code dir}; its writer starts with the first offer. */
    public static IngestLog open(Path dir, String diskName, IngestLogOptions options) throws IOException {
        AtomicFile.createDirectories(dir); // durably: a power cut must not take the whole log's directory
        DirectoryLock lock = DirectoryLock.acquire(dir);
        IngestLog log = new IngestLog(dir, diskName, options);
        log.dirLock = lock;
        try {
            log.recover();
        } catch (IOException | RuntimeException e) {
            log.closeChannels();
            throw e;
        }
        return log;
    }

    /** Removes the clean-shutdown marker so the next {@link #open} scans every record (verify, repair). */
    public static void forgetCleanShutdown(Path dir) throws IOException {
        Files.deleteIfExists(dir.resolve(CLEAN_FILE));
    }

    // ------------------------------------------------------------------ recovery

    private void recover() throws IOException {
        AppliedPoint applied = AppliedPoint.read(dir.resolve(APPLIED_FILE));
        appliedSeq = applied.seq();
        appliedTimestampMicros = applied.timestampMicros();
        persistedApplied = appliedSeq;
        Checkpoint cp = Checkpoint.read(dir.resolve(CHECKPOINT_FILE));
        List<Path> files;
        try (Stream<Path> s = Files.list(dir)) {
            files = s.filter(p -> SegmentFormat.isSegment(p.getFileName().toString())).sorted().toList();
        }
        keepSpares();
        keepReserve();
        Path cleanFile = dir.resolve(CLEAN_FILE);
        if (Files.exists(cleanFile)) {
            CleanMarker marker = CleanMarker.readIfValid(cleanFile, cp, appliedSeq, files);
            // Gone before anything is appended: only the close that writes the next marker may vouch again.
            Files.delete(cleanFile);
            AtomicFile.fsyncDirectory(dir);
            if (marker != null) {
                restoreFrom(marker, cp);
                return;
            }
            LOG.warning("ingest log " + name + ": the clean-shutdown marker does not match the files; scanning");
        }
        scanSegments(cp, files);
        LOG.info("ingest log " + name + ": no clean-shutdown marker, scanned " + scannedRecords + " records in "
                + files.size() + " segment(s)");
    }

    /** Reads one tag record (clean start: tags are few, and recovery points need their names). */
    private IngestRecord readTagAt(long segment, long position) throws IOException {
        Segment seg = segments.get(segment);
        try (FileChannel ch = FileChannel.open(seg.file, StandardOpenOption.READ)) {
            SegmentScanner.Scanned s = new SegmentScanner(ch, seg.incarnation, position).next();
            if (s == null || s.record().type() != IngestRecord.Type.TAG) {
                throw new CorruptLogException(seg.file, position, "the clean-shutdown index names a tag that is not there");
            }
            return s.record();
        }
    }

    /** After a verified clean close: the index and segment list come from the marker; only tag records are read. */
    private void restoreFrom(CleanMarker marker, Checkpoint cp) throws IOException {
        recoveredClean = true;
        for (CleanMarker.SegmentInfo si : marker.segments()) {
            segments.put(si.index(), new Segment(si.index(), si.incarnation(),
                    dir.resolve(SegmentFormat.fileName(si.index())), si.lastSeq()));
        }
        long seq = appliedSeq;
        for (CleanMarker.EntryInfo ei : marker.entries()) {
            IngestRecord tag = ei.tag() ? readTagAt(ei.segment(), ei.position()) : null;
            Entry e = new Entry(++seq, ei.crc(), tag, ei.length(), ei.timestampMicros());
            e.segment = ei.segment();
            e.position = ei.position();
            entries.add(e);
            backlogBytes += ei.length();
        }
        LOG.info("ingest log " + name + ": clean shutdown, no scan (" + entries.size() + " records await apply)");
        finishRecovery(Math.max(appliedSeq, cp.seq()), cp, cp.position());
    }

    private void scanSegments(Checkpoint cp, List<Path> files) throws IOException {
        long last = appliedSeq;
        long lastEnd = SegmentFormat.HEADER_LENGTH; // where the last kept segment's next record starts
        boolean truncatedTail = false;
        for (int i = 0; i < files.size(); i++) {
            Path file = files.get(i);
            long index = SegmentFormat.indexOf(file.getFileName().toString());
            if (truncatedTail) {
                LOG.warning("ingest log " + name + ": deleting " + file.getFileName() + " (" + Files.size(file)
                        + " bytes), which follows a torn tail");
                Files.delete(file); // everything after a torn tail is part of the tail
                continue;
            }
            boolean beforeCheckpoint = cp != null && index < cp.segment();
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
                ByteBuffer hb = ByteBuffer.allocate(SegmentFormat.HEADER_LENGTH);
                while (hb.hasRemaining() && ch.read(hb, hb.position()) > 0) {
                    // read the header
                }
                hb.flip();
                SegmentFormat.Header header = SegmentFormat.readHeader(hb);
                if (header == null || header.index() != index) {
                    if (beforeCheckpoint || (cp != null && index == cp.segment())) {
                        throw new CorruptLogException(file, 0, "segment header does not verify");
                    }
                    LOG.warning("ingest log " + name + ": deleting " + file.getFileName()
                            + ", whose header does not verify (its creation was cut short)");
                    Files.delete(file); // a segment whose creation was cut short: nothing in it was ever acked
                    truncatedTail = true;
                    continue;
                }
                SegmentScanner scanner = new SegmentScanner(ch, header.incarnation());
                Segment seg = new Segment(index, header.incarnation(), file, last);
                SegmentScanner.Scanned r;
                while ((r = scanner.next()) != null) {
                    long seq = r.record().seq();
                    if (seq <= appliedSeq) {
                        last = Math.max(last, seq);
                        if (seq == appliedSeq && appliedTimestampMicros < 0) {
                            appliedTimestampMicros = r.record().timestampMicros(); // an older applied file
                        }
                        continue;
                    }
                    if (seq != last + 1) {
                        throw new CorruptLogException(file, r.position(), "sequence " + seq + " follows " + last);
                    }
                    Entry e = new Entry(r.record(), r.length());
                    e.segment = index;
                    e.position = r.position();
                    entries.add(e);
                    backlogBytes += r.length();
                    scannedRecords++;
                    last = seq;
                }
                seg.lastSeq = last;
                if (!beforeCheckpoint) {
                    // Records after the checkpoint may have survived a kill -9 only in the page cache (written, never
                    // synced). They are about to be reported durable (re-acked on resume): sync them first.
                    ch.force(false);
                }
                if (scanner.stopReason() != null) {
                    long pos = scanner.position();
                    boolean synced = beforeCheckpoint || (cp != null && index == cp.segment() && pos < cp.position());
                    if (synced) {
                        throw new CorruptLogException(file, pos, scanner.stopReason());
                    }
                    // Torn tail: the power cut came before these bytes were synced, so nothing here was acked.
                    // (In a reused spare file the old records past the end look the same: never acked either.)
                    LOG.warning("ingest log " + name + ": torn tail in " + file.getFileName() + " at offset " + pos
                            + " (" + scanner.stopReason() + ", " + (ch.size() - pos) + " bytes after it, checkpoint "
                            + (cp == null ? "none" : cp.segment() + "@" + cp.position()) + "): truncated");
                    ch.truncate(pos);
                    ch.force(true);
                    truncatedTail = true;
                }
                lastEnd = scanner.position();
                segments.put(index, seg);
            }
        }
        if (cp != null && last < cp.seq()) {
            throw new CorruptLogException(dir.resolve(CHECKPOINT_FILE), 0, "the checkpoint says seq " + cp.seq()
                    + " was synced but the log ends at seq " + last + " (a segment file is missing or damaged)");
        }
        finishRecovery(last, cp, lastEnd);
    }

    /** @param appendAt where the last segment's next record starts (a record boundary, not the file size) */
    private void finishRecovery(long last, Checkpoint cp, long appendAt) throws IOException {
        lastAccepted = last;
        durableSeq = last;
        notifiedSeq = last;
        if (segments.isEmpty()) {
            long index = cp == null ? 1 : cp.segment() + 1;
            startSegment(index, last + 1);
        } else {
            Segment seg = segments.lastEntry().getValue();
            current = seg;
            currentChannel = FileChannel.open(seg.file, StandardOpenOption.WRITE, StandardOpenOption.READ);
            // The scanned end, not the file size: a tail torn inside the last record's padding leaves a size
            // that is not a record boundary (truncate cannot extend it), and appending there would misalign
            // every new record.
            currentPosition = appendAt;
        }
        writeCheckpoint();
    }

    /** Writes the applied-point file ({@link AppliedPoint}: seq and its source time; atomically and durably). */
    /**
     * Persists the applied point now rather than at the next interval. Call it only while the applier is idle
     * (paused or stopped): a rollback does, before it changes the target, so that a restart after it never
     * re-applies on the rolled-back target writes that were applied before (and whose branch a commit discards).
     */
    public void persistAppliedNow() throws IOException {
        persistApplied(appliedPoint());
    }

    private void persistApplied(AppliedPoint point) throws IOException {
        if (point.seq() == persistedApplied) {
            return;
        }
        point.write(dir.resolve(APPLIED_FILE));
        persistedApplied = point.seq();
        appliedPersistedAtNanos = System.nanoTime();
    }

    // ------------------------------------------------------------------ offer (event loops)

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
     * writer then derives the record CRC from it ({@link Crc32cCombine}) instead of a second pass over the
     * payload. A caller that says so wrongly gets records that never verify (the applier fails the disk, a
     * restart treats them as damage): never a wrong record taken for a good one.
     */
    public OfferResult offer(IngestRecord rec, ByteBuf payload, boolean payloadCrcChecked) {
        boolean startWriter = false;
        lock.lock();
        try {
            if (failure != null || closing) {
                release(payload);
                return OfferResult.CLOSED;
            }
            long seq = rec.seq();
            if (seq <= lastAccepted) {
                Entry e = entry(seq);
                release(payload);
                if (e == null || (e.crc == rec.crc32c() && e.tag == (rec.type() == IngestRecord.Type.TAG))) {
                    return OfferResult.DUPLICATE;
                }
                return OfferResult.CONFLICT;
            }
            if (seq != lastAccepted + 1) {
                release(payload);
                return OfferResult.GAP;
            }
            byte[] nameBytes = rec.type() == IngestRecord.Type.TAG
                    ? rec.tagName().getBytes(java.nio.charset.StandardCharsets.UTF_8) : null;
            int payloadLength = nameBytes != null ? nameBytes.length : payload.readableBytes();
            int length = SegmentFormat.recordLength(payloadLength);
            Entry e = new Entry(rec, length);
            entries.add(e);
            int held = payload != null ? payload.readableBytes() : 0;
            queue.addLast(new Pending(rec, payload, nameBytes, e,
                    payloadCrcChecked && nameBytes == null && !rec.compressed(), held));
            lastAccepted = seq;
            backlogBytes += length;
            options.memory().hold(held);
            if (!writerScheduled) {
                writerScheduled = true;
                startWriter = true;
            }
        } finally {
            lock.unlock();
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
            IOException io = new IOException("ingest log " + name + ": cannot start its writer: " + e, e);
            fail(io);
        }
    }

    private static void release(ByteBuf b) {
        if (b != null) {
            b.release();
        }
    }

    private Entry entry(long seq) {
        if (head >= entries.size()) {
            return null;
        }
        long first = entries.get(head).seq;
        long i = seq - first;
        return i < 0 || i >= entries.size() - head ? null : entries.get(head + (int) i);
    }

    // ------------------------------------------------------------------ writer thread

    /**
     * The writer task: group commits until the queue is empty, then clears {@code writerScheduled} (under the lock,
     * so an offer racing with the end either is taken by this task or starts the next one) and returns. When other
     * logs' tasks wait for a thread, it requeues itself after a commit instead ({@code writerScheduled} stays set).
     */
    private void writeQueued() {
        boolean first = true;
        while (true) {
            boolean handOver = false;
            lock.lock();
            try {
                if (retrying && closing) {
                    abandonStalled();
                    return;
                }
                if (retrying) {
                    // the batch is written again below
                } else if (queue.isEmpty()) {
                    writerScheduled = false;
                    writerIdle.signalAll();
                    return;
                }
                if (!first && DiskTaskPool.othersWaiting(WRITERS)) {
                    handOver = true; // writerScheduled stays set: the requeued task is this log's one writer
                } else {
                    long bytes = 0;
                    while (!queue.isEmpty() && (batch.isEmpty() || bytes < options.commitMaxBytes())) {
                        Pending p = queue.pollFirst();
                        bytes += p.entry().length;
                        batch.add(p);
                    }
                }
            } finally {
                lock.unlock();
            }
            if (handOver) {
                startWriter(); // to the back of the pool's queue, outside the lock
                return;
            }
            first = false;
            if (!retrying) {
                resumeSeq = batch.get(0).record().seq();
                resumePosition = currentPosition;
            }
            boolean keepBatch = false;
            try {
                if (segmentPending) {
                    startSegment(current.index + 1, resumeSeq);
                    segmentPending = false;
                    resumePosition = currentPosition;
                }
                if (checkpointPending) {
                    writeCheckpoint();
                    checkpointPending = false;
                }
                currentPosition = resumePosition; // after a shortage: the batch's records are written over
                for (Pending p : batch) {
                    if (p.record().seq() >= resumeSeq) {
                        append(p);
                    }
                }
                long last = batch.get(batch.size() - 1).record().seq();
                if (TestOnlyFaults.ACK_BEFORE_SYNC) {
                    publishDurable(last); // deliberately broken (test-only switch): acked before the fdatasync
                }
                long syncStart = System.nanoTime();
                beforeGroupSync.run();
                currentChannel.force(false);
                syncListener.accept(System.nanoTime() - syncStart);
                if (!TestOnlyFaults.ACK_BEFORE_SYNC) {
                    publishDurable(last);
                }
                stall.clear();
                if (System.nanoTime() - lastCheckpointNanos > options.checkpointIntervalMillis() * 1_000_000L) {
                    writeCheckpointIfRoom();
                }
            } catch (IOException | RuntimeException e) {
                String shortage = Shortage.of(e);
                if (shortage != null) {
                    keepBatch = true;
                    stall(shortage);
                    return; // writerScheduled stays set: the retry is this log's one writer
                }
                IOException io = e instanceof IOException ioe ? ioe
                        : new IOException("ingest log writer of " + name + " failed", e);
                fail(io);
                return;
            } catch (Error e) { // a dedicated thread would have died here: the log must not wait for it forever
                fail(new IOException("ingest log writer of " + name + " failed: " + e, e));
                throw e;
            } finally {
                if (!keepBatch) {
                    retrying = false;
                    long payloadBytes = 0;
                    for (Pending p : batch) {
                        payloadBytes += p.heldBytes();
                        release(p.payload());
                    }
                    batch.clear();
                    options.memory().release(payloadBytes);
                }
            }
        }
    }

    /**
     * A temporary shortage stopped the batch: keep it and retry with a growing delay. Nothing becomes durable
     * meanwhile, so no ACK and no credit goes out: the process servers wait (back-pressure).
     */
    private void stall(String shortage) {
        retrying = true;
        stall.hold(shortage, this::startWriter);
    }

    /** The temporary shortage that holds the writer, or null. */
    public String stalled() {
        return stall.current();
    }

    /**
     * Under the lock: the log closes while a shortage holds its writer. What was not made durable was never
     * acknowledged, so it is dropped; without a clean marker the next start scans the log.
     */
    private void abandonStalled() {
        failure = new IOException("ingest log " + name + " closed while its writes were held (" + stall.current()
                + "); the unacknowledged writes were dropped");
        long dropped = 0;
        for (Pending p : batch) {
            dropped += p.heldBytes();
            release(p.payload());
        }
        batch.clear();
        for (Pending p : queue) {
            dropped += p.heldBytes();
            release(p.payload());
        }
        queue.clear();
        retrying = false;
        writerScheduled = false;
        writerIdle.signalAll();
        synced.signalAll();
        options.memory().release(dropped);
    }

    /**
     * Keeps {@value #RESERVE_BYTES} bytes of the cache volume in {@code reserve}, given up when the volume is full
     * so the applied point can still be persisted and applied segments freed. Best effort: on a full volume it
     * waits for the next freed segment.
     */
    private void keepReserve() throws IOException {
        Path reserve = dir.resolve(RESERVE_FILE);
        if (Files.exists(reserve)) {
            return;
        }
        try {
            AtomicFile.write(reserve, new byte[RESERVE_BYTES]);
        } catch (IOException e) {
            if (Shortage.of(e) == null) {
                throw e;
            }
            Files.deleteIfExists(reserve);
        }
    }

    /** The periodic checkpoint: it only shortens the next start's scan, so a shortage just skips this one. */
    private void writeCheckpointIfRoom() throws IOException {
        try {
            writeCheckpoint();
        } catch (IOException e) {
            if (Shortage.of(e) == null) {
                throw e;
            }
            LOG.fine(() -> "ingest log " + name + ": checkpoint skipped (" + Shortage.of(e) + ")");
        }
    }

    /** Everything up to {@code last} is synced: tell the waiters and the listeners (the session acks from there). */
    private void publishDurable(long last) {
        lock.lock();
        try {
            durableSeq = last;
            current.lastSeq = last;
        } finally {
            lock.unlock();
        }
        for (Listener l : listeners) {
            l.onDurable(last);
        }
        lock.lock();
        try {
            notifiedSeq = last;
            synced.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /** Ends the log's writing for good: nothing queued is written, waiters wake, no writer task starts again. */
    private void fail(IOException e) {
        long dropped = 0;
        lock.lock();
        try {
            failure = e;
            for (Pending p : queue) {
                dropped += p.heldBytes();
                release(p.payload());
            }
            queue.clear();
            writerScheduled = false; // offers are refused from now on, so none starts another task
            writerIdle.signalAll();
            synced.signalAll();
        } finally {
            lock.unlock();
        }
        options.memory().release(dropped);
        for (Listener l : listeners) {
            l.onFailure(e);
        }
    }

    private void append(Pending p) throws IOException {
        int payloadLength = p.name() != null ? p.name().length : p.payload().readableBytes();
        int length = p.entry().length;
        if (currentPosition + length > options.segmentBytes() && currentPosition > SegmentFormat.HEADER_LENGTH) {
            roll(p.record().seq());
        }
        SegmentFormat.writeRecordHeader(recordHeader, p.record(), current.incarnation, payloadLength);
        // The payload may lie in several buffers (the network decoder hands on the decrypted TLS records a frame
        // arrived in, without gathering them): written with one gathering write, CRC'd buffer by buffer.
        ByteBuffer[] payload = p.name() != null ? new ByteBuffer[] {ByteBuffer.wrap(p.name())}
                : p.payload().nioBuffers();
        crc.reset();
        crc.update(recordHeader.duplicate().position(SegmentFormat.RECORD_PREFIX_LENGTH));
        int recordCrc;
        if (p.crcChecked()) {
            recordCrc = Crc32cCombine.combine((int) crc.getValue(), p.record().crc32c(), payloadLength);
        } else {
            for (ByteBuffer b : payload) {
                crc.update(b.duplicate());
            }
            recordCrc = (int) crc.getValue();
        }
        recordHeader.putInt(4, recordCrc);
        int pad = length - SegmentFormat.RECORD_PREFIX_LENGTH - SegmentFormat.BODY_HEADER_LENGTH - payloadLength;
        padding.clear().limit(pad);
        ByteBuffer[] parts = new ByteBuffer[payload.length + 2];
        parts[0] = recordHeader;
        System.arraycopy(payload, 0, parts, 1, payload.length);
        parts[parts.length - 1] = padding;
        long pos = currentPosition;
        long written = 0;
        while (written < length) {
            currentChannel.position(pos + written);
            written += currentChannel.write(parts);
        }
        currentPosition += length;
        lock.lock();
        try {
            p.entry().segment = current.index;
            p.entry().position = pos;
        } finally {
            lock.unlock();
        }
    }

    /**
     * Syncs the current segment, first cutting it at its last record when it is a spare written over: the old
     * records past our end must go before the segment is closed (a scan reads a closed segment to its end and takes
     * anything else there for damage) or vouched for by the clean marker. The test-only reuse fault keeps them.
     */
    private void syncCutAtEnd() throws IOException {
        if (currentChannel.size() > currentPosition && !TestOnlyFaults.REUSE_SEGMENT_INCARNATION) {
            currentChannel.truncate(currentPosition);
            currentChannel.force(true); // the size is metadata
        } else {
            currentChannel.force(false);
        }
    }

    /** Closes the current segment (synced) and starts the next one; the checkpoint then moves past it. */
    private void roll(long nextSeq) throws IOException {
        syncCutAtEnd(); // before the next segment exists: a scan that sees the next one sees this one cut
        currentChannel.close();
        lock.lock();
        try {
            // The closing segment holds everything before nextSeq: it may be deleted only once that is applied.
            current.lastSeq = nextSeq - 1;
        } finally {
            lock.unlock();
        }
        // From here a shortage resumes the batch at nextSeq (what came before is synced in the closed segment).
        resumeSeq = nextSeq;
        segmentPending = true;
        startSegment(current.index + 1, nextSeq);
        segmentPending = false;
        resumePosition = currentPosition;
        checkpointPending = true;
        writeCheckpoint();
        checkpointPending = false;
    }

    private void startSegment(long index, long firstSeq) throws IOException {
        Path file = dir.resolve(SegmentFormat.fileName(index));
        long incarnation = RANDOM.nextLong();
        Long recycled = TestOnlyFaults.REUSE_SEGMENT_INCARNATION ? takeRecycled(file) : null;
        Path spare = recycled == null ? takeSpare() : null;
        FileChannel ch;
        if (recycled != null) {
            incarnation = recycled; // deliberately broken (test-only switch): the stale records stay valid
            ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE);
        } else if (spare != null) {
            // Written over in place: its blocks are allocated, so the appends' fdatasyncs need no block
            // allocation committed. Its old records carry another incarnation and never verify as ours.
            ch = FileChannel.open(spare, StandardOpenOption.READ, StandardOpenOption.WRITE);
        } else {
            ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ,
                    StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING);
        }
        try {
            ByteBuffer h = SegmentFormat.header(incarnation, firstSeq, index);
            while (h.hasRemaining()) {
                ch.write(h, h.position());
            }
            ch.force(true);
            if (spare != null) {
                // Only after the new header is durable does the file take the segment's name, so a file found
                // under a segment name always has that segment's header (a crash before this leaves a spare).
                Files.move(spare, file, StandardCopyOption.ATOMIC_MOVE);
            }
            AtomicFile.fsyncDirectory(dir);
        } catch (IOException | RuntimeException e) {
            ch.close(); // a shortage retries this; the descriptor must not leak with each try
            throw e;
        }
        Segment seg = new Segment(index, incarnation, file, firstSeq - 1);
        lock.lock();
        try {
            segments.put(index, seg);
        } finally {
            lock.unlock();
        }
        current = seg;
        currentChannel = ch;
        currentPosition = SegmentFormat.HEADER_LENGTH;
    }

    /**
     * An applied segment's file goes: renamed to a spare when fewer than {@code spareSegments} are kept (counting
     * the {@code pending} ones this call's caller kept already), else deleted. Returns the spare, which the caller
     * hands to the writer only after syncing the directory. Applier thread, after the applied point that frees the
     * segment is persisted. Readers that still hold the file open later see the next incarnation's records and
     * skip them as applied.
     */
    private Path retire(Segment s, int pending) throws IOException {
        boolean keep;
        lock.lock();
        try {
            keep = spares.size() + pending < options.spareSegments() && !closing;
        } finally {
            lock.unlock();
        }
        if (!keep) {
            Files.deleteIfExists(s.file);
            return null;
        }
        Path spare = dir.resolve(SegmentFormat.spareFileName(s.index));
        Files.move(s.file, spare, StandardCopyOption.ATOMIC_MOVE);
        return spare;
    }

    /** The oldest spare file, taken off the list (writer thread), or null. */
    private Path takeSpare() {
        lock.lock();
        try {
            return spares.pollFirst();
        } finally {
            lock.unlock();
        }
    }

    /**
     * At open: the spare files left by the last run become this run's spares, up to {@code spareSegments} (the
     * rest, from a larger setting before, are deleted). Their contents do not matter: each is written over from a
     * new header with a new incarnation before it takes a segment's name.
     */
    private void keepSpares() throws IOException {
        List<Path> found;
        try (Stream<Path> s = Files.list(dir)) {
            found = s.filter(p -> SegmentFormat.isSpare(p.getFileName().toString())).sorted().toList();
        }
        for (Path p : found) {
            if (spares.size() < options.spareSegments()) {
                spares.addLast(p);
            } else {
                Files.delete(p);
            }
        }
    }

    /** Test-only fault: parks an applied segment in the cache volume's pool instead of deleting it. */
    private void recycle(Segment s) throws IOException {
        Path pool = Files.createDirectories(dir.toAbsolutePath().getParent().resolve(TestOnlyFaults.RECYCLED_DIR));
        Files.move(s.file, pool.resolve(Long.toHexString(s.incarnation) + "-" + System.nanoTime() + ".seg"));
        AtomicFile.fsyncDirectory(pool);
    }

    /** Test-only fault: moves a pooled segment (of any disk) to {@code file}; its old incarnation, or null. */
    private Long takeRecycled(Path file) throws IOException {
        Path pool = dir.toAbsolutePath().getParent().resolve(TestOnlyFaults.RECYCLED_DIR);
        if (!Files.isDirectory(pool)) {
            return null;
        }
        List<Path> spares;
        try (Stream<Path> s = Files.list(pool)) {
            spares = s.sorted().toList();
        }
        for (Path spare : spares) {
            try {
                Files.move(spare, file);
            } catch (java.nio.file.NoSuchFileException | java.nio.file.FileAlreadyExistsException raced) {
                continue; // another disk's writer took it
            }
            AtomicFile.fsyncDirectory(pool);
            String name = spare.getFileName().toString();
            return Long.parseUnsignedLong(name.substring(0, name.indexOf('-')), 16);
        }
        return null;
    }

    /** Records how far the log is synced: only ever called right after a force of everything before it. */
    private void writeCheckpoint() throws IOException {
        long seq;
        lock.lock();
        try {
            seq = durableSeq;
        } finally {
            lock.unlock();
        }
        Checkpoint.write(dir.resolve(CHECKPOINT_FILE), new Checkpoint(current.index, currentPosition, seq));
        lastCheckpointNanos = System.nanoTime();
    }

    // ------------------------------------------------------------------ applier side

    // Applier thread only (readDurable): the reusable read buffers, the CRC and the last failure's reason.
    private final ByteBuffer[] readScratch = new ByteBuffer[1];
    private final ByteBuffer readHeader =
            ByteBuffer.allocateDirect(SegmentFormat.RECORD_PREFIX_LENGTH + SegmentFormat.BODY_HEADER_LENGTH);
    private final CRC32C readCrc = new CRC32C();
    private final String[] why = new String[1];

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
        List<long[]> where = new ArrayList<>();
        long bytes = 0;
        lock.lock();
        try {
            for (long seq = afterSeq + 1; seq <= durableSeq && (where.isEmpty() || bytes < maxBytes); seq++) {
                Entry e = entry(seq);
                if (e == null) {
                    break;
                }
                where.add(new long[] {e.segment, e.position, segments.get(e.segment).incarnation, e.length,
                        e.tag ? 1 : 0});
                bytes += e.length;
            }
        } finally {
            lock.unlock();
        }
        if (lease != null && !lease.takesBatchOf(bytes)) {
            lease = null; // a quiet disk's small batch: read onto the heap (DirectPayloadBuffers#takesBatchOf)
        }
        List<StoredRecord> out = new ArrayList<>(where.size());
        long decodedBytes = 0;
        for (long[] w : where) {
            if (!out.isEmpty() && decodedBytes >= maxBytes) {
                break; // compressible data: the batch's decoded size, which its consumers hold in memory, is the bound
            }
            FileChannel ch = readChannels.get(w[0]);
            if (ch == null) {
                ch = FileChannel.open(dir.resolve(SegmentFormat.fileName(w[0])), StandardOpenOption.READ);
                readChannels.put(w[0], ch);
            }
            int recordLength = (int) w[3];
            ByteBuffer direct = lease == null || w[4] != 0 ? null
                    : lease.tryAcquire(Math.max(0, recordLength - SegmentFormat.RECORD_PREFIX_LENGTH
                            - SegmentFormat.BODY_HEADER_LENGTH));
            SegmentScanner.Scanned s = direct != null
                    ? SegmentScanner.readAtInto(ch, w[2], w[1], recordLength, readHeader, direct, readCrc, why)
                    : SegmentScanner.readAt(ch, w[2], w[1], recordLength, readScratch, readCrc, why);
            if (s == null) {
                throw new CorruptLogException(dir.resolve(SegmentFormat.fileName(w[0])), w[1],
                        "a durable record no longer verifies (" + why[0] + ")");
            }
            if (direct != null && s.record().type() == IngestRecord.Type.WRITE) {
                out.add(new StoredRecord(s.record(), null, s.payloadCrc(), direct));
            } else {
                out.add(new StoredRecord(s.record(), s.payload(), s.payloadCrc()));
            }
            decodedBytes += Math.max(w[3], s.record().type() == IngestRecord.Type.WRITE ? s.record().length() : 0);
        }
        return out;
    }

    /**
     * How often, at most, the applied point is persisted while no segment is freed. Persisting costs two fsyncs
     * and a rename; doing it for every apply batch made it a third of the apply path's syncs. A crash can then
     * lose up to this much progress of the applied point, which only means re-applying those records: applying
     * is idempotent in order, and their before-images are already journaled, so they are not captured again.
     */
    private static final long APPLIED_PERSIST_INTERVAL_NANOS = 1_000_000_000L;
    /** Applier thread: the applied point last persisted, and when. */
    private long persistedApplied = -1;
    private long appliedPersistedAtNanos;

    /**
     * Everything ≤ {@code seq} is on the target and the target is flushed: frees the backlog, deletes segments
     * that hold nothing newer, and persists the applied point — always before a segment is deleted (a restart
     * must never need a deleted record), otherwise at most once a second ({@link #APPLIED_PERSIST_INTERVAL_NANOS}).
     * Applier thread only.
     */
    public void markApplied(long seq) throws IOException {
        List<Segment> deletable = new ArrayList<>();
        AppliedPoint point;
        lock.lock();
        try {
            appliedSeq = Math.max(appliedSeq, seq);
            while (head < entries.size() && entries.get(head).seq <= seq) {
                appliedTimestampMicros = entries.get(head).timestampMicros;
                backlogBytes -= entries.get(head).length;
                appliedBytes += entries.get(head).length;
                head++;
            }
            if (head > 4096 && head > entries.size() / 2) {
                entries.subList(0, head).clear();
                head = 0;
            }
            long currentIndex = segments.lastKey();
            for (Segment s : segments.values()) {
                if (s.index != currentIndex && s.lastSeq <= seq) {
                    deletable.add(s);
                }
            }
            deletable.forEach(s -> segments.remove(s.index));
            point = new AppliedPoint(appliedSeq, appliedTimestampMicros);
        } finally {
            lock.unlock();
        }
        if (!deletable.isEmpty() || System.nanoTime() - appliedPersistedAtNanos >= APPLIED_PERSIST_INTERVAL_NANOS) {
            try {
                persistApplied(point);
            } catch (IOException first) {
                if (Shortage.of(first) == null) {
                    throw first;
                }
                if (Files.deleteIfExists(dir.resolve(RESERVE_FILE))) {
                    // The space kept for this: the applied point must be persisted before segments can go, and
                    // persisting it needs a little space; without the reserve a full volume could never drain.
                    LOG.warning("ingest log " + name + ": cache volume full; used its reserve to free applied segments");
                }
            }
            try {
                if (persistedApplied != point.seq()) {
                    persistApplied(point);
                }
            } catch (IOException e) {
                if (Shortage.of(e) == null) {
                    throw e;
                }
                // A full cache volume (or no descriptor) must not fail the disk: the applied point stays where it
                // was persisted (a restart re-applies a little, which is idempotent) and the segments it would
                // free stay until a later batch persists it.
                LOG.fine(() -> "ingest log " + name + ": applied point not persisted yet (" + Shortage.of(e) + ")");
                lock.lock();
                try {
                    deletable.forEach(s -> segments.put(s.index, s));
                } finally {
                    lock.unlock();
                }
                deletable.clear();
            }
        }
        List<Path> kept = new ArrayList<>();
        for (Segment s : deletable) {
            FileChannel ch = readChannels.remove(s.index);
            if (ch != null) {
                ch.close();
            }
            if (TestOnlyFaults.REUSE_SEGMENT_INCARNATION) {
                recycle(s);
            } else {
                Path spare = retire(s, kept.size());
                if (spare != null) {
                    kept.add(spare);
                }
            }
        }
        if (!deletable.isEmpty()) {
            AtomicFile.fsyncDirectory(dir);
            keepReserve();
        }
        if (!kept.isEmpty()) {
            lock.lock();
            try {
                // Only now may the writer take them: had it written a new header into a file whose rename to a
                // spare was not yet durable, a crash could leave that header under the old segment's name,
                // before the checkpoint: refused as corruption at the next start.
                spares.addAll(kept);
            } finally {
                lock.unlock();
            }
        }
        for (Listener l : listeners) {
            l.onApplied(seq);
        }
    }

    // ------------------------------------------------------------------ queries

    public void addListener(Listener l) {
        listeners.add(l);
    }

    /**
     * Receives the duration in nanoseconds of every group-commit fdatasync, on the writer thread (keep it short).
     * A plain {@code LongConsumer} keeps the log free of any metrics library.
     */
    public void setSyncListener(LongConsumer listener) {
        this.syncListener = listener == null ? n -> { } : listener;
    }

    /** Ingest-log bytes (record framing included) applied and freed since this log was opened. */
    public long appliedBytes() {
        lock.lock();
        try {
            return appliedBytes;
        } finally {
            lock.unlock();
        }
    }

    public long lastAcceptedSeq() {
        lock.lock();
        try {
            return lastAccepted;
        } finally {
            lock.unlock();
        }
    }

    public long lastDurableSeq() {
        lock.lock();
        try {
            return durableSeq;
        } finally {
            lock.unlock();
        }
    }

    public long appliedSeq() {
        lock.lock();
        try {
            return appliedSeq;
        } finally {
            lock.unlock();
        }
    }

    /** Bytes of records accepted but not yet applied (record framing included). */
    public long backlogBytes() {
        lock.lock();
        try {
            return backlogBytes;
        } finally {
            lock.unlock();
        }
    }

    /**
     * Online verify: re-reads every durable, not yet applied record (record CRC, incarnation, and for writes the
     * uncompressed data's CRC-32C) with its own file handles, beside the applier. Records the applier finishes
     * meanwhile may vanish with their segment; they are skipped, not reported.
     *
     * @return null when everything verifies, else "file at offset: reason"
     */
    public String verifyUnapplied(java.util.function.LongConsumer progress) throws IOException {
        List<long[]> where = new ArrayList<>();
        lock.lock();
        try {
            for (int i = head; i < entries.size(); i++) {
                Entry e = entries.get(i);
                if (e.seq > durableSeq) {
                    break;
                }
                Segment seg = segments.get(e.segment);
                if (seg != null) {
                    where.add(new long[] {e.seq, e.segment, e.position, seg.incarnation});
                }
            }
        } finally {
            lock.unlock();
        }
        Map<Long, FileChannel> channels = new HashMap<>();
        try {
            long checked = 0;
            for (long[] w : where) {
                Path file = dir.resolve(SegmentFormat.fileName(w[1]));
                FileChannel ch = channels.get(w[1]);
                if (ch == null) {
                    try {
                        ch = FileChannel.open(file, StandardOpenOption.READ);
                    } catch (java.nio.file.NoSuchFileException gone) {
                        continue; // applied and pruned meanwhile
                    }
                    channels.put(w[1], ch);
                }
                SegmentScanner.Scanned r = new SegmentScanner(ch, w[3], w[2]).next();
                if (r == null || r.record().seq() != w[0]) {
                    if (appliedSeq() >= w[0]) {
                        continue;
                    }
                    return file + " at " + w[2] + ": a durable record does not verify";
                }
                if (r.record().type() == IngestRecord.Type.WRITE) {
                    try {
                        RecordPayloads.decode(new StoredRecord(r.record(), r.payload(), r.payloadCrc()));
                    } catch (IOException bad) {
                        return file + " at " + w[2] + ": " + bad.getMessage();
                    }
                }
                progress.accept(++checked);
            }
            return null;
        } finally {
            for (FileChannel ch : channels.values()) {
                ch.close();
            }
        }
    }

    /**
     * Durable records with {@code afterSeq < seq <= throughSeq}, in order, read with this call's own file handles
     * (any thread; point-in-time views beyond the applied point). Returns null when a record of the range is no
     * longer held (the applier applied it and its segment went): the caller retries from the newer applied point.
     */
    public List<StoredRecord> readRange(long afterSeq, long throughSeq) throws IOException {
        List<long[]> where = new ArrayList<>();
        lock.lock();
        try {
            if (throughSeq > durableSeq) {
                throw new IllegalArgumentException("seq " + throughSeq + " is not durable yet (durable: " + durableSeq + ")");
            }
            for (long seq = afterSeq + 1; seq <= throughSeq; seq++) {
                Entry e = entry(seq);
                if (e == null) {
                    return null;
                }
                Segment seg = segments.get(e.segment);
                if (seg == null) {
                    return null;
                }
                where.add(new long[] {seq, e.segment, e.position, seg.incarnation});
            }
        } finally {
            lock.unlock();
        }
        Map<Long, FileChannel> channels = new HashMap<>();
        try {
            List<StoredRecord> out = new ArrayList<>(where.size());
            for (long[] w : where) {
                FileChannel ch = channels.get(w[1]);
                if (ch == null) {
                    try {
                        ch = FileChannel.open(dir.resolve(SegmentFormat.fileName(w[1])), StandardOpenOption.READ);
                    } catch (java.nio.file.NoSuchFileException gone) {
                        return null;
                    }
                    channels.put(w[1], ch);
                }
                SegmentScanner.Scanned r = new SegmentScanner(ch, w[3], w[2]).next();
                if (r == null || r.record().seq() != w[0]) {
                    return null; // the segment was recycled under us: applied meanwhile
                }
                out.add(new StoredRecord(r.record(), r.payload(), r.payloadCrc()));
            }
            return out;
        } finally {
            for (FileChannel ch : channels.values()) {
                ch.close();
            }
        }
    }

    /** Durable tags not yet applied (seq &gt; max(afterSeq, applied)), oldest first. */
    public List<IngestRecord> durableTagsAfter(long afterSeq) {
        lock.lock();
        try {
            List<IngestRecord> out = new ArrayList<>();
            for (int i = head; i < entries.size(); i++) {
                Entry e = entries.get(i);
                if (e.seq > durableSeq) {
                    break;
                }
                if (e.tag && e.seq > afterSeq) {
                    out.add(e.tagRecord);
                }
            }
            return out;
        } finally {
            lock.unlock();
        }
    }

    /** The largest durable, not yet applied seq whose source time is ≤ {@code timestampMicros}; 0 if none. */
    public long durableSeqAtOrBefore(long timestampMicros) {
        lock.lock();
        try {
            long best = 0;
            for (int i = head; i < entries.size(); i++) {
                Entry e = entries.get(i);
                if (e.seq > durableSeq || e.timestampMicros > timestampMicros) {
                    break; // timestamps are non-decreasing (the agent clamps them)
                }
                best = e.seq;
            }
            return best;
        } finally {
            lock.unlock();
        }
    }

    /** The applied point and its source time (-1 when unknown). */
    public AppliedPoint appliedPoint() {
        lock.lock();
        try {
            return new AppliedPoint(appliedSeq, appliedTimestampMicros);
        } finally {
            lock.unlock();
        }
    }

    /**
     * Source time of the newest durable record: of the newest unapplied one the log holds, else of the applied
     * point (persisted with it, so known after a restart even when every segment was applied and deleted); -1
     * when unknown (an empty log, or one written before the applied point carried its time and fully applied).
     */
    public long newestDurableTimestampMicros() {
        lock.lock();
        try {
            Entry e = entry(durableSeq);
            return e != null ? e.timestampMicros : durableSeq == appliedSeq ? appliedTimestampMicros : -1;
        } finally {
            lock.unlock();
        }
    }

    /** Source time of a held (not yet applied) record, or -1. */
    public long timestampOf(long seq) {
        lock.lock();
        try {
            Entry e = entry(seq);
            return e == null ? -1 : e.timestampMicros;
        } finally {
            lock.unlock();
        }
    }

    /** CRC of a record still held (seq &gt; applied), for re-send comparison. */
    public OptionalInt crcOf(long seq) {
        lock.lock();
        try {
            Entry e = entry(seq);
            return e == null ? OptionalInt.empty() : OptionalInt.of(e.crc);
        } finally {
            lock.unlock();
        }
    }

    /** The failure that stopped the writer, or null. */
    public IOException failure() {
        lock.lock();
        try {
            return failure;
        } finally {
            lock.unlock();
        }
    }

    /** Number of segment files (for tests and status). */
    public int segmentCount() {
        lock.lock();
        try {
            return segments.size();
        } finally {
            lock.unlock();
        }
    }

    public Path directory() {
        return dir;
    }

    /** Blocks until every record offered before this call is durable and its listeners ran. */
    public void flush() throws IOException, InterruptedException {
        lock.lock();
        try {
            long target = lastAccepted;
            while (notifiedSeq < target) {
                if (failure != null) {
                    throw failure;
                }
                if (stall.current() != null) {
                    throw new IOException("ingest log " + name + " cannot make its writes durable now: "
                            + stall.current());
                }
                synced.await(100, java.util.concurrent.TimeUnit.MILLISECONDS);
            }
        } finally {
            lock.unlock();
        }
    }

    /** Writes what is queued, syncs, checkpoints and stops the writer. */
    @Override
    public void close() throws IOException {
        lock.lock();
        try {
            if (closing) {
                return;
            }
            closing = true; // offers are refused from now on: the task under way writes what is queued and ends
            while (writerScheduled) {
                writerIdle.awaitUninterruptibly(); // its final sync must come before the cut and the clean marker
            }
        } finally {
            lock.unlock();
        }
        try {
            if (failure() == null && currentChannel != null && currentChannel.isOpen()) {
                syncCutAtEnd(); // the clean marker holds only if the file ends at the checkpoint
                writeCheckpoint();
                persistApplied(appliedPoint()); // the applier has stopped: its last point, before the marker vouches
                writeCleanMarker();
            }
        } finally {
            closeChannels();
        }
    }

    /** After the final sync and checkpoint (writer stopped): vouch for the files as they are now. */
    private void writeCleanMarker() throws IOException {
        List<CleanMarker.SegmentInfo> segs = new ArrayList<>();
        List<CleanMarker.EntryInfo> index = new ArrayList<>();
        long applied;
        lock.lock();
        try {
            applied = appliedSeq;
            for (Segment seg : segments.values()) {
                segs.add(new CleanMarker.SegmentInfo(seg.index, seg.incarnation, seg.lastSeq));
            }
            for (int i = head; i < entries.size(); i++) {
                Entry e = entries.get(i);
                index.add(new CleanMarker.EntryInfo(e.crc, e.tag, e.length, e.segment, e.position, e.timestampMicros));
            }
        } finally {
            lock.unlock();
        }
        Checkpoint cp = new Checkpoint(current.index, currentPosition, lastDurableSeq());
        CleanMarker.write(dir.resolve(CLEAN_FILE), new CleanMarker(cp, applied, segs, index));
    }

    /** True if {@link #open} found a valid clean-shutdown marker and skipped the scan. */
    public boolean recoveredClean() {
        return recoveredClean;
    }

    /** Records read and verified by the recovery scan at open (0 after a clean shutdown). */
    public long recoveryScannedRecords() {
        return scannedRecords;
    }

    private void closeChannels() throws IOException {
        try {
            if (currentChannel != null) {
                currentChannel.close();
            }
            for (FileChannel ch : readChannels.values()) {
                ch.close();
            }
            readChannels.clear();
        } finally {
            if (dirLock != null) {
                dirLock.close();
                dirLock = null;
            }
        }
    }

    /** The durable "synced up to here" mark: {@code segment u64, position u64, seq u64, crc u32}. */
    record Checkpoint(long segment, long position, long seq) {
        static Checkpoint read(Path f) throws IOException {
            if (!Files.exists(f)) {
                return null;
            }
            byte[] b = Files.readAllBytes(f);
            if (b.length != 28) {
                throw new CorruptLogException(f, 0, "checkpoint has " + b.length + " bytes, expected 28");
            }
            CRC32C c = new CRC32C();
            c.update(b, 0, 24);
            ByteBuffer bb = ByteBuffer.wrap(b);
            if ((int) c.getValue() != bb.getInt(24)) {
                throw new CorruptLogException(f, 0, "checkpoint CRC mismatch");
            }
            return new Checkpoint(bb.getLong(0), bb.getLong(8), bb.getLong(16));
        }

        static void write(Path f, Checkpoint cp) throws IOException {
            ByteBuffer b = ByteBuffer.allocate(28).putLong(cp.segment).putLong(cp.position).putLong(cp.seq);
            CRC32C c = new CRC32C();
            c.update(b.array(), 0, 24);
            b.putInt((int) c.getValue());
            AtomicFile.write(f, b.array());
        }
    }
}
