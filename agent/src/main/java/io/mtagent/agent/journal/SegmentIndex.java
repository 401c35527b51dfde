package io.mtagent.agent.journal;

import io.mtagent.agent.log.AtomicFile;
import io.mtagent.agent.log.LogFileNames;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.zip.CRC32C;

/**
 * The index of one journal segment: where each record lies, its source time, and for a before-image the target
 * range it covers. Records of a segment have consecutive sequence numbers (the journal has no gaps), so entry
 * {@code i} is seq {@code firstSeq + i}.
 *
 * <p>It is derived data. The current segment's index grows in memory with each append; when the segment is
 * sealed (the journal rolls to the next one) the index is written next to it as {@code %020d.idx} and dropped
 * from memory; it is loaded again, through {@link IndexCache}, when a view, a rollback or a time lookup needs it.
 * At open a missing or stale index (it names the segment's incarnation and length) is rebuilt by scanning the
 * segment.
 *
 * <pre>
 * index file "%020d.idx" (big-endian)
 *   header (96 bytes: all a restart reads, with the points section)
 *    0  magic          8   "MTJINDEX"
 *    8  version        u16 = 1
 *   10  reserved       u16
 *   12  count          u32  records in the segment (&gt; 0)
 *   16  incarnation    u64  the segment header's: an index of an older incarnation is stale
 *   24  segmentIndex   u64
 *   32  segmentLength  u64  bytes of the sealed segment file: a different length means stale
 *   40  firstSeq       u64
 *   48  lastChain      u32  chained CRC of the segment's last record (the next segment's chainSeed)
 *   52  nameBytes      u32  bytes of point names
 *   56  firstTs        i64  µs
 *   64  lastTs         i64
 *   72  imageCount     u64  before-images in the segment
 *   80  imageBytes     u64  their bytes
 *   88  pointCount     u32
 *   92  headerCrc      u32  CRC-32C of bytes 0..91
 *   points, pointCount × 16: entry u32 (seq - firstSeq), tagType u8, reserved u8, nameLength u16, timestamp i64
 *   names (UTF-8, in point order), then pointsCrc u32 (CRC-32C of the points and names)
 *   entries, count × 40:
 *         0  timestamp  i64  µs
 *         8  offset     u64  before-image: target byte offset
 *        16  position   u64  the record's position in the segment
 *        24  length     u32  before-image: bytes; point: name bytes
 *        28  prevChain  u32  chained CRC before this record: a read verifies the record by itself with it
 *        32  type       u8   1 before-image, 2 point
 *        33  reserved   7 bytes
 *   entriesCrc u32 (CRC-32C of the entries)
 * </pre>
 *
 * <p>Memory: 33 bytes per record, plus 4 per record for the offset order of a sealed segment.
 *
 * <p>Thread-safety: a sealed index is immutable and may be read by any thread; the current segment's index is
 * mutated and read only under the journal's lock.
 */
final class SegmentIndex {
    static final byte[] MAGIC = "MTJINDEX".getBytes(StandardCharsets.US_ASCII);
    static final int VERSION = 1;
    static final int HEADER = 96;
    static final int POINT = 16;
    static final int ENTRY = 40;
    /** Entries of a sealed index cannot exceed what a segment of the largest allowed size can hold. */
    static final int MAX_ENTRIES = (int) ((1L << 30) / JournalFormat.recordLength(0));

    final long segment;
    final long incarnation;
    /** Seq of entry 0; set by the first {@link #add} when the index was created empty (firstSeq 0). */
    private long firstSeq;
    private int count;
    private long[] ts;
    private long[] offset;
    private long[] position;
    private int[] length;
    private int[] prevChain;
    private byte[] type;
    private final List<RecoveryPoint> points = new ArrayList<>();
    private int maxLength;
    private long imageBytes;
    private int imageCount;
    // Set when sealed.
    private long segmentLength = -1;
    private int lastChain;
    private int[] byOffset;

    SegmentIndex(long segment, long incarnation, int capacity) {
        this.segment = segment;
        this.incarnation = incarnation;
        int c = Math.max(16, capacity);
        ts = new long[c];
        offset = new long[c];
        position = new long[c];
        length = new int[c];
        prevChain = new int[c];
        type = new byte[c];
    }

