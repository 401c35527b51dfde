package io.mtagent.agent.journal;

import io.mtagent.agent.log.AtomicFile;
import io.mtagent.agent.log.Checkpoint;
import io.mtagent.agent.log.LogFileNames;
import io.mtagent.agent.log.LogIO;
import io.mtagent.agent.log.RecordFraming;
import io.mtagent.agent.log.SegmentHeader;
import io.mtagent.nativeio.PageCache;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.SecureRandom;
import java.util.List;
import java.util.logging.Logger;
import java.util.zip.CRC32C;

/**
 * Appends to a retention journal (applier thread): records in sequence order without gaps, each chained to the one
 * before ({@link JournalFormat}), segments rolled at {@code segmentBytes} (the sealed one synced, its index written),
 * and {@link #sync} as the batch's group commit.
 *
 * <h2>Promises</h2>
 * <ul>
 *   <li><b>Before-image before overwrite</b>: the applier calls {@link #sync} before it overwrites the target, and
 *       only a record synced here counts: a target range is never overwritten before its before-image is
 *       durable.</li>
 *   <li>The checkpoint ({@link Checkpoint}) is written only right after a sync of everything before it: at every
 *       roll, at open and close, and at most once a second after a sync.</li>
 *   <li>A full retention volume (ENOSPC) never leaves a partial record: the append is truncated back and the
 *       {@link RetentionJournal.FullHandler} decides (free space and retry, or fail the disk).</li>
 * </ul>
 */
final class JournalWriter {
    private static final Logger LOG = Logger.getLogger(JournalWriter.class.getName());
    private static final SecureRandom RANDOM = new SecureRandom();

    private final RetentionJournal journal;
    private final Path dir;
    private final long segmentBytes;
    private final IndexCache cache;
    private final JournalState state;
    private final CRC32C crc = new CRC32C();
    private final ByteBuffer header = ByteBuffer.allocate(JournalFormat.PAYLOAD_OFFSET);
    private final ByteBuffer padding = ByteBuffer.allocate(8);
    private volatile RetentionJournal.FullHandler fullHandler;
    private volatile boolean stopRequested;

    // Applier thread.
    private long segment;
    private Path currentFile;
    private long incarnation;
    private FileChannel channel;
    private long position;
    /** Where in the current segment the synced data's cached pages have been dropped up to (dropSynced). */
    private long uncachedUpTo;
    private int chain;
    private long lastCheckpointNanos;

    JournalWriter(RetentionJournal journal, Path dir, long segmentBytes, IndexCache cache, JournalState state) {
        this.journal = journal;
        this.dir = dir;
        this.segmentBytes = segmentBytes;
        this.cache = cache;
        this.state = state;
    }

    /** At open, when no segment is left to append to: a new one, chained from {@code chainSeed}. */
    void startFresh(long index, long firstSeq, int chainSeed) throws IOException {
        chain = chainSeed;
        startSegment(index, firstSeq);
    }

    /** At open: appends go on in {@code index} at {@code appendAt}, after chained CRC {@code chainNow}. */
    void resume(long index, long segmentIncarnation, long appendAt, int chainNow) throws IOException {
        segment = index;
        currentFile = segmentFile(index);
        incarnation = segmentIncarnation;
        position = appendAt;
        chain = chainNow;
        channel = LogIO.get().open(currentFile, StandardOpenOption.READ, StandardOpenOption.WRITE);
    }

    private Path segmentFile(long index) {
        return dir.resolve(LogFileNames.segment(JournalFormat.KIND, index));
    }

    void appendBeforeImage(long seq, long timestampMicros, long offset, ByteBuffer data) throws IOException {
        append(JournalFormat.TYPE_BEFORE_IMAGE, 0, seq, timestampMicros, offset, data);
    }

    void appendPoint(long seq, long timestampMicros, int tagType, String name) throws IOException {
        append(JournalFormat.TYPE_POINT, tagType, seq, timestampMicros, 0,
                ByteBuffer.wrap(name.getBytes(StandardCharsets.UTF_8)));
    }

    private void append(int type, int tagType, long seq, long ts, long offset, ByteBuffer payload) throws IOException {
        synchronized (state) {
            if (state.lastSeq != 0 && seq != state.lastSeq + 1) {
                throw new IllegalStateException("journal of " + dir + ": seq " + seq + " after " + state.lastSeq);
            }
        }
        int payloadLength = payload.remaining();
        int length = JournalFormat.recordLength(payloadLength);
        if (position + length > segmentBytes && position > SegmentHeader.LENGTH) {
            roll(seq);
        }
        header.clear();
        header.putInt(JournalFormat.BODY_HEADER_LENGTH + payloadLength).putInt(0);
        header.put((byte) type).put((byte) tagType).putShort((short) 0).putInt(payloadLength).putLong(incarnation)
                .putLong(seq).putLong(ts).putLong(offset).putInt(type == JournalFormat.TYPE_BEFORE_IMAGE ? payloadLength : 0)
                .putInt(0);
        header.flip();
        // The CRC runs over the body header and the payload where they are: copying them into one body buffer
        // first was an allocation and a copy of every before-image. The index needs only the body header for an
        // image; a point's name is in its (small) payload.
        ByteBuffer bodyHeader = header.duplicate().position(RecordFraming.PREFIX_LENGTH).slice();
        int c = RecordFraming.recordCrc(JournalFormat.KIND, crc, chain, bodyHeader, payload);
        RecordFraming.putPrefix(header, JournalFormat.BODY_HEADER_LENGTH + payloadLength, c);
        padding.clear().limit(RecordFraming.padding(JournalFormat.KIND, payloadLength));
        long pos = position;
        writeWhole(pos, length, payload);
        position += length;
        int before = chain;
        chain = c;
        synchronized (state) {
            JournalFormat.addTo(state.current, bodyHeader, payload, pos, before);
            if (type == JournalFormat.TYPE_POINT) {
                List<RecoveryPoint> ps = state.current.points();
                state.points.add(ps.get(ps.size() - 1));
            }
            state.lastSeq = seq;
        }
    }

