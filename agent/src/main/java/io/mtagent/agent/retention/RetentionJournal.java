package io.mtagent.agent.retention;

import io.mtagent.agent.storage.AtomicFile;
import io.mtagent.agent.storage.CorruptLogException;
import io.mtagent.nativeio.PageCache;
import java.io.Closeable;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongConsumer;
import java.util.logging.Logger;
import java.util.stream.Stream;
import java.util.zip.CRC32C;

/**
 * One disk's retention journal: the before-image of every applied write and every tag, in sequence order
 * ({@link JournalFormat}). The applier appends through {@link JournalingApplyStage} and calls {@link #sync()}
 * before it overwrites the target: a target range is never overwritten before its before-image is durable.
 *
 * <p>Recovery follows the ingest log's rules: the {@code checkpoint} file (segment, position, seq, written
 * atomically at every roll, at close and at most once a second after a sync) marks what was synced; a record
 * that does not verify (length, chained CRC, incarnation) after it is a torn tail and is truncated at open, one
 * before it is {@link CorruptLogException}. A sealed segment with a valid index file ({@link SegmentIndex}) is not
 * re-read at open, so a restart does not scale with the journal's size; its records are verified when read
 * (each index entry carries the chained CRC before its record, so a record verifies on its own) and by
 * {@link #verifyOnline} ({@code mtagent verify}). A missing or stale index is rebuilt by a full scan.
 *
 * <p>Memory is bounded whatever the journal's size: per sealed segment a summary of ~100 bytes (a 1 TiB journal
 * of 64 MiB segments: 16 Ki segments, ~1.6 MiB); the current segment's index (33 bytes per record: at most
 * segmentBytes / 568 records, ~3.7 MiB for 64 MiB segments of 512-byte writes); the recovery points (~100 bytes
 * per tag); and the sealed indexes held by the shared {@link IndexCache} (64 MiB for the whole agent). Lookups
 * that miss the cache read the segment's {@code .idx} file again.
 *
 * <p>Thread-safety: appends and sync on the applier thread; reads ({@link #overlayAfter}, {@link #points},
 * {@link #seqAtOrBefore}, {@link #forEachImageAfter}) from any thread; shared state is synchronized on this;
 * sealed indexes are immutable.
 */
public final class RetentionJournal implements Closeable {
    private static final Logger LOG = Logger.getLogger(RetentionJournal.class.getName());
    static final String CHECKPOINT_FILE = "checkpoint";
    static final String PRUNED_FILE = "pruned";
    private static final SecureRandom RANDOM = new SecureRandom();

    /** Where one before-image lies, and the chained CRC before its record (to verify the record by itself). */
    public record ImageRef(long seq, long timestampMicros, long offset, int length, long segment, long position,
            int prevChain) {
    }

    /** Visits before-images (rollback and undo). */
    public interface ImageVisitor {
        void visit(ImageRef image) throws IOException;
    }

    private final Path dir;
    private final long segmentBytes;
    private final IndexCache cache;
    private final CRC32C crc = new CRC32C();
    private final ByteBuffer header = ByteBuffer.allocate(JournalFormat.PREFIX_LENGTH + JournalFormat.BODY_HEADER_LENGTH);
    private final ByteBuffer padding = ByteBuffer.allocate(8);

    // Guarded by this.
    /** SegmentIndex.Summary segments by first seq. */
    private final TreeMap<Long, SegmentIndex.Summary> sealed = new TreeMap<>();
    /** The segment being appended to (null only for a moment while the journal rolls). */
    private SegmentIndex current;
    private final ArrayList<RecoveryPoint> points = new ArrayList<>();
    /** Open views/exports: their points; pruning keeps every segment holding a record above the lowest. */
    private final TreeMap<Long, Integer> leases = new TreeMap<>();
    /** Everything ≤ this seq was pruned: the earliest point still recoverable. */
    private long prunedThrough;
    private long prunedThroughTimestamp = -1;
    private long lastSeq;
    private long syncedSeq;
    /** The branches of the history that are gone (read at open, replaced by {@link #discard}). */
    private volatile DiscardedHistory discarded;

    private io.mtagent.agent.storage.DirectoryLock lock;

    // Applier thread.
    private long segment;
    private long incarnation;
    private FileChannel channel;
    private long position;
    /** Where in the current segment the synced data's cached pages have been dropped up to (dropSynced). */
    private long uncachedUpTo;
    private int chain;
    private long lastCheckpointNanos;

    private RetentionJournal(Path dir, long segmentBytes, IndexCache cache) {
        this.dir = dir;
        this.segmentBytes = segmentBytes;
        this.cache = cache;
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
        io.mtagent.agent.storage.AtomicFile.createDirectories(dir); // durably (power-loss test)
        io.mtagent.agent.storage.DirectoryLock lock = io.mtagent.agent.storage.DirectoryLock.acquire(dir);
        RetentionJournal j = new RetentionJournal(dir, segmentBytes, cache);
        j.lock = lock;
        try {
            j.recover();
        } catch (IOException | RuntimeException e) {
            lock.close();
            throw e;
        }
        return j;
    }

