package io.mtagent.agent.ingest;

import io.mtagent.agent.log.AtomicFile;
import io.mtagent.agent.log.Checkpoint;
import io.mtagent.agent.log.LogFileNames;
import io.mtagent.agent.log.LogIO;
import io.mtagent.agent.log.SegmentHeader;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.logging.Logger;

/**
 * The ingest log's segment lifecycle on the writer's side: the current segment (its file, where its next record
 * goes), starting the next one, closing one cut at its end, and the checkpoint that records how far the log is
 * synced ({@link Checkpoint}: only ever written right after a sync of everything before it). Also the
 * {@value #RESERVE_BYTES}-byte {@code reserve} file kept so a full cache volume can still persist the applied
 * point. Where the files come from and go: {@link SegmentFiles}.
 *
 * <p>Thread-safety: the writer thread only (and open/close, when no writer runs); it publishes each new segment to
 * the {@link IngestIndex} under its lock.
 */
final class IngestSegments {
    static final int RESERVE_BYTES = 64 << 10;
    private static final Logger LOG = Logger.getLogger(IngestSegments.class.getName());

    private final Path dir;
    private final String name;
    private final IngestIndex index;
    private final SegmentFiles files;
    private IngestIndex.Segment current;
    private FileChannel channel;
    private long position;
    private long lastCheckpointNanos;

    IngestSegments(Path dir, String name, IngestIndex index, SegmentFiles files) {
        this.dir = dir;
        this.name = name;
        this.index = index;
        this.files = files;
    }

    IngestIndex.Segment current() {
        return current;
    }

    FileChannel channel() {
        return channel;
    }

    /** Where the current segment's next record starts. */
    long position() {
        return position;
    }

    void advance(long bytes) {
        position += bytes;
    }

    /** After a shortage: the batch is written again from here (records before it are synced). */
    void rewindTo(long at) {
        position = at;
    }

    boolean isOpen() {
        return channel != null && channel.isOpen();
    }

    /** Starts segment {@code segmentIndex} with first record {@code firstSeq} (synced header, synced directory). */
    void start(long segmentIndex, long firstSeq) throws IOException {
        SegmentFiles.Created c = files.create(segmentIndex, firstSeq);
        IngestIndex.Segment seg = new IngestIndex.Segment(segmentIndex, c.incarnation(),
                dir.resolve(LogFileNames.segment(SegmentFormat.KIND, segmentIndex)), firstSeq - 1);
        index.putSegment(seg);
        current = seg;
        channel = c.channel();
        position = SegmentHeader.LENGTH;
    }

    /** At open: appends go on in the last recovered segment at {@code appendAt} (a record boundary). */
    void resume(IngestIndex.Segment seg, long appendAt) throws IOException {
        current = seg;
        channel = LogIO.get().open(seg.file, StandardOpenOption.WRITE, StandardOpenOption.READ);
        // The scanned end, not the file size: a tail torn inside the last record's padding leaves a size that is
        // not a record boundary (truncate cannot extend it), and appending there would misalign every new record.
        position = appendAt;
    }

    /** Syncs the current segment's appends (the group commit's fdatasync). */
    void sync() throws IOException {
        LogIO.get().force(current.file, channel, false);
    }

    /** Cuts the current segment at its end, syncs and closes it (a roll). */
    void closeCurrent() throws IOException {
        cutAtEnd();
        channel.close();
    }

    /** Cuts the current segment at its end and syncs it: a scan that sees anything after it sees it cut. */
    void cutAtEnd() throws IOException {
        files.cutAtEnd(current.file, channel, position);
    }

    /** Records how far the log is synced: only ever called right after a sync of everything before it. */
    void writeCheckpoint() throws IOException {
        long seq = index.get(i -> i.durableSeq);
        new Checkpoint(current.index, position, seq).write(dir.resolve(LogFileNames.CHECKPOINT));
        lastCheckpointNanos = System.nanoTime();
    }

    /**
     * The periodic checkpoint, when {@code intervalMillis} passed since the last: it only shortens the next start's
     * scan, so a shortage just skips this one.
     */
    void checkpointIfDue(long intervalMillis) throws IOException {
        if (System.nanoTime() - lastCheckpointNanos <= intervalMillis * 1_000_000L) {
            return;
        }
        try {
            writeCheckpoint();
        } catch (IOException e) {
            if (Shortage.of(e) == null) {
                throw e;
            }
            LOG.fine(() -> "ingest log " + name + ": checkpoint skipped (" + Shortage.of(e) + ")");
        }
    }

    /**
     * Keeps {@value #RESERVE_BYTES} bytes of the cache volume in {@code reserve}, given up when the volume is full
     * so the applied point can still be persisted and applied segments freed. Best effort: on a full volume it
     * waits for the next freed segment.
     */
    void keepReserve() throws IOException {
        Path reserve = dir.resolve(LogFileNames.RESERVE);
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

    /** Gives the reserve up (a full volume): true if there was one. */
    boolean releaseReserve() throws IOException {
        return Files.deleteIfExists(dir.resolve(LogFileNames.RESERVE));
    }

    void close() throws IOException {
        if (channel != null) {
            channel.close();
        }
    }
}
