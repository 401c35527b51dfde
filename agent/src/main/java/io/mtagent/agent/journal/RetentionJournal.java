package io.mtagent.agent.journal;

import io.mtagent.agent.log.AtomicFile;
import io.mtagent.agent.log.CorruptLogException;
import io.mtagent.agent.log.DirectoryLock;
import io.mtagent.agent.log.LogFileNames;
import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.function.LongConsumer;
import java.util.stream.Stream;

/**
 * One disk's retention journal: the before-image of every applied write and every tag, in sequence order
 * ({@link JournalFormat} on the shared log layer, {@code io.mtagent.agent.log}). The applier appends through
 * {@link JournalingApplyStage} and calls {@link #sync()} before it overwrites the target: <b>a target range is never
 * overwritten before its before-image is durable</b>. A facade over classes with one job each:
 * {@link JournalWriter} (appends, rolls, sync, checkpoint), {@link JournalRecovery} (open: torn tail vs corruption,
 * sealed segments not re-read), {@link JournalPruner} (whole segments, oldest first, never under a lease),
 * {@link JournalVerifier} (online verify, index rebuilds, the damage note), {@link JournalImages} (finding images
 * and points), {@link ImageRuns} (reading them, verified), and {@link JournalState} (the shared bookkeeping).
 *
 * <p>Memory is bounded whatever the journal's size: per sealed segment a summary of ~100 bytes (a 1 TiB journal
 * of 64 MiB segments: 16 Ki segments, ~1.6 MiB); the current segment's index (33 bytes per record: at most
 * segmentBytes / 568 records, ~3.7 MiB for 64 MiB segments of 512-byte writes); the recovery points (~100 bytes
 * per tag); and the sealed indexes held by the shared {@link IndexCache} (64 MiB for the whole agent). Lookups
 * that miss the cache read the segment's {@code .idx} file again.
 *
 * <p>Thread-safety: appends and sync on the applier thread; reads ({@link #overlayAfter}, {@link #points},
 * {@link #seqAtOrBefore}, {@link #forEachImageAfter}) from any thread; shared state is guarded by the
 * {@link JournalState}'s monitor; sealed indexes are immutable.
 */
public final class RetentionJournal implements Closeable {
    /** Where one before-image lies, and the chained CRC before its record (to verify the record by itself). */
    public record ImageRef(long seq, long timestampMicros, long offset, int length, long segment, long position,
            int prevChain) {
    }

    /** Visits before-images (rollback and undo). */
    public interface ImageVisitor {
        void visit(ImageRef image) throws IOException;
    }

    /**
     * What to do when the retention volume is full (ENOSPC) while journaling: the retention policy decides
     * (docs/ARCHITECTURE.md, "Hostile neighbours": shrink the window, pause apply, or stop writes). Called on the
     * applier thread, which waits in it; nothing acknowledged is lost meanwhile, the ingest log keeps it.
     */
    public interface FullHandler {
        /** @return true to retry the append (after freeing space or waiting), false to fail the disk */
        boolean onFull(RetentionJournal journal) throws IOException;

        /** The append went through again after {@link #onFull}. */
        default void recovered(RetentionJournal journal) {
        }
    }

    /** Receives one segment's before-images overlapping a range, in seq order; false stops the walk. */
    interface SegmentImages {
        boolean accept(List<ImageRef> images) throws IOException;
    }

    private final Path dir;
    private final IndexCache cache;
    private final JournalState state = new JournalState();
    private final JournalWriter writer;
    private final JournalVerifier verifier;
    private final JournalImages images;
    private final JournalPruner pruner;
    /** The branches of the history that are gone (read at open, replaced by {@link #discard}). */
    private volatile DiscardedHistory discarded;
    private DirectoryLock lock;

    private RetentionJournal(Path dir, long segmentBytes, IndexCache cache) {
        this.dir = dir;
        this.cache = cache;
        this.writer = new JournalWriter(this, dir, segmentBytes, cache, state);
        this.verifier = new JournalVerifier(dir, state, writer);
        this.images = new JournalImages(dir, state, cache, verifier);
        this.pruner = new JournalPruner(dir, state, cache, images);
    }

    /** Opens (recovering) the journal in {@code dir}; sealed indexes are held in the agent's shared cache. */
    public static RetentionJournal open(Path dir, long segmentBytes) throws IOException {
        return open(dir, segmentBytes, IndexCache.shared());
    }

    /** Sets the memory all journals of this process may use for sealed segment indexes. */
    public static void setIndexCacheBytes(long bytes) {
        IndexCache.shared().setBudget(bytes);
    }

    static RetentionJournal open(Path dir, long segmentBytes, IndexCache cache) throws IOException {
        AtomicFile.createDirectories(dir); // durably (power-loss test)
        return openIn(dir, segmentBytes, cache);
    }