    // ------------------------------------------------------------------ recovery

    private void recover() throws IOException {
        readPrunedMark();
        discarded = DiscardedHistory.load(dir);
        long[] cp = readCheckpoint();
        List<Path> files;
        try (Stream<Path> s = Files.list(dir)) {
            files = s.filter(p -> JournalFormat.isSegment(p.getFileName().toString())).sorted().toList();
        }
        removeOrphanIndexes(files);
        boolean tail = false;
        boolean first = true;
        int prevChain = 0;
        long nextIndex = cp == null ? 1 : cp[0] + 1;
        SegmentIndex open = null;
        for (int fi = 0; fi < files.size(); fi++) {
            Path file = files.get(fi);
            long index = JournalFormat.indexOf(file.getFileName().toString());
            if (tail) {
                deleteSegment(index);
                continue;
            }
            boolean beforeCp = cp != null && index < cp[0];
            boolean lastFile = fi == files.size() - 1;
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
                ByteBuffer hb = ByteBuffer.allocate(JournalFormat.HEADER_LENGTH);
                readFully(ch, hb, 0);
                JournalFormat.Header h = JournalFormat.readHeader(hb);
                if (h == null || h.index() != index || (!first && h.chainSeed() != prevChain)) {
                    if (beforeCp || (cp != null && index == cp[0])) {
                        throw new CorruptLogException(file, 0, "journal segment header does not verify or breaks the chain");
                    }
                    ch.close();
                    deleteSegment(index);
                    tail = true;
                    continue;
                }
                long size = ch.size();
                nextIndex = Math.max(nextIndex, index + 1);
                if (!lastFile) {
                    // A sealed segment: its index file, when it still describes it, spares the scan (only its
                    // header and points are read).
                    SegmentIndex.Summary sum = SegmentIndex.readSummary(dir, index, h.incarnation(), size);
                    if (sum != null && sum.lastSeq() <= prunedThrough) {
                        ch.close();
                        deleteSegment(index); // its pruning was interrupted after the mark
                        prevChain = sum.lastChain();
                        first = false;
                        continue;
                    }
                    if (sum != null && sum.firstSeq() > prunedThrough && follows(sum.firstSeq())) {
                        acceptSealed(sum);
                        prevChain = sum.lastChain();
                        first = false;
                        continue;
                    }
                }
                SegmentIndex scanned = new SegmentIndex(index, h.incarnation(), 1024);
                SegmentReader reader = new SegmentReader(ch, size, h);
                String bad = null;
                long pos;
                int chainNow;
                while (true) {
                    ByteBuffer body = reader.next();
                    if (body == null) {
                        bad = reader.failure();
                        pos = reader.end();
                        chainNow = reader.chain();
                        break;
                    }
                    long seq = body.getLong(16);
                    if (seq <= prunedThrough) {
                        continue; // a segment whose pruning was interrupted after the mark: removed below if all is
                    }
                    if (!follows(seq)) {
                        bad = "sequence " + seq + " after " + lastSeq;
                        pos = reader.position();
                        chainNow = reader.chainBefore();
                        break;
                    }
                    addRecord(scanned, body, reader.position(), reader.chainBefore());
                    lastSeq = seq;
                }
                if (bad == null && !lastFile && scanned.count() == 0) {
                    ch.close();
                    deleteSegment(index); // wholly pruned, or an empty segment left by a crash
                    prevChain = chainNow;
                    first = false;
                    continue;
                }
                if (!beforeCp) {
                    ch.force(false); // records past the checkpoint may exist only in the page cache after kill -9
                }
                if (bad != null) {
                    boolean synced = beforeCp || (cp != null && index == cp[0] && pos < cp[1]);
                    if (synced) {
                        throw new CorruptLogException(file, pos, bad);
                    }
                    ch.truncate(pos);
                    ch.force(true);
                    tail = true;
                }
                prevChain = chainNow;
                first = false;
                if (!lastFile && !tail) {
                    scanned.seal(size, chainNow);
                    writeIndex(scanned);
                    acceptSealed(SegmentIndex.Summary.of(scanned));
                } else {
                    Files.deleteIfExists(SegmentIndex.fileOf(dir, index)); // it is appended to again: stale soon
                    open = scanned;
                    segment = index;
                    incarnation = h.incarnation();
                    position = pos;
                    chain = chainNow;
                }
            }
        }
        if (cp != null && lastSeq < cp[2]) {
            throw new CorruptLogException(dir.resolve(CHECKPOINT_FILE), 0, "checkpoint says seq " + cp[2]
                    + " was synced but the journal ends at " + lastSeq);
        }
        syncedSeq = lastSeq;
        if (open == null) {
            chain = prevChain;
            startSegment(nextIndex, lastSeq + 1);
        } else {
            current = open;
            points.addAll(open.points());
            channel = FileChannel.open(dir.resolve(JournalFormat.fileName(segment)), StandardOpenOption.READ,
                    StandardOpenOption.WRITE);
        }
        writeCheckpoint();
    }

    /** Whether {@code seq} is the next one the journal expects (after its last record, or after what was pruned). */
    private boolean follows(long seq) {
        if (lastSeq != 0) {
            return seq == lastSeq + 1;
        }
        return prunedThrough == 0 || seq == prunedThrough + 1;
    }

    private void acceptSealed(SegmentIndex.Summary sum) {
        sealed.put(sum.firstSeq(), sum.withoutPoints()); // the journal's list holds the points
        points.addAll(sum.points());
        lastSeq = sum.lastSeq();
    }

    /** Adds the record in {@code body} (at {@code pos}, after chained CRC {@code chainBefore}) to {@code idx}. */
    private static void addRecord(SegmentIndex idx, ByteBuffer body, long pos, int chainBefore) {
        int type = body.get(0);
        long seq = body.getLong(16);
        long ts = body.getLong(24);
        int payloadLength = body.getInt(4);
        if (type == JournalFormat.TYPE_BEFORE_IMAGE) {
            idx.add(seq, ts, type, 0, body.getLong(32), body.getInt(40), pos, chainBefore, null);
        } else {
            byte[] name = new byte[payloadLength];
            body.get(JournalFormat.BODY_HEADER_LENGTH, name);
            idx.add(seq, ts, type, body.get(1), 0, payloadLength, pos, chainBefore,
                    new String(name, StandardCharsets.UTF_8));
        }
    }

    private void removeOrphanIndexes(List<Path> segments) throws IOException {
        java.util.Set<String> present = new java.util.HashSet<>();
        for (Path p : segments) {
            present.add(p.getFileName().toString().substring(0, 20));
        }
        try (Stream<Path> s = Files.list(dir)) {
            for (Path p : s.toList()) {
                String n = p.getFileName().toString();
                if (SegmentIndex.isIndexFile(n) && !present.contains(n.substring(0, 20))) {
                    Files.deleteIfExists(p);
                }
            }
        }
    }

    private void deleteSegment(long index) throws IOException {
        Files.deleteIfExists(dir.resolve(JournalFormat.fileName(index)));
        Files.deleteIfExists(SegmentIndex.fileOf(dir, index));
    }

    /** Writes a sealed segment's index; it is derived data, so failing to write it only costs a scan at open. */
    private void writeIndex(SegmentIndex idx) {
        try {
            idx.write(dir);
        } catch (IOException e) {
            LOG.warning("journal " + dir + ": could not write the index of segment " + idx.segment + " ("
                    + e.getMessage() + "); it is rebuilt from the segment when needed");
        }
    }

    /**
     * Rebuilds a sealed segment's index from the segment (its index file went missing or stale while the agent
     * ran), verifying every record.
     */
    private SegmentIndex scanSealed(SegmentIndex.Summary s) throws IOException {
        Path file = dir.resolve(JournalFormat.fileName(s.segment()));
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            ByteBuffer hb = ByteBuffer.allocate(JournalFormat.HEADER_LENGTH);
            readFully(ch, hb, 0);
            JournalFormat.Header h = JournalFormat.readHeader(hb);
            if (h == null || h.incarnation() != s.incarnation()) {
                throw new CorruptLogException(file, 0, "journal segment header does not verify");
            }
            SegmentIndex idx = new SegmentIndex(s.segment(), s.incarnation(), 1024);
            SegmentReader reader = new SegmentReader(ch, ch.size(), h);
            ByteBuffer body;
            while ((body = reader.next()) != null) {
                if (body.getLong(16) >= s.firstSeq()) {
                    addRecord(idx, body, reader.position(), reader.chainBefore());
                }
            }
            if (reader.failure() != null) {
                throw new CorruptLogException(file, reader.end(), reader.failure());
            }
            if (idx.count() == 0 || idx.firstSeq() != s.firstSeq() || idx.lastSeq() != s.lastSeq()) {
                throw new CorruptLogException(file, 0, "segment no longer holds seq " + s.firstSeq() + ".." + s.lastSeq());
            }
            idx.seal(reader.end(), reader.chain());
            writeIndex(idx);
            return idx;
        }
    }

    /** A sealed segment's index, from the cache, its file, or a scan. */
    private SegmentIndex indexOf(SegmentIndex.Summary s) throws IOException {
        try {
            return cache.get(dir, s.segment(), () -> {
                SegmentIndex idx = SegmentIndex.read(dir, s.segment(), s.incarnation(), s.fileLength());
                return idx != null ? idx : scanSealed(s);
            });
        } catch (NoSuchFileException e) {
            throw prunedOr(s.segment(), e);
        }
    }

    /**
     * {@code e} (a segment's file was missing) as a {@link SegmentPrunedException} when the segment was pruned
     * meanwhile, which a reader without a lease can meet; otherwise {@code e} itself (a file lost otherwise).
     */
    private synchronized IOException prunedOr(long segment, NoSuchFileException e) {
        boolean pruned = !sealed.containsKey(segment) && (current == null || segment != current.segment);
        return pruned ? new SegmentPrunedException(segment, prunedThrough) : e;
    }

    // ------------------------------------------------------------------ appends (applier thread)

    /** Appends the before-image of write {@code seq} (the target's bytes in [offset, offset+data.remaining())). */
    public void appendBeforeImage(long seq, long timestampMicros, long offset, ByteBuffer data) throws IOException {
        append(JournalFormat.TYPE_BEFORE_IMAGE, 0, seq, timestampMicros, offset, data);
    }

    /** Appends a tag (a recovery point once synced). */
    public void appendPoint(long seq, long timestampMicros, int tagType, String name) throws IOException {
        append(JournalFormat.TYPE_POINT, tagType, seq, timestampMicros, 0,
                ByteBuffer.wrap(name.getBytes(StandardCharsets.UTF_8)));
    }

    private void append(int type, int tagType, long seq, long ts, long offset, ByteBuffer payload) throws IOException {
        synchronized (this) {
            if (lastSeq != 0 && seq != lastSeq + 1) {
                throw new IllegalStateException("journal of " + dir + ": seq " + seq + " after " + lastSeq);
            }
        }
        int payloadLength = payload.remaining();
        int length = JournalFormat.recordLength(payloadLength);
        if (position + length > segmentBytes && position > JournalFormat.HEADER_LENGTH) {
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
        ByteBuffer bodyHeader = header.duplicate().position(JournalFormat.PREFIX_LENGTH).slice();
        int c = JournalFormat.chainedCrc(crc, chain, bodyHeader, payload);
        ByteBuffer body = bodyHeader;
        if (type != JournalFormat.TYPE_BEFORE_IMAGE) {
            body = ByteBuffer.allocate(JournalFormat.BODY_HEADER_LENGTH + payloadLength);
            body.put(bodyHeader.duplicate()).put(payload.duplicate()).flip();
        }
        header.putInt(4, c);
        padding.clear().limit(length - JournalFormat.PREFIX_LENGTH - JournalFormat.BODY_HEADER_LENGTH - payloadLength);
        long pos = position;
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
                FullHandler h = fullHandler;
                if (h == null || stopRequested || !h.onFull(this)) {
                    throw new IOException("retention volume full (" + dir + "): " + e.getMessage(), e);
                }
                wasFull = true;
            }
        }
        if (wasFull && fullHandler != null) {
            fullHandler.recovered(this);
        }
        position += length;
        int before = chain;
        chain = c;
        synchronized (this) {
            addRecord(current, body, pos, before);
            if (type == JournalFormat.TYPE_POINT) {
                List<RecoveryPoint> ps = current.points();
                points.add(ps.get(ps.size() - 1));
            }
            lastSeq = seq;
        }
    }

    /** Seals the current segment (synced, index written) and starts the next one. */
    private void roll(long nextSeq) throws IOException {
        channel.force(false);
        dropSynced();
        long length = position;
        channel.close();
        SegmentIndex done;
        synchronized (this) {
            done = current;
            done.seal(length, chain);
            sealed.put(done.firstSeq(), SegmentIndex.Summary.of(done).withoutPoints());
            current = null;
        }
        cache.put(dir, done);
        writeIndex(done);
        startSegment(segment + 1, nextSeq);
        writeCheckpoint();
    }

    /** Makes every append durable (one fdatasync: the group commit of a batch). */
    public void sync() throws IOException {
        channel.force(false);
        synchronized (this) {
            syncedSeq = lastSeq;
        }
        dropSynced();
        if (System.nanoTime() - lastCheckpointNanos > 1_000_000_000L) {
            writeCheckpoint();
        }
    }

    private void startSegment(long index, long firstSeq) throws IOException {
        incarnation = RANDOM.nextLong();
        Path file = dir.resolve(JournalFormat.fileName(index));
        Files.deleteIfExists(SegmentIndex.fileOf(dir, index));
        FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ,
                StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING);
        ByteBuffer h = JournalFormat.header(incarnation, firstSeq, index, chain);
        while (h.hasRemaining()) {
            ch.write(h, h.position());
        }
        ch.force(true);
        AtomicFile.fsyncDirectory(dir);
        synchronized (this) {
            current = new SegmentIndex(index, incarnation, 1024);
        }
        segment = index;
        channel = ch;
        position = JournalFormat.HEADER_LENGTH;
        uncachedUpTo = 0;
    }

    /**
     * Drops the page-cache pages of what the last sync made durable in the current segment. The journal is written
     * once and read only for recovery points: its pages only crowd the cache, and reusing them for the next appends
     * is cheaper than taking fresh ones ({@link PageCache}). Advice only; it never touches the data. Applier thread.
     */
    private void dropSynced() {
        if (position > uncachedUpTo) {
            PageCache.dropClean(dir.resolve(JournalFormat.fileName(segment)), uncachedUpTo, position - uncachedUpTo);
            uncachedUpTo = position;
        }
    }

    private void writeCheckpoint() throws IOException {
        long seq;
        synchronized (this) {
            seq = syncedSeq;
        }
        ByteBuffer b = ByteBuffer.allocate(28).putLong(segment).putLong(position).putLong(seq);
        CRC32C c = new CRC32C();
        c.update(b.array(), 0, 24);
        b.putInt((int) c.getValue());
        AtomicFile.write(dir.resolve(CHECKPOINT_FILE), b.array());
        lastCheckpointNanos = System.nanoTime();
    }

    private long[] readCheckpoint() throws IOException {
        Path f = dir.resolve(CHECKPOINT_FILE);
        if (!Files.exists(f)) {
            return null;
        }
        byte[] b = Files.readAllBytes(f);
        CRC32C c = new CRC32C();
        c.update(b, 0, Math.min(24, b.length));
        ByteBuffer bb = ByteBuffer.wrap(b);
        if (b.length != 28 || (int) c.getValue() != bb.getInt(24)) {
            throw new CorruptLogException(f, 0, "journal checkpoint does not verify");
        }
        return new long[] {bb.getLong(0), bb.getLong(8), bb.getLong(16)};
    }

    // ------------------------------------------------------------------ reads

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
        Path aside = dir.resolveSibling(dir.getFileName() + ".broken-" + System.currentTimeMillis());
        Files.move(dir, aside);
        Files.createDirectories(dir);
        ByteBuffer b = ByteBuffer.allocate(20).putLong(appliedSeq).putLong(-1);
        CRC32C c = new CRC32C();
        c.update(b.array(), 0, 16);
        b.putInt((int) c.getValue());
        AtomicFile.write(dir.resolve(PRUNED_FILE), b.array());
        AtomicFile.fsyncDirectory(dir.getParent());
        return aside;
    }

    /**
     * What to do when the retention volume is full (ENOSPC) while journaling: the retention policy decides
     * (DESIGN.md: shrink the window, pause apply, or stop writes). Called on the applier thread, which waits in
     * it; nothing acknowledged is lost meanwhile, the ingest log keeps it.
     */
    public interface FullHandler {
        /** @return true to retry the append (after freeing space or waiting), false to fail the disk */
        boolean onFull(RetentionJournal journal) throws IOException;

        /** The append went through again after {@link #onFull}. */
        default void recovered(RetentionJournal journal) {
        }
    }

    private volatile FullHandler fullHandler;
    /** The first damage found by a read or a verify since open ("file at offset: reason"), or null. */
    private volatile String damage;

    /**
     * Damage found since open by a read or {@link #verifyOnline} (the open itself refuses damage before the
     * checkpoint in what it scans), or null: the status reports it (MT-2005) until 'mtagent verify --repair'.
     */
    public String damage() {
        return damage;
    }

    private void noteDamage(String what) {
        if (damage == null) {
            damage = what;
            LOG.severe("retention journal " + dir + " is damaged: " + what + ". Recovery points before the damage"
                    + " cannot be read. Stop the agent, copy " + dir + ", then run 'mtagent verify --repair'");
        }
    }
    private volatile boolean stopRequested;

    /** Shutdown: an append waiting for space gives up (the batch is redone after the restart). */
    public void requestStop() {
        stopRequested = true;
    }

    public boolean stopRequested() {
        return stopRequested;
    }

    public void setFullHandler(FullHandler handler) {
        this.fullHandler = handler;
    }

    static boolean isNoSpace(IOException e) {
        String m = String.valueOf(e.getMessage());
        return m.contains("No space left on device") || m.contains("There is not enough space on the disk")
                || m.contains("ENOSPC");
    }

    /** Segment index, incarnation and last seq of every segment holding records, oldest first. */
    private synchronized List<long[]> segmentsSnapshot() {
        List<long[]> out = new ArrayList<>();
        for (SegmentIndex.Summary s : sealed.values()) {
            out.add(new long[] {s.segment(), s.incarnation(), s.lastSeq()});
        }
        if (current != null && current.count() > 0) {
            out.add(new long[] {current.segment, current.incarnation, current.lastSeq()});
        }
        return out;
    }

    /**
     * Online verify ({@code mtagent verify}, while the agent runs or offline): re-reads every journaled record up to
     * the last one indexed when it starts, checking length, chained CRC, incarnation and sequence, without touching
     * the files. Holds a lease so pruning waits. Thread-safe alongside the applier's appends.
     *
     * @return null when everything verifies, else "file at offset: reason"
     */
    public String verifyOnline(LongConsumer progress) throws IOException {
        String found = verifyRecords(progress);
        if (found != null) {
            noteDamage(found);
        }
        return found;
    }

    private String verifyRecords(LongConsumer progress) throws IOException {
        List<long[]> segs = segmentsSnapshot();
        try (AutoCloseable hold = lease(earliestSeq())) {
            long checked = 0;
            Integer prevChain = null;
            long prevSeq = 0;
            for (long[] e : segs) {
                long seg = e[0];
                long last = e[2];
                Path file = dir.resolve(JournalFormat.fileName(seg));
                try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
                    ByteBuffer hb = ByteBuffer.allocate(JournalFormat.HEADER_LENGTH);
                    readFully(ch, hb, 0);
                    JournalFormat.Header h = JournalFormat.readHeader(hb);
                    if (h == null || h.incarnation() != e[1] || (prevChain != null && h.chainSeed() != prevChain)) {
                        return file + " at 0: segment header does not verify or breaks the chain";
                    }
                    // The current segment grows meanwhile: read only what was there when the verify started.
                    SegmentReader reader = new SegmentReader(ch, ch.size(), h);
                    while (true) {
                        ByteBuffer body = reader.next();
                        if (body == null) {
                            return file + " at " + reader.end() + ": " + (reader.failure() == null
                                    ? "ends before seq " + last : reader.failure());
                        }
                        long seq = body.getLong(16);
                        if (prevSeq != 0 && seq != prevSeq + 1 && seq > prunedThroughNow()) {
                            return file + " at " + reader.position() + ": sequence " + seq + " after " + prevSeq;
                        }
                        prevSeq = seq;
                        checked++;
                        progress.accept(checked);
                        if (seq >= last) {
                            break;
                        }
                    }
                    int chainNow = reader.chain();
                    prevChain = chainNow;
                }
            }
            return null;
        } catch (IOException e) {
            throw e;
        } catch (Exception e) {
            throw new IOException(e);
        }
    }

    private synchronized long prunedThroughNow() {
        return prunedThrough;
    }

    /** A view's hold on the journal: while open, pruning keeps every record above its point. */
    public AutoCloseable lease(long point) {
        synchronized (this) {
            if (point < prunedThrough) {
                throw new IllegalStateException("point seq " + point + " is no longer held: retention starts after seq "
                        + prunedThrough);
            }
            leases.merge(point, 1, Integer::sum);
        }
        return () -> {
            synchronized (RetentionJournal.this) {
                leases.computeIfPresent(point, (k, v) -> v == 1 ? null : v - 1);
            }
        };
    }

    /** The earliest recoverable point (seq) and its source time (-1 when unknown). */
    public synchronized long earliestSeq() {
        return prunedThrough;
    }

    public synchronized long earliestTimestampMicros() {
        if (prunedThrough != 0) {
            return prunedThroughTimestamp;
        }
        if (!sealed.isEmpty()) {
            return sealed.firstEntry().getValue().firstTs();
        }
        return current != null && current.count() > 0 ? current.firstTimestamp() : -1;
    }

    /** Bytes of all journal segments and their index files. */
    public long sizeBytes() throws IOException {
        long sum = 0;
        try (Stream<Path> s = Files.list(dir)) {
            for (Path p : s.toList()) {
                String n = p.getFileName().toString();
                if (JournalFormat.isSegment(n) || SegmentIndex.isIndexFile(n)) {
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

    /** The oldest prunable segment's index, last seq and last timestamp, or null when only the current one is left. */
    public synchronized long[] oldestPrunable() {
        if (sealed.isEmpty()) {
            return null;
        }
        SegmentIndex.Summary s = sealed.firstEntry().getValue();
        return new long[] {s.segment(), s.lastSeq(), s.lastTs()};
    }

    /**
     * Drops the oldest segment if no open view still needs it (a view at P needs every record above P) and it is
     * not the current one. Records are removed whole-segment, oldest first.
     *
     * @return true if a segment was dropped
     */
    public boolean pruneOldestSegment() throws IOException {
        synchronized (pruneLock) { // one prune at a time: two pruners must not write the pruned mark at once
            return pruneOldest();
        }
    }

    /** Serialises {@link #pruneOldestSegment} (held across its file I/O, so never {@code this}). */
    private final Object pruneLock = new Object();

    private boolean pruneOldest() throws IOException {
        SegmentIndex.Summary s;
        synchronized (this) {
            if (sealed.isEmpty()) {
                return false;
            }
            s = sealed.firstEntry().getValue();
            if (!leases.isEmpty() && s.lastSeq() > leases.firstKey()) {
                return false; // an open view at a point below this segment's records still reads them
            }
            prunedThroughTimestamp = s.lastTs();
            prunedThrough = s.lastSeq();
            sealed.pollFirstEntry();
            long last = s.lastSeq();
            points.removeIf(p -> p.seq() <= last);
        }
        // The mark first: a crash before the delete leaves a segment wholly at or below the mark, which recovery
        // removes; the other order would leave a hole that looks like corruption.
        writePrunedMark(s.lastSeq());
        cache.remove(dir, s.segment());
        FileChannel reader = readers.remove(s.segment());
        if (reader != null) {
            reader.close(); // no lease covers it any more, so no view reads it
        }
        deleteSegment(s.segment());
        AtomicFile.fsyncDirectory(dir);
        return true;
    }

    /** {@code pruned}: seq u64, timestamp i64, crc u32 — what was pruned, so the earliest point survives restarts. */
    private void writePrunedMark(long seq) throws IOException {
        long ts;
        synchronized (this) {
            ts = prunedThroughTimestamp;
        }
        ByteBuffer b = ByteBuffer.allocate(20).putLong(seq).putLong(ts);
        CRC32C c = new CRC32C();
        c.update(b.array(), 0, 16);
        b.putInt((int) c.getValue());
        AtomicFile.write(dir.resolve(PRUNED_FILE), b.array());
    }

    private void readPrunedMark() throws IOException {
        Path f = dir.resolve(PRUNED_FILE);
        if (!Files.exists(f)) {
            return;
        }
        byte[] b = Files.readAllBytes(f);
        CRC32C c = new CRC32C();
        c.update(b, 0, Math.min(16, b.length));
        ByteBuffer bb = ByteBuffer.wrap(b);
        if (b.length != 20 || (int) c.getValue() != bb.getInt(16)) {
            throw new CorruptLogException(f, 0, "journal pruning mark does not verify");
        }
        prunedThrough = bb.getLong(0);
        prunedThroughTimestamp = bb.getLong(8);
    }

    /** The discarded branches of the disk's recovery history. */
    public DiscardedHistory discarded() {
        return discarded;
    }

    /** Adds a discarded range; durable when this returns. */
    public synchronized void discard(DiscardedHistory.Range range) throws IOException {
        discarded = discarded.with(range);
    }

    /** Highest journaled sequence number (durable only after {@link #sync()}). */
    public synchronized long lastSeq() {
        return lastSeq;
    }

    public Path directory() {
        return dir;
    }

    /** Tags journaled so far, oldest first. */
    public synchronized List<RecoveryPoint> points() {
        return List.copyOf(points);
    }

    /** SegmentIndex.Summary segments holding a record with seq &gt; {@code point}, oldest first. */
    private List<SegmentIndex.Summary> sealedAfterLocked(long point) {
        Long from = sealed.floorKey(point + 1);
        return new ArrayList<>((from == null ? sealed : sealed.tailMap(from, true)).values());
    }

    /** The largest journaled seq whose timestamp is ≤ {@code timestampMicros}, or 0 when none is. */
    public long seqAtOrBefore(long timestampMicros) {
        SegmentIndex.Summary hit = null;
        synchronized (this) {
            if (current != null && current.count() > 0 && current.firstTimestamp() <= timestampMicros) {
                return current.seqAtOrBefore(timestampMicros);
            }
            // Timestamps are non-decreasing: the answer is in the last segment starting at or before the time.
            for (SegmentIndex.Summary s : sealed.descendingMap().values()) {
                if (s.firstTs() <= timestampMicros) {
                    hit = s;
                    break;
                }
            }
            if (hit == null) {
                return 0;
            }
            if (hit.lastTs() <= timestampMicros) {
                return hit.lastSeq();
            }
        }
        try {
            return indexOf(hit).seqAtOrBefore(timestampMicros);
        } catch (SegmentPrunedException e) {
            throw new IllegalStateException(e.getMessage(), e); // resolved without a lease: a refusal, not an error
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Timestamp of journaled seq, or -1. */
    public long timestampOf(long seq) {
        SegmentIndex.Summary hit;
        synchronized (this) {
            if (current != null && current.count() > 0 && seq >= current.firstSeq()) {
                return current.timestampOf(seq);
            }
            var e = sealed.floorEntry(seq);
            if (e == null || seq > e.getValue().lastSeq()) {
                return -1;
            }
            hit = e.getValue();
            if (seq == hit.lastSeq()) {
                return hit.lastTs();
            }
            if (seq == hit.firstSeq()) {
                return hit.firstTs();
            }
        }
        try {
            return indexOf(hit).timestampOf(seq);
        } catch (SegmentPrunedException e) {
            throw new IllegalStateException(e.getMessage(), e); // resolved without a lease: a refusal, not an error
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** How many before-images have seq &gt; {@code point}, and their bytes (what a rollback to it writes). */
    public long[] imagesAfter(long point) throws IOException {
        List<SegmentIndex.Summary> segs;
        long[] sum;
        synchronized (this) {
            segs = sealedAfterLocked(point);
            sum = current == null ? new long[2] : current.imagesAfter(point);
        }
        for (SegmentIndex.Summary s : segs) {
            long[] part = s.firstSeq() > point ? new long[] {s.imageCount(), s.imageBytes()} : indexOf(s).imagesAfter(point);
            sum[0] += part[0];
            sum[1] += part[1];
        }
        return sum;
    }

    /**
     * Visits every before-image with seq &gt; {@code point}, oldest first or newest first, one segment's index at a
     * time (memory stays bounded). Records appended after the call starts are not visited. The caller holds a
     * {@link #lease} (or the applier is paused) so the segments stay.
     */
    public void forEachImageAfter(long point, boolean newestFirst, ImageVisitor visitor) throws IOException {
        List<SegmentIndex.Summary> segs;
        List<ImageRef> tail = new ArrayList<>();
        synchronized (this) {
            segs = sealedAfterLocked(point);
            if (current != null) {
                for (int i = (int) Math.max(0, point + 1 - current.firstSeq()); i < current.count(); i++) {
                    if (current.isImage(i)) {
                        tail.add(current.ref(i));
                    }
                }
            }
        }
        if (newestFirst) {
            Collections.reverse(tail);
            Collections.reverse(segs);
            for (ImageRef r : tail) {
                visitor.visit(r);
            }
        }
        for (SegmentIndex.Summary s : segs) {
            SegmentIndex idx = indexOf(s);
            int from = (int) Math.max(0, point + 1 - idx.firstSeq());
            if (newestFirst) {
                for (int i = idx.count() - 1; i >= from; i--) {
                    if (idx.isImage(i)) {
                        visitor.visit(idx.ref(i));
                    }
                }
            } else {
                for (int i = from; i < idx.count(); i++) {
                    if (idx.isImage(i)) {
                        visitor.visit(idx.ref(i));
                    }
                }
            }
        }
        if (!newestFirst) {
            for (ImageRef r : tail) {
                visitor.visit(r);
            }
        }
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

    /** Receives one segment's before-images overlapping a range, in seq order; false stops the walk. */
    interface SegmentImages {
        boolean accept(List<ImageRef> images) throws IOException;
    }

    /**
     * Walks the segments holding records with seq &gt; {@code point}, oldest first, handing each one's
     * before-images that overlap [{@code from}, {@code to}) to {@code visitor} (segments with none are skipped),
     * until it returns false. Sealed segments are searched through their offset-sorted index. The caller holds a
     * lease, so the segments stay.
     */
    void overlapping(long point, long from, long to, SegmentImages visitor) throws IOException {
        List<SegmentIndex.Summary> segs;
        List<ImageRef> tail = new ArrayList<>();
        synchronized (this) {
            segs = sealedAfterLocked(point);
            if (current != null) {
                current.overlapping(point, from, to, tail);
            }
        }
        List<ImageRef> candidates = new ArrayList<>();
        for (SegmentIndex.Summary s : segs) {
            candidates.clear();
            indexOf(s).overlapping(point, from, to, candidates);
            if (!candidates.isEmpty() && !visitor.accept(candidates)) {
                return;
            }
        }
        if (!tail.isEmpty()) {
            visitor.accept(tail);
        }
    }

    /** Read channels per segment, shared by readers (positional reads are thread-safe); closed on prune/close. */
    private final ConcurrentHashMap<Long, FileChannel> readers = new ConcurrentHashMap<>();

    /** The shared read channel of a segment (opened on first use; closed when it is pruned or at close). */
    FileChannel segmentChannel(long segmentIndex) throws IOException {
        FileChannel ch = readers.get(segmentIndex);
        if (ch == null) {
            FileChannel opened;
            try {
                opened = FileChannel.open(dir.resolve(JournalFormat.fileName(segmentIndex)), StandardOpenOption.READ);
            } catch (NoSuchFileException e) {
                throw prunedOr(segmentIndex, e);
            }
            ch = readers.putIfAbsent(segmentIndex, opened);
            if (ch == null) {
                ch = opened;
            } else {
                opened.close();
            }
        }
        return ch;
    }

    /** Notes a record that does not verify (for the status) and returns the exception to throw. */
    CorruptLogException damaged(ImageRef r, String what) {
        Path file = dir.resolve(JournalFormat.fileName(r.segment()));
        noteDamage(file + " at " + r.position() + ": " + what);
        return new CorruptLogException(file, r.position(), what);
    }

    private static void readFully(FileChannel ch, ByteBuffer b, long pos) throws IOException {
        while (b.hasRemaining()) {
            if (ch.read(b, pos + b.position()) < 0) {
                break;
            }
        }
        b.flip();
    }

    @Override
    public void close() throws IOException {
        try {
            if (channel != null && channel.isOpen()) {
                channel.force(false);
                synchronized (this) {
                    syncedSeq = lastSeq;
                }
                writeCheckpoint();
                channel.close();
            }
        } finally {
            for (FileChannel ch : readers.values()) {
                ch.close();
            }
            readers.clear();
            cache.removeAll(dir);
            if (lock != null) {
                lock.close();
                lock = null;
            }
        }
    }
}
