package io.mtagent.agent.ingest;

import io.mtagent.agent.log.AtomicFile;
import io.mtagent.agent.log.LogFileNames;
import io.mtagent.agent.log.LogIO;
import io.mtagent.agent.log.SegmentHeader;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.SecureRandom;
import java.util.ArrayDeque;
import java.util.List;

/**
 * Where an ingest log's segment files come from and where applied ones go: <b>spare segments</b>.
 *
 * <p>A segment whose records are all applied is not deleted while fewer than {@code spareSegments} are kept: it is
 * renamed {@code spare-<name>.seg} (never a segment name, so no scan reads it), and the next segment is written
 * over it. Why: appending to a new file makes every group commit's fdatasync also commit the file system's block
 * allocation, and deleting a file makes a {@code discard}-mounted volume trim its blocks; overwriting allocated
 * blocks does neither. What keeps it safe:
 * <ul>
 *   <li>the new header (a new random incarnation) is written and synced before the file takes the segment's name,
 *       so a file under a segment name always carries that segment's header;</li>
 *   <li>the old records left past the new segment's end carry the old incarnation, so they never verify as the
 *       new segment's: after a crash they end the scan like any torn tail (after the checkpoint, never acked);</li>
 *   <li>a segment is cut at its last record and synced before the next one exists ({@link #cutAtEnd}), and the
 *       current one at a clean close, so a closed segment ends exactly at its last record as a never-reused one
 *       does.</li>
 * </ul>
 *
 * <p>A test breaks one of these rules by overriding a method and {@link #useFactory installing} the subclass (the
 * power-loss test's broken builds); production never does.
 *
 * <p>Thread-safety: {@link #create} and {@link #cutAtEnd} run on the writer thread, {@link #retire} and
 * {@link #offerSpares} on the applier thread; the spare list is guarded by this object.
 */
class SegmentFiles {
    private static final SecureRandom RANDOM = new SecureRandom();

    /** Makes the segment files of each ingest log opened from then on. */
    interface Factory {
        SegmentFiles create(Path dir, int spareSegments);
    }

    private static volatile Factory factory = SegmentFiles::new;

    /** For tests that inject faults (a whole test JVM or agent child JVM); never called in production. */
    static void useFactory(Factory f) {
        factory = f;
    }

    static SegmentFiles of(Path dir, int spareSegments) {
        return factory.create(dir, spareSegments);
    }

    /** An open segment file under its segment's name, its synced header carrying {@code incarnation}. */
    record Created(FileChannel channel, long incarnation) {
    }

    protected final Path dir;
    private final int spareSegments;
    /** Applied segment files the writer may write over (oldest first); at most spareSegments. Guarded by this. */
    private final ArrayDeque<Path> spares = new ArrayDeque<>();

    protected SegmentFiles(Path dir, int spareSegments) {
        this.dir = dir;
        this.spareSegments = spareSegments;
    }

    /**
     * The file of a new segment {@code index} whose first record will be {@code firstSeq}: a spare written over, or
     * a new file; either way its header (a new random incarnation) is synced before the file has the segment's name,
     * and the directory is synced after. A failure closes the file (a shortage retries this).
     */
    Created create(long index, long firstSeq) throws IOException {
        Path file = dir.resolve(LogFileNames.segment(SegmentFormat.KIND, index));
        Path spare = takeSpare();
        FileChannel ch = spare != null
                // Written over in place: its blocks are allocated, so the appends' fdatasyncs need no block
                // allocation committed. Its old records carry another incarnation and never verify as ours.
                ? LogIO.get().open(spare, StandardOpenOption.READ, StandardOpenOption.WRITE)
                : LogIO.get().open(file, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE,
                        StandardOpenOption.TRUNCATE_EXISTING);
        long incarnation = RANDOM.nextLong();
        try {
            writeHeader(file, ch, SegmentHeader.ingest(incarnation, firstSeq, index));
            if (spare != null) {
                // Only after the new header is durable does the file take the segment's name, so a file found
                // under a segment name always has that segment's header (a crash before this leaves a spare).
                Files.move(spare, file, StandardCopyOption.ATOMIC_MOVE);
            }
            AtomicFile.fsyncDirectory(dir);
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
        return new Created(ch, incarnation);
    }

    /** Writes and syncs a segment header (size included). */
    protected final void writeHeader(Path file, FileChannel ch, SegmentHeader header) throws IOException {
        header.writeTo(SegmentFormat.KIND, ch);
        LogIO.get().force(file, ch, true);
    }

    /**
     * Syncs a segment that is being closed (roll, clean close), first cutting it at {@code end} (after its last
     * record) when it is a spare written over: the old records past the end must go before the segment is closed
     * (a scan reads a closed segment to its end and takes anything else there for damage) or vouched for by the
     * clean marker.
     */
    void cutAtEnd(Path file, FileChannel ch, long end) throws IOException {
        if (ch.size() > end) {
            ch.truncate(end);
            LogIO.get().force(file, ch, true); // the size is metadata
        } else {
            LogIO.get().force(file, ch, false);
        }
    }

    /**
     * An applied segment's file goes: renamed to a spare when fewer than {@code spareSegments} are kept (counting
     * the {@code pending} ones this call's caller kept already) and the log is not closing, else deleted. Returns
     * the spare, which the caller hands over ({@link #offerSpares}) only after syncing the directory. Readers that
     * still hold the file open later see the next incarnation's records and skip them as applied.
     */
    Path retire(IngestIndex.Segment s, int pending, boolean closing) throws IOException {
        boolean keep;
        synchronized (this) {
            keep = spares.size() + pending < spareSegments && !closing;
        }
        if (!keep) {
            Files.deleteIfExists(s.file);
            return null;
        }
        Path spare = dir.resolve(LogFileNames.spare(s.index));
        Files.move(s.file, spare, StandardCopyOption.ATOMIC_MOVE);
        return spare;
    }

    /**
     * Spares whose rename is durable (the caller synced the directory): only now may the writer take them. Had it
     * written a new header into a file whose rename to a spare was not yet durable, a crash could leave that header
     * under the old segment's name, before the checkpoint: refused as corruption at the next start.
     */
    synchronized void offerSpares(List<Path> kept) {
        spares.addAll(kept);
    }

    /**
     * At open: the spare files left by the last run become this run's spares, up to {@code spareSegments} (the rest,
     * from a larger setting before, are deleted). Their contents do not matter: each is written over from a new
     * header with a new incarnation before it takes a segment's name.
     */
    synchronized void adoptSpares() throws IOException {
        for (Path p : LogFileNames.spares(dir)) {
            if (spares.size() < spareSegments) {
                spares.addLast(p);
            } else {
                Files.delete(p);
            }
        }
    }

    private synchronized Path takeSpare() {
        return spares.pollFirst();
    }
}