    /** Writes one whole record at {@code pos}; on ENOSPC it cuts the partial record off and asks the handler. */
    private void writeWhole(long pos, int length, ByteBuffer payload) throws IOException {
        boolean wasFull = false;
        while (true) {
            ByteBuffer[] parts = {header.duplicate(), payload.duplicate(), padding.duplicate()};
            try {
                long written = 0;
                while (written < length) {
                    channel.position(pos + written);
                    written += channel.write(parts);
                }
                break;
            } catch (IOException e) {
                if (!isNoSpace(e)) {
                    throw e;
                }
                channel.truncate(pos); // drop the partial record: the next attempt rewrites it whole
                RetentionJournal.FullHandler h = fullHandler;
                if (h == null || stopRequested || !h.onFull(journal)) {
                    throw new IOException("retention volume full (" + dir + "): " + e.getMessage(), e);
                }
                wasFull = true;
            }
        }
        RetentionJournal.FullHandler h = fullHandler;
        if (wasFull && h != null) {
            h.recovered(journal);
        }
    }

    static boolean isNoSpace(IOException e) {
        String m = String.valueOf(e.getMessage());
        return m.contains("No space left on device") || m.contains("There is not enough space on the disk")
                || m.contains("ENOSPC");
    }

    /** Seals the current segment (synced, index written) and starts the next one. */
    private void roll(long nextSeq) throws IOException {
        LogIO.get().force(currentFile, channel, false);
        dropSynced();
        long length = position;
        channel.close();
        SegmentIndex done;
        synchronized (state) {
            done = state.current;
            done.seal(length, chain);
            state.sealed.put(done.firstSeq(), SegmentIndex.Summary.of(done).withoutPoints());
            state.current = null;
        }
        cache.put(dir, done);
        writeIndex(done);
        startSegment(segment + 1, nextSeq);
        writeCheckpoint();
    }

    /** Makes every append durable (one fdatasync: the group commit of a batch). */
    void sync() throws IOException {
        LogIO.get().force(currentFile, channel, false);
        synchronized (state) {
            state.syncedSeq = state.lastSeq;
        }
        dropSynced();
        if (System.nanoTime() - lastCheckpointNanos > 1_000_000_000L) {
            writeCheckpoint();
        }
    }

    private void startSegment(long index, long firstSeq) throws IOException {
        incarnation = RANDOM.nextLong();
        Path file = segmentFile(index);
        Files.deleteIfExists(SegmentIndex.fileOf(dir, index));
        FileChannel ch = LogIO.get().open(file, StandardOpenOption.CREATE, StandardOpenOption.READ,
                StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING);
        new SegmentHeader(incarnation, firstSeq, index, chain).writeTo(JournalFormat.KIND, ch);
        LogIO.get().force(file, ch, true);
        AtomicFile.fsyncDirectory(dir);
        synchronized (state) {
            state.current = new SegmentIndex(index, incarnation, 1024);
        }
        segment = index;
        currentFile = file;
        channel = ch;
        position = SegmentHeader.LENGTH;
        uncachedUpTo = 0;
    }

    /**
     * Drops the page-cache pages of what the last sync made durable in the current segment. The journal is written
     * once and read only for recovery points: its pages only crowd the cache, and reusing them for the next appends
     * is cheaper than taking fresh ones ({@link PageCache}). Advice only; it never touches the data.
     */
    private void dropSynced() {
        if (position > uncachedUpTo) {
            PageCache.dropClean(currentFile, uncachedUpTo, position - uncachedUpTo);
            uncachedUpTo = position;
        }
    }

    void writeCheckpoint() throws IOException {
        long seq;
        synchronized (state) {
            seq = state.syncedSeq;
        }
        new Checkpoint(segment, position, seq).write(dir.resolve(LogFileNames.CHECKPOINT));
        lastCheckpointNanos = System.nanoTime();
    }

    /** Writes a sealed segment's index; it is derived data, so failing to write it only costs a scan at open. */
    void writeIndex(SegmentIndex idx) {
        try {
            idx.write(dir);
        } catch (IOException e) {
            LOG.warning("journal " + dir + ": could not write the index of segment " + idx.segment + " ("
                    + e.getMessage() + "); it is rebuilt from the segment when needed");
        }
    }

    void setFullHandler(RetentionJournal.FullHandler handler) {
        this.fullHandler = handler;
    }

    void requestStop() {
        stopRequested = true;
    }

    boolean stopRequested() {
        return stopRequested;
    }

    /** Syncs what was appended, checkpoints and closes the segment. */
    void close() throws IOException {
        if (channel != null && channel.isOpen()) {
            LogIO.get().force(currentFile, channel, false);
            synchronized (state) {
                state.syncedSeq = state.lastSeq;
            }
            writeCheckpoint();
            channel.close();
        }
    }
}