    /** Adds the next record: {@code seq} must be {@code firstSeq + count()} (the first add of an empty index sets it). */
    void add(long seq, long timestampMicros, int recordType, int tagType, long off, int len, long pos, int chainBefore,
            String name) {
        if (count == 0) {
            firstSeq = seq;
        } else if (seq != firstSeq + count) {
            throw new IllegalStateException("segment " + segment + ": seq " + seq + " after " + (firstSeq + count - 1));
        }
        if (count == ts.length) {
            resize(count * 2);
        }
        ts[count] = timestampMicros;
        offset[count] = off;
        position[count] = pos;
        length[count] = len;
        prevChain[count] = chainBefore;
        type[count] = (byte) recordType;
        if (recordType == JournalFormat.TYPE_BEFORE_IMAGE) {
            maxLength = Math.max(maxLength, len);
            imageBytes += len;
            imageCount++;
        } else {
            points.add(new RecoveryPoint(RecoveryPoint.Kind.ofTag(tagType), firstSeq + count, timestampMicros, name));
        }
        count++;
    }

    private void resize(int capacity) {
        ts = Arrays.copyOf(ts, capacity);
        offset = Arrays.copyOf(offset, capacity);
        position = Arrays.copyOf(position, capacity);
        length = Arrays.copyOf(length, capacity);
        prevChain = Arrays.copyOf(prevChain, capacity);
        type = Arrays.copyOf(type, capacity);
    }

    /** Freezes the index: builds the offset order used by range lookups. */
    void seal(long segmentFileLength, int chainAfterLast) {
        segmentLength = segmentFileLength;
        lastChain = chainAfterLast;
        resize(count); // a sealed index lives on in the cache: no spare capacity
        Integer[] order = new Integer[imageCount];
        int n = 0;
        for (int i = 0; i < count; i++) {
            if (type[i] == JournalFormat.TYPE_BEFORE_IMAGE) {
                order[n++] = i;
            }
        }
        Arrays.sort(order, (a, b) -> Long.compare(offset[a], offset[b]));
        byOffset = new int[imageCount];
        for (int i = 0; i < imageCount; i++) {
            byOffset[i] = order[i];
        }
    }

    boolean sealed() {
        return byOffset != null;
    }

    long firstSeq() {
        return firstSeq;
    }

    int count() {
        return count;
    }

    long lastSeq() {
        return firstSeq + count - 1;
    }

    long firstTimestamp() {
        return count == 0 ? -1 : ts[0];
    }

    long lastTimestamp() {
        return count == 0 ? -1 : ts[count - 1];
    }

    int lastChain() {
        return lastChain;
    }

    long segmentLength() {
        return segmentLength;
    }

    List<RecoveryPoint> points() {
        return points;
    }

    /** Timestamp of {@code seq}, or -1 when it is not in this segment. */
    long timestampOf(long seq) {
        long i = seq - firstSeq;
        return i < 0 || i >= count ? -1 : ts[(int) i];
    }

    /** The largest seq in this segment whose timestamp is ≤ {@code t} (timestamps are non-decreasing), or 0. */
    long seqAtOrBefore(long t) {
        int lo = 0;
        int hi = count - 1;
        long best = 0;
        while (lo <= hi) {
            int mid = (lo + hi) >>> 1;
            if (ts[mid] <= t) {
                best = firstSeq + mid;
                lo = mid + 1;
            } else {
                hi = mid - 1;
            }
        }
        return best;
    }

    RetentionJournal.ImageRef ref(int i) {
        return new RetentionJournal.ImageRef(firstSeq + i, ts[i], offset[i], length[i], segment, position[i],
                prevChain[i]);
    }

    boolean isImage(int i) {
        return type[i] == JournalFormat.TYPE_BEFORE_IMAGE;
    }

    /** Count and bytes of the before-images with seq &gt; {@code point}. */
    long[] imagesAfter(long point) {
        if (point < firstSeq) {
            return new long[] {imageCount, imageBytes};
        }
        long n = 0;
        long bytes = 0;
        for (int i = (int) Math.min(count, point - firstSeq + 1); i < count; i++) {
            if (isImage(i)) {
                n++;
                bytes += length[i];
            }
        }
        return new long[] {n, bytes};
    }

    /**
     * Adds to {@code out}, in seq order, every before-image with seq &gt; {@code point} that overlaps
     * [{@code from}, {@code to}).
     */
    void overlapping(long point, long from, long to, List<RetentionJournal.ImageRef> out) {
        int start = out.size();
        int first = (int) Math.max(0, Math.min(count, point - firstSeq + 1));
        if (byOffset == null) {
            for (int i = first; i < count; i++) {
                if (isImage(i) && offset[i] < to && offset[i] + length[i] > from) {
                    out.add(ref(i));
                }
            }
            return;
        }
        // Entries sorted by offset: those starting before from - maxLength cannot reach from.
        long lowest = from - maxLength;
        int lo = 0;
        int hi = byOffset.length;
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (offset[byOffset[mid]] <= lowest) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        for (int k = lo; k < byOffset.length && offset[byOffset[k]] < to; k++) {
            int i = byOffset[k];
            if (i >= first && offset[i] + length[i] > from) {
                out.add(ref(i));
            }
        }
        out.subList(start, out.size()).sort((a, b) -> Long.compare(a.seq(), b.seq()));
    }

