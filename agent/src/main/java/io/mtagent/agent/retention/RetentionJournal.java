package io.mtagent.agent.retention;

import io.mtagent.agent.storage.AtomicFile;
import io.mtagent.agent.storage.CorruptLogException;
import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;
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
 * before it is {@link CorruptLogException}.
 *
 * <p>Memory: an index entry of ~64 bytes per journaled record is kept in memory (a 24 h journal of 4 KiB writes
 * at 20 MB/s is ~420 M entries: too many; an on-disk index arrives with pruning, see the retention issue).
 *
 * <p>Thread-safety: appends and sync on the applier thread; reads ({@link #overlayAfter}, {@link #points})
 * from any thread; shared state is synchronized on this.
 */
public final class RetentionJournal implements Closeable {
    static final String CHECKPOINT_FILE = "checkpoint";
    static final String PRUNED_FILE = "pruned";
    private static final SecureRandom RANDOM = new SecureRandom();

    /** Where one before-image lies. */
    record ImageRef(long seq, long timestampMicros, long offset, int length, long segment, long position) {
    }

    private final Path dir;
    private final long segmentBytes;
    private final CRC32C crc = new CRC32C();
    private final ByteBuffer header = ByteBuffer.allocate(JournalFormat.PREFIX_LENGTH + JournalFormat.BODY_HEADER_LENGTH);
    private final ByteBuffer padding = ByteBuffer.allocate(8);

    // Guarded by this.
    private final ArrayList<ImageRef> images = new ArrayList<>();
    private final ArrayList<RecoveryPoint> points = new ArrayList<>();
    /** seq → timestamp of every journaled record, for time → seq resolution: parallel arrays, append-only. */
    private long[] seqs = new long[1024];
    private long[] times = new long[1024];
    private int count;
    private final TreeMap<Long, Long> incarnations = new TreeMap<>();
    /** Segment index → its last journaled seq (for pruning whole segments). */
    private final TreeMap<Long, Long> segmentLastSeq = new TreeMap<>();
    /** Open views/exports: their points; pruning keeps every segment holding a record above the lowest. */
    private final java.util.TreeMap<Long, Integer> leases = new java.util.TreeMap<>();
    /** Everything ≤ this seq was pruned: the earliest point still recoverable. */
    private long prunedThrough;
    private long prunedThroughTimestamp = -1;
    /** Position of seqs[0] in the arrays after pruning (the arrays are compacted lazily). */
    private int base;
    private long lastSeq;
    private long syncedSeq;

    private io.mtagent.agent.storage.DirectoryLock lock;

    // Applier thread.
    private long segment;
    private long incarnation;
    private FileChannel channel;
    private long position;
    private int chain;
    private long lastCheckpointNanos;

    private RetentionJournal(Path dir, long segmentBytes) {
        this.dir = dir;
        this.segmentBytes = segmentBytes;
    }

    public static RetentionJournal open(Path dir, long segmentBytes) throws IOException {
        io.mtagent.agent.storage.AtomicFile.createDirectories(dir); // durably (power-loss test)
        io.mtagent.agent.storage.DirectoryLock lock = io.mtagent.agent.storage.DirectoryLock.acquire(dir);
        RetentionJournal j = new RetentionJournal(dir, segmentBytes);
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
        long[] cp = readCheckpoint();
        List<Path> files;
        try (Stream<Path> s = Files.list(dir)) {
            files = s.filter(p -> JournalFormat.isSegment(p.getFileName().toString())).sorted().toList();
        }
        boolean tail = false;
        int prevChain = 0;
        for (Path file : files) {
            long index = JournalFormat.indexOf(file.getFileName().toString());
            if (tail) {
                Files.delete(file);
                continue;
            }
            boolean beforeCp = cp != null && index < cp[0];
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
                ByteBuffer hb = ByteBuffer.allocate(JournalFormat.HEADER_LENGTH);
                readFully(ch, hb, 0);
                JournalFormat.Header h = JournalFormat.readHeader(hb);
                if (h == null || h.index() != index || (!incarnations.isEmpty() && h.chainSeed() != prevChain)) {
                    if (beforeCp || (cp != null && index == cp[0])) {
                        throw new CorruptLogException(file, 0, "journal segment header does not verify or breaks the chain");
                    }
                    Files.delete(file);
                    tail = true;
                    continue;
                }
                incarnations.put(index, h.incarnation());
                int chainNow = h.chainSeed();
                boolean prunedLeftover = false;
                long pos = JournalFormat.HEADER_LENGTH;
                long size = ch.size();
                String bad = null;
                while (true) {
                    if (pos + JournalFormat.PREFIX_LENGTH > size) {
                        bad = pos == size ? null : "truncated record";
                        break;
                    }
                    ByteBuffer prefix = ByteBuffer.allocate(JournalFormat.PREFIX_LENGTH);
                    readFully(ch, prefix, pos);
                    int bodyLength = prefix.getInt(0);
                    if (bodyLength < JournalFormat.BODY_HEADER_LENGTH
                            || bodyLength > JournalFormat.BODY_HEADER_LENGTH + JournalFormat.MAX_PAYLOAD
                            || pos + JournalFormat.PREFIX_LENGTH + bodyLength > size) {
                        bad = "bad record length";
                        break;
                    }
                    ByteBuffer body = ByteBuffer.allocate(bodyLength);
                    readFully(ch, body, pos + JournalFormat.PREFIX_LENGTH);
                    int c = JournalFormat.chainedCrc(crc, chainNow, body);
                    if (c != prefix.getInt(4) || body.getLong(8) != h.incarnation()
                            || body.getInt(4) != bodyLength - JournalFormat.BODY_HEADER_LENGTH) {
                        bad = "record does not verify (chained CRC or incarnation)";
                        break;
                    }
                    long seq = body.getLong(16);
                    if (seq <= prunedThrough) {
                        // A segment whose pruning was interrupted after the mark: skip, it is removed below.
                        chainNow = c;
                        pos += JournalFormat.recordLength(body.getInt(4));
                        prunedLeftover = true;
                        continue;
                    }
                    if ((lastSeq != 0 && seq != lastSeq + 1) || (lastSeq == 0 && prunedThrough != 0 && seq != prunedThrough + 1)) {
                        bad = "sequence " + seq + " after " + lastSeq;
                        break;
                    }
                    index(body, index, pos);
                    chainNow = c;
                    pos += JournalFormat.recordLength(body.getInt(4));
                }
                if (prunedLeftover && bad == null && !segmentLastSeq.containsKey(index)) {
                    incarnations.remove(index);
                    ch.close();
                    Files.delete(file);
                    prevChain = chainNow;
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
                segment = index;
                incarnation = h.incarnation();
                position = pos;
                chain = chainNow;
            }
        }
        if (cp != null && lastSeq < cp[2]) {
            throw new CorruptLogException(dir.resolve(CHECKPOINT_FILE), 0, "checkpoint says seq " + cp[2]
                    + " was synced but the journal ends at " + lastSeq);
        }
        syncedSeq = lastSeq;
        if (incarnations.isEmpty()) {
            startSegment(cp == null ? 1 : cp[0] + 1, 0);
        } else {
            channel = FileChannel.open(dir.resolve(JournalFormat.fileName(segment)), StandardOpenOption.READ,
                    StandardOpenOption.WRITE);
        }
        writeCheckpoint();
    }

    private void index(ByteBuffer body, long seg, long pos) {
        int type = body.get(0);
        long seq = body.getLong(16);
        long ts = body.getLong(24);
        segmentLastSeq.put(seg, seq);
        if (type == JournalFormat.TYPE_BEFORE_IMAGE) {
            images.add(new ImageRef(seq, ts, body.getLong(32), body.getInt(40), seg, pos));
        } else {
            byte[] name = new byte[body.getInt(4)];
            body.get(JournalFormat.BODY_HEADER_LENGTH, name);
            points.add(new RecoveryPoint(RecoveryPoint.Kind.ofTag(body.get(1)), seq, ts,
                    new String(name, StandardCharsets.UTF_8)));
        }
        if (count == seqs.length) {
            seqs = java.util.Arrays.copyOf(seqs, count * 2);
            times = java.util.Arrays.copyOf(times, count * 2);
        }
        seqs[count] = seq;
        times[count] = ts;
        count++;
        lastSeq = seq;
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
            channel.force(false);
            channel.close();
            startSegment(segment + 1, seq);
            writeCheckpoint();
        }
        header.clear();
        header.putInt(JournalFormat.BODY_HEADER_LENGTH + payloadLength).putInt(0);
        header.put((byte) type).put((byte) tagType).putShort((short) 0).putInt(payloadLength).putLong(incarnation)
                .putLong(seq).putLong(ts).putLong(offset).putInt(type == JournalFormat.TYPE_BEFORE_IMAGE ? payloadLength : 0)
                .putInt(0);
        header.flip();
        ByteBuffer body = ByteBuffer.allocate(JournalFormat.BODY_HEADER_LENGTH + payloadLength);
        body.put(header.duplicate().position(JournalFormat.PREFIX_LENGTH)).put(payload.duplicate()).flip();
        int c = JournalFormat.chainedCrc(crc, chain, body);
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
        chain = c;
        synchronized (this) {
            index(body, segment, pos);
        }
    }

    /** Makes every append durable (one fdatasync: the group commit of a batch). */
    public void sync() throws IOException {
        channel.force(false);
        synchronized (this) {
            syncedSeq = lastSeq;
        }
        if (System.nanoTime() - lastCheckpointNanos > 1_000_000_000L) {
            writeCheckpoint();
        }
    }

    private void startSegment(long index, long firstSeq) throws IOException {
        incarnation = RANDOM.nextLong();
        Path file = dir.resolve(JournalFormat.fileName(index));
        FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ,
                StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING);
        ByteBuffer h = JournalFormat.header(incarnation, firstSeq, index, chain);
        while (h.hasRemaining()) {
            ch.write(h, h.position());
        }
        ch.force(true);
        AtomicFile.fsyncDirectory(dir);
        synchronized (this) {
            incarnations.put(index, incarnation);
        }
        segment = index;
        channel = ch;
        position = JournalFormat.HEADER_LENGTH;
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

    /**
     * Online verify ({@code mtagent verify} while the agent runs): re-reads every journaled record up to the last
     * one indexed when it starts, checking length, chained CRC, incarnation and sequence, without touching the
     * files. Holds a lease so pruning waits. Thread-safe alongside the applier's appends.
     *
     * @return null when everything verifies, else "file at offset: reason"
     */
    public String verifyOnline(java.util.function.LongConsumer progress) throws IOException {
        java.util.TreeMap<Long, Long> lastBySegment;
        java.util.TreeMap<Long, Long> incs;
        synchronized (this) {
            lastBySegment = new java.util.TreeMap<>(segmentLastSeq);
            incs = new java.util.TreeMap<>(incarnations);
        }
        try (AutoCloseable hold = lease(earliestSeq())) {
            long checked = 0;
            Integer prevChain = null;
            long prevSeq = 0;
            for (var e : incs.entrySet()) {
                long seg = e.getKey();
                Long last = lastBySegment.get(seg);
                if (last == null) {
                    continue; // an empty current segment
                }
                Path file = dir.resolve(JournalFormat.fileName(seg));
                try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
                    ByteBuffer hb = ByteBuffer.allocate(JournalFormat.HEADER_LENGTH);
                    readFully(ch, hb, 0);
                    JournalFormat.Header h = JournalFormat.readHeader(hb);
                    if (h == null || h.incarnation() != e.getValue() || (prevChain != null && h.chainSeed() != prevChain)) {
                        return file + " at 0: segment header does not verify or breaks the chain";
                    }
                    int chain = h.chainSeed();
                    long pos = JournalFormat.HEADER_LENGTH;
                    CRC32C crc32 = new CRC32C();
                    while (true) {
                        ByteBuffer prefix = ByteBuffer.allocate(JournalFormat.PREFIX_LENGTH);
                        readFully(ch, prefix, pos);
                        int bodyLength = prefix.remaining() == 8 ? prefix.getInt(0) : -1;
                        if (bodyLength < JournalFormat.BODY_HEADER_LENGTH
                                || bodyLength > JournalFormat.BODY_HEADER_LENGTH + JournalFormat.MAX_PAYLOAD) {
                            return file + " at " + pos + ": bad record length";
                        }
                        ByteBuffer body = ByteBuffer.allocate(bodyLength);
                        readFully(ch, body, pos + JournalFormat.PREFIX_LENGTH);
                        if (body.remaining() != bodyLength) {
                            return file + " at " + pos + ": record cut short";
                        }
                        int c = JournalFormat.chainedCrc(crc32, chain, body);
                        long seq = body.getLong(16);
                        if (c != prefix.getInt(4) || body.getLong(8) != h.incarnation()
                                || (prevSeq != 0 && seq != prevSeq + 1)) {
                            return file + " at " + pos + ": record does not verify (chained CRC, incarnation or sequence)";
                        }
                        chain = c;
                        prevSeq = seq;
                        checked++;
                        progress.accept(checked);
                        pos += JournalFormat.recordLength(body.getInt(4));
                        if (seq >= last) {
                            break;
                        }
                    }
                    prevChain = chain;
                }
            }
            return null;
        } catch (IOException e) {
            throw e;
        } catch (Exception e) {
            throw new IOException(e);
        }
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
        if (prunedThrough == 0) {
            return count > base ? times[base] : -1;
        }
        return prunedThroughTimestamp;
    }

    /** Bytes of all journal segments. */
    public long sizeBytes() throws IOException {
        long sum = 0;
        List<Long> segs;
        synchronized (this) {
            segs = new ArrayList<>(incarnations.keySet());
        }
        for (long seg : segs) {
            Path f = dir.resolve(JournalFormat.fileName(seg));
            if (Files.exists(f)) {
                sum += Files.size(f);
            }
        }
        return sum;
    }

    /** The oldest prunable segment's last seq and timestamp, or null when only the current segment is left. */
    public synchronized long[] oldestPrunable() {
        if (incarnations.size() <= 1) {
            return null;
        }
        long seg = incarnations.firstKey();
        Long last = segmentLastSeq.get(seg);
        if (last == null) {
            return null;
        }
        return new long[] {seg, last, timestampOfLocked(last)};
    }

    /**
     * Drops the oldest segment if no open view still needs it (a view at P needs every record above P) and it is
     * not the current one. Records are removed whole-segment, oldest first.
     *
     * @return true if a segment was dropped
     */
    public boolean pruneOldestSegment() throws IOException {
        long seg;
        long last;
        synchronized (this) {
            long[] o = oldestPrunable();
            if (o == null) {
                return false;
            }
            seg = o[0];
            last = o[1];
            if (!leases.isEmpty() && last > leases.firstKey()) {
                return false; // an open view at a point below this segment's records still reads them
            }
            prunedThroughTimestamp = timestampOfLocked(last);
            prunedThrough = last;
            incarnations.remove(seg);
            segmentLastSeq.remove(seg);
            int drop = 0;
            while (drop < images.size() && images.get(drop).seq() <= last) {
                drop++;
            }
            images.subList(0, drop).clear();
            points.removeIf(p -> p.seq() <= last);
            while (base < count && seqs[base] <= last) {
                base++;
            }
            if (base > 4096 && base > count / 2) {
                System.arraycopy(seqs, base, seqs, 0, count - base);
                System.arraycopy(times, base, times, 0, count - base);
                count -= base;
                base = 0;
            }
        }
        // The mark first: a crash before the delete leaves a segment wholly at or below the mark, which recovery
        // removes; the other order would leave a hole that looks like corruption.
        writePrunedMark(last);
        FileChannel reader = readers.remove(seg);
        if (reader != null) {
            reader.close(); // no lease covers it any more, so no view reads it
        }
        Files.deleteIfExists(dir.resolve(JournalFormat.fileName(seg)));
        AtomicFile.fsyncDirectory(dir);
        return true;
    }

    private long timestampOfLocked(long seq) {
        if (count == base || seq < seqs[base] || seq > seqs[count - 1]) {
            return -1;
        }
        return times[base + (int) (seq - seqs[base])];
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

    /** Highest journaled sequence number (durable only after {@link #sync()}). */
    public synchronized long lastSeq() {
        return lastSeq;
    }

    /** Where the before-images with seq &gt; {@code point} lie, oldest first (for rollback). */
    synchronized List<ImageRef> imagesAfter(long point) {
        return List.copyOf(images.subList(firstImageAfter(point), images.size()));
    }

    /** Reads one before-image's bytes. */
    byte[] image(ImageRef r) throws IOException {
        return readImage(r);
    }

    public Path directory() {
        return dir;
    }

    /** Tags journaled so far, oldest first. */
    public synchronized List<RecoveryPoint> points() {
        return List.copyOf(points);
    }

    /** The largest journaled seq whose timestamp is ≤ {@code timestampMicros}, or 0 when none is. */
    public synchronized long seqAtOrBefore(long timestampMicros) {
        int lo = base;
        int hi = count - 1;
        long best = 0;
        while (lo <= hi) {
            int mid = (lo + hi) >>> 1;
            if (times[mid] <= timestampMicros) {
                best = seqs[mid];
                lo = mid + 1;
            } else {
                hi = mid - 1;
            }
        }
        return best;
    }

    /** Timestamp of journaled seq, or -1. */
    public synchronized long timestampOf(long seq) {
        if (count == base || seq < seqs[base] || seq > seqs[count - 1]) {
            return -1;
        }
        return times[base + (int) (seq - seqs[base])];
    }

    /**
     * Overlays {@code buf} (the target's current bytes of [offset, offset+buf.length)) with, for every 512-byte
     * sector, the earliest before-image with seq &gt; {@code point}: the result is the disk as it was at
     * {@code point}, as far as applied writes go.
     */
    public void overlayAfter(long point, long offset, byte[] buf) throws IOException {
        List<ImageRef> candidates = new ArrayList<>();
        synchronized (this) {
            int from = firstImageAfter(point);
            long end = offset + buf.length;
            for (int i = from; i < images.size(); i++) {
                ImageRef r = images.get(i);
                if (r.offset() < end && r.offset() + r.length() > offset) {
                    candidates.add(r);
                }
            }
        }
        int sectors = buf.length / 512;
        java.util.BitSet filled = new java.util.BitSet(sectors);
        for (ImageRef r : candidates) {
            long lo = Math.max(offset, r.offset());
            long hi = Math.min(offset + buf.length, r.offset() + r.length());
            byte[] image = null;
            for (long s = lo; s < hi; s += 512) {
                int sector = (int) ((s - offset) / 512);
                if (filled.get(sector)) {
                    continue;
                }
                if (image == null) {
                    image = readImage(r);
                }
                System.arraycopy(image, (int) (s - r.offset()), buf, (int) (s - offset), 512);
                filled.set(sector);
            }
            if (filled.cardinality() == sectors) {
                break;
            }
        }
    }

    private int firstImageAfter(long point) {
        int lo = 0;
        int hi = images.size();
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (images.get(mid).seq() <= point) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        return lo;
    }

    /** Read channels per segment, shared by readers (positional reads are thread-safe); closed on prune/close. */
    private final java.util.concurrent.ConcurrentHashMap<Long, FileChannel> readers = new java.util.concurrent.ConcurrentHashMap<>();

    private byte[] readImage(ImageRef r) throws IOException {
        FileChannel ch = readers.get(r.segment());
        if (ch == null) {
            FileChannel opened = FileChannel.open(dir.resolve(JournalFormat.fileName(r.segment())), StandardOpenOption.READ);
            ch = readers.putIfAbsent(r.segment(), opened);
            if (ch == null) {
                ch = opened;
            } else {
                opened.close();
            }
        }
        ByteBuffer b = ByteBuffer.allocate(r.length());
        readFully(ch, b, r.position() + JournalFormat.PREFIX_LENGTH + JournalFormat.BODY_HEADER_LENGTH);
        return b.array();
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
            if (lock != null) {
                lock.close();
                lock = null;
            }
        }
    }
}