    /**
     * Opens (recovering) a journal in {@code dir}, a directory directly inside the directory of an open journal
     * (a rollback's undo journal): that parent was made durable up to the root when its journal opened and is never
     * moved, so only {@code dir}'s own entry in it needs a sync here, not every ancestor up to the root again
     * (fewer fixed syncs in front of every rollback). The journal's files and their entries in {@code dir} are
     * synced by the journal itself as for any journal.
     */
    public static RetentionJournal openInside(RetentionJournal parent, Path dir, long segmentBytes) throws IOException {
        if (!dir.toAbsolutePath().getParent().equals(parent.directory().toAbsolutePath())) {
            throw new IllegalArgumentException(dir + " is not directly inside " + parent.directory());
        }
        Files.createDirectories(dir);
        AtomicFile.fsyncDirectory(dir.toAbsolutePath().getParent()); // dir's name, durable before anything in it counts
        return openIn(dir, segmentBytes, IndexCache.shared());
    }

    private static RetentionJournal openIn(Path dir, long segmentBytes, IndexCache cache) throws IOException {
        DirectoryLock lock = DirectoryLock.acquire(dir);
        RetentionJournal j = new RetentionJournal(dir, segmentBytes, cache);
        j.lock = lock;
        try {
            j.discarded = DiscardedHistory.load(dir);
            new JournalRecovery(dir, j.state, j.writer).recover();
        } catch (IOException | RuntimeException e) {
            lock.close();
            throw e;
        }
        return j;
    }

    /**
     * {@code mtagent verify --repair} for a journal that does not verify: the whole journal directory is moved
     * aside ({@code <dir>.broken-<millis>}) and a fresh journal starts at the disk's applied point. A partial
     * truncation would be wrong: a view at an older point needs every before-image after it, so once a record is
     * lost no earlier point can be read correctly. Every recovery point before {@code appliedSeq} is lost; the
     * caller says so. Run only while the agent is stopped.
     *
     * @return where the damaged journal was moved
     */
    public static Path resetAfterDamage(Path dir, long appliedSeq) throws IOException {
        return JournalPruner.resetAfterDamage(dir, appliedSeq);
    }

    // ------------------------------------------------------------------ appends (applier thread)

    /** Appends the before-image of write {@code seq} (the target's bytes in [offset, offset+data.remaining())). */
    public void appendBeforeImage(long seq, long timestampMicros, long offset, ByteBuffer data) throws IOException {
        writer.appendBeforeImage(seq, timestampMicros, offset, data);
    }

    /** Appends a tag (a recovery point once synced). */
    public void appendPoint(long seq, long timestampMicros, int tagType, String name) throws IOException {
        writer.appendPoint(seq, timestampMicros, tagType, name);
    }

    /** Makes every append durable (one fdatasync: the group commit of a batch). */
    public void sync() throws IOException {
        writer.sync();
    }

    public void setFullHandler(FullHandler handler) {
        writer.setFullHandler(handler);
    }

    /** Shutdown: an append waiting for space gives up (the batch is redone after the restart). */
    public void requestStop() {
        writer.requestStop();
    }

    public boolean stopRequested() {
        return writer.stopRequested();
    }

    static boolean isNoSpace(IOException e) {
        return JournalWriter.isNoSpace(e);
    }

    // ------------------------------------------------------------------ verify, damage

    /**
     * Damage found since open by a read or {@link #verifyOnline} (the open itself refuses damage before the
     * checkpoint in what it scans), or null: the status reports it (MT-2005) until 'mtagent verify --repair'.
     */
    public String damage() {
        return verifier.damage();
    }

    /**
     * Online verify ({@code mtagent verify}, while the agent runs or offline): re-reads every journaled record up to
     * the last one indexed when it starts, checking length, chained CRC, incarnation and sequence, without touching
     * the files. Holds a lease so pruning waits. Thread-safe alongside the applier's appends.
     *
     * @return null when everything verifies, else "file at offset: reason"
     */
    public String verifyOnline(LongConsumer progress) throws IOException {
        return verifier.verifyOnline(progress);
    }

    /** Notes a record that does not verify (for the status) and returns the exception to throw. */
    CorruptLogException damaged(ImageRef r, String what) {
        Path file = segmentFile(r.segment());
        verifier.noteDamage(file + " at " + r.position() + ": " + what);
        return new CorruptLogException(file, r.position(), what);
    }

    // ------------------------------------------------------------------ retention window

    /** A view's hold on the journal: while open, pruning keeps every record above its point. */
    public AutoCloseable lease(long point) {
        return state.lease(point);
    }