    /** Approximate heap bytes, for the cache's budget. */
    long memoryBytes() {
        return 128L + (long) ts.length * 33 + (byOffset == null ? 0 : 4L * byOffset.length) + points.size() * 96L;
    }

    // ------------------------------------------------------------------ file

    static Path fileOf(Path dir, long segment) {
        return dir.resolve(LogFileNames.segmentIndex(segment));
    }

    static boolean isIndexFile(String name) {
        return LogFileNames.isSegmentIndex(name);
    }

    /**
     * What a sealed segment keeps in memory, read from the index file's header and points section alone (a restart
     * does not read the entries).
     */
    record Summary(long segment, long incarnation, long firstSeq, long lastSeq, long firstTs, long lastTs,
            long imageCount, long imageBytes, long fileLength, int lastChain, List<RecoveryPoint> points) {
        static Summary of(SegmentIndex idx) {
            return new Summary(idx.segment, idx.incarnation, idx.firstSeq, idx.lastSeq(), idx.firstTimestamp(),
                    idx.lastTimestamp(), idx.imageCount, idx.imageBytes, idx.segmentLength, idx.lastChain,
                    List.copyOf(idx.points));
        }

        Summary withoutPoints() {
            return new Summary(segment, incarnation, firstSeq, lastSeq, firstTs, lastTs, imageCount, imageBytes,
                    fileLength, lastChain, List.of());
        }
    }

    /** Writes this sealed index next to its segment (atomically: a torn index is never read as valid). */
    void write(Path dir) throws IOException {
        byte[][] names = new byte[points.size()][];
        int nameBytes = 0;
        for (int p = 0; p < names.length; p++) {
            names[p] = points.get(p).name().getBytes(StandardCharsets.UTF_8);
            nameBytes += names[p].length;
        }
        int pointsLength = points.size() * POINT + nameBytes + 4;
        ByteBuffer b = ByteBuffer.allocate(HEADER + pointsLength + count * ENTRY + 4);
        b.put(MAGIC).putShort((short) VERSION).putShort((short) 0).putInt(count).putLong(incarnation)
                .putLong(segment).putLong(segmentLength).putLong(firstSeq).putInt(lastChain).putInt(nameBytes)
                .putLong(firstTimestamp()).putLong(lastTimestamp()).putLong(imageCount).putLong(imageBytes)
                .putInt(points.size());
        crcTo(b, 0);
        int p = 0;
        for (RecoveryPoint pt : points) {
            b.putInt((int) (pt.seq() - firstSeq)).put((byte) pt.kind().tagType()).put((byte) 0)
                    .putShort((short) names[p++].length).putLong(pt.timestampMicros());
        }
        for (byte[] n : names) {
            b.put(n);
        }
        crcTo(b, HEADER);
        int entries = b.position();
        for (int i = 0; i < count; i++) {
            b.putLong(ts[i]).putLong(offset[i]).putLong(position[i]).putInt(length[i]).putInt(prevChain[i])
                    .put(type[i]).put((byte) 0).putShort((short) 0).putInt(0);
        }
        crcTo(b, entries);
        AtomicFile.write(fileOf(dir, segment), b.array());
    }

    /** Appends the CRC-32C of bytes [from, position). */
    private static void crcTo(ByteBuffer b, int from) {
        CRC32C c = new CRC32C();
        c.update(b.array(), from, b.position() - from);
        b.putInt((int) c.getValue());
    }

    private static boolean crcOk(byte[] a, int from, int to) {
        CRC32C c = new CRC32C();
        c.update(a, from, to - from);
        return (int) c.getValue() == ByteBuffer.wrap(a).getInt(to);
    }

    /**
     * Reads the summary of a segment from its index file: the header and the points, not the entries.
     *
     * @return null when the file is absent, does not verify, or does not describe this segment ({@code incarnation}
     *         and {@code segmentFileLength}): the caller rebuilds it
     */
    static Summary readSummary(Path dir, long segment, long incarnation, long segmentFileLength) throws IOException {
        Path f = fileOf(dir, segment);
        if (!Files.exists(f)) {
            return null;
        }
        try (FileChannel ch = FileChannel.open(f, StandardOpenOption.READ)) {
            long size = ch.size();
            ByteBuffer h = ByteBuffer.allocate(HEADER);
            if (size < HEADER + 8 || ch.read(h, 0) != HEADER) {
                return null;
            }
            byte[] a = h.array();
            if (!headerOk(a, segment, incarnation, segmentFileLength)) {
                return null;
            }
            int count = h.getInt(12);
            int nameBytes = h.getInt(52);
            int pointCount = h.getInt(88);
            long pointsLength = (long) pointCount * POINT + nameBytes + 4;
            if (pointCount < 0 || pointCount > count || nameBytes < 0
                    || size != HEADER + pointsLength + (long) count * ENTRY + 4) {
                return null; // bounded before allocating
            }
            ByteBuffer pb = ByteBuffer.allocate((int) pointsLength);
            while (pb.hasRemaining() && ch.read(pb, HEADER + pb.position()) > 0) {
            }
            if (pb.hasRemaining() || !crcOk(pb.array(), 0, (int) pointsLength - 4)) {
                return null;
            }
            long firstSeq = h.getLong(40);
            List<RecoveryPoint> pts = points(pb.array(), 0, pointCount, firstSeq, count);
            if (pts == null) {
                return null;
            }
            return new Summary(segment, incarnation, firstSeq, firstSeq + count - 1, h.getLong(56), h.getLong(64),
                    h.getLong(72), h.getLong(80), segmentFileLength, h.getInt(48), pts);
        }
    }