    /** The earliest recoverable point (seq). */
    public long earliestSeq() {
        return state.prunedThrough();
    }

    /** The earliest recoverable point's source time (-1 when unknown). */
    public long earliestTimestampMicros() {
        return state.earliestTimestampMicros();
    }

    /** The oldest prunable segment's index, last seq and last timestamp, or null when only the current one is left. */
    public long[] oldestPrunable() {
        return state.oldestPrunable();
    }

    /**
     * Drops the oldest segment if no open view still needs it (a view at P needs every record above P) and it is
     * not the current one. Records are removed whole-segment, oldest first.
     *
     * @return true if a segment was dropped
     */
    public boolean pruneOldestSegment() throws IOException {
        return pruner.pruneOldestSegment();
    }

    /** Bytes of all journal segments and their index files. */
    public long sizeBytes() throws IOException {
        long sum = 0;
        try (Stream<Path> s = Files.list(dir)) {
            for (Path p : s.toList()) {
                String n = p.getFileName().toString();
                if (LogFileNames.isSegment(JournalFormat.KIND, n) || LogFileNames.isSegmentIndex(n)) {
                    try {
                        sum += Files.size(p);
                    } catch (NoSuchFileException gone) {
                        // pruned meanwhile
                    }
                }
            }
        }
        return sum;
    }

    /** The discarded branches of the disk's recovery history. */
    public DiscardedHistory discarded() {
        return discarded;
    }

    /** Adds a discarded range; durable when this returns. */
    public synchronized void discard(DiscardedHistory.Range range) throws IOException {
        discarded = discarded.with(range);
    }

    // ------------------------------------------------------------------ queries and reads

    /** Highest journaled sequence number (durable only after {@link #sync()}). */
    public long lastSeq() {
        return state.lastSeq();
    }

    public Path directory() {
        return dir;
    }

    /** Tags journaled so far, oldest first. */
    public List<RecoveryPoint> points() {
        return state.points();
    }

    /** The largest journaled seq whose timestamp is ≤ {@code timestampMicros}, or 0 when none is. */
    public long seqAtOrBefore(long timestampMicros) {
        return images.seqAtOrBefore(timestampMicros);
    }

    /** Timestamp of journaled seq, or -1. */
    public long timestampOf(long seq) {
        return images.timestampOf(seq);
    }

    /** How many before-images have seq &gt; {@code point}, and their bytes (what a rollback to it writes). */
    public long[] imagesAfter(long point) throws IOException {
        return images.imagesAfter(point);
    }

    /**
     * Visits every before-image with seq &gt; {@code point}, oldest first or newest first, one segment's index at a
     * time (memory stays bounded). Records appended after the call starts are not visited. The caller holds a
     * {@link #lease} (or the applier is paused) so the segments stay.
     */
    public void forEachImageAfter(long point, boolean newestFirst, ImageVisitor visitor) throws IOException {
        images.forEachImageAfter(point, newestFirst, visitor);
    }

    /** Reads one before-image's bytes, verifying its record. */
    public byte[] image(ImageRef r) throws IOException {
        return ImageRuns.readOne(this, r);
    }

    /**
     * Overlays {@code buf} (the target's current bytes of [offset, offset+buf.length)) with, for every byte, the
     * earliest before-image with seq &gt; {@code point}: the result is the disk as it was at {@code point}, as far
     * as applied writes go ({@link ViewExtents}, {@link ImageRuns}).
     */
    public void overlayAfter(long point, long offset, byte[] buf) throws IOException {
        ViewExtents extents = ViewExtents.resolve(this, point, offset, offset + buf.length);
        ImageRuns.copy(this, extents.extents(), offset, ByteBuffer.wrap(buf));
    }

    /**
     * Walks the segments holding records with seq &gt; {@code point}, oldest first, handing each one's
     * before-images that overlap [{@code from}, {@code to}) to {@code visitor} (segments with none are skipped),
     * until it returns false. Sealed segments are searched through their offset-sorted index. The caller holds a
     * lease, so the segments stay.
     */
    void overlapping(long point, long from, long to, SegmentImages visitor) throws IOException {
        images.overlapping(point, from, to, visitor);
    }

    /** The shared read channel of a segment (opened on first use; closed when it is pruned or at close). */
    FileChannel segmentChannel(long segmentIndex) throws IOException {
        return images.segmentChannel(segmentIndex);
    }

    /** The file of segment {@code segmentIndex}. */
    Path segmentFile(long segmentIndex) {
        return images.segmentFile(segmentIndex);
    }

    @Override
    public void close() throws IOException {
        try {
            writer.close();
        } finally {
            images.close();
            cache.removeAll(dir);
            if (lock != null) {
                lock.close();
                lock = null;
            }
        }
    }
}