    private static boolean headerOk(byte[] a, long segment, long incarnation, long segmentFileLength) {
        ByteBuffer h = ByteBuffer.wrap(a);
        byte[] magic = new byte[8];
        h.get(0, magic);
        return Arrays.equals(magic, MAGIC) && h.getShort(8) == VERSION && crcOk(a, 0, HEADER - 4)
                && h.getLong(16) == incarnation && h.getLong(24) == segment && h.getLong(32) == segmentFileLength
                && h.getInt(12) > 0;
    }

    /** Decodes the points section at {@code from}; null when it does not fit. */
    private static List<RecoveryPoint> points(byte[] a, int from, int pointCount, long firstSeq, int count) {
        ByteBuffer b = ByteBuffer.wrap(a);
        List<RecoveryPoint> out = new ArrayList<>(pointCount);
        int name = from + pointCount * POINT;
        for (int p = 0; p < pointCount; p++) {
            int e = from + p * POINT;
            int i = b.getInt(e);
            int len = b.getShort(e + 6) & 0xffff;
            if (i < 0 || i >= count || name + len > a.length - 4) {
                return null;
            }
            out.add(new RecoveryPoint(RecoveryPoint.Kind.ofTag(b.get(e + 4)), firstSeq + i, b.getLong(e + 8),
                    new String(a, name, len, StandardCharsets.UTF_8)));
            name += len;
        }
        return out;
    }

    /**
     * Reads a segment's whole index.
     *
     * @return the sealed index, or null when the file is absent, does not verify, or does not describe this
     *         segment: the caller rebuilds it from the segment
     */
    static SegmentIndex read(Path dir, long segment, long incarnation, long segmentFileLength) throws IOException {
        Path f = fileOf(dir, segment);
        if (!Files.exists(f)) {
            return null;
        }
        long size = Files.size(f);
        if (size < HEADER + 8 || size > HEADER + 2L * MAX_ENTRIES * ENTRY + segmentFileLength) {
            return null; // bounded before allocating
        }
        byte[] a = Files.readAllBytes(f);
        ByteBuffer b = ByteBuffer.wrap(a);
        if (a.length < HEADER + 8 || !headerOk(a, segment, incarnation, segmentFileLength)) {
            return null;
        }
        int count = b.getInt(12);
        int nameBytes = b.getInt(52);
        int pointCount = b.getInt(88);
        long pointsEnd = HEADER + (long) pointCount * POINT + nameBytes + 4;
        if (pointCount < 0 || pointCount > count || nameBytes < 0 || a.length != pointsEnd + (long) count * ENTRY + 4
                || !crcOk(a, HEADER, (int) pointsEnd - 4) || !crcOk(a, (int) pointsEnd, a.length - 4)) {
            return null;
        }
        long firstSeq = b.getLong(40);
        List<RecoveryPoint> pts = points(a, HEADER, pointCount, firstSeq, count);
        if (pts == null) {
            return null;
        }
        SegmentIndex idx = new SegmentIndex(segment, incarnation, count);
        int p = 0;
        for (int i = 0; i < count; i++) {
            int e = (int) pointsEnd + i * ENTRY;
            int recordType = b.get(e + 32);
            RecoveryPoint pt = null;
            if (recordType != JournalFormat.TYPE_BEFORE_IMAGE) {
                if (p >= pts.size() || pts.get(p).seq() != firstSeq + i) {
                    return null;
                }
                pt = pts.get(p++);
            }
            idx.add(firstSeq + i, b.getLong(e), recordType, pt == null ? 0 : pt.kind().tagType(), b.getLong(e + 8),
                    b.getInt(e + 24), b.getLong(e + 16), b.getInt(e + 28), pt == null ? null : pt.name());
        }
        idx.seal(segmentFileLength, b.getInt(48));
        return idx;
    }
}
