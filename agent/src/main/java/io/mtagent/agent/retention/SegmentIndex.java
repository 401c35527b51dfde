package io.mtagent.agent.retention;

import io.mtagent.agent.storage.AtomicFile;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
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
 *    0  magic          8   "MTJINDEX"
 *    8  version        u16 = 1
 *   10  reserved       u16
 *   12  count          u32  records in the segment
 *   16  incarnation    u64  the segment header's: an index of an older incarnation is stale
 *   24  segmentIndex   u64
 *   32  segmentLength  u64  bytes of the sealed segment file: a different length means stale
 *   40  firstSeq       u64
 *   48  lastChain      u32  chained CRC of the segment's last record (the next segment's chainSeed)
 *   52  nameBytes      u32  length of the names section
 *   56  entries, count × 40:
 *         0  timestamp  i64  µs
 *         8  offset     u64  before-image: target byte offset
 *        16  position   u64  the record's position in the segment
 *        24  length     u32  before-image: bytes; point: name bytes
 *        28  prevChain  u32  chained CRC before this record: a read verifies the record by itself with it
 *        32  type       u8   1 before-image, 2 point
 *        33  tagType    u8
 *        34  reserved   6 bytes
 *       names (UTF-8 point names, in entry order)
 *       crc            u32  CRC-32C of everything before it
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
    static final int HEADER = 56;
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
            int c = count * 2;
            ts = Arrays.copyOf(ts, c);
            offset = Arrays.copyOf(offset, c);
            position = Arrays.copyOf(position, c);
            length = Arrays.copyOf(length, c);
            prevChain = Arrays.copyOf(prevChain, c);
            type = Arrays.copyOf(type, c);
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

    /** Freezes the index: builds the offset order used by range lookups. */
    void seal(long segmentFileLength, int chainAfterLast) {
        segmentLength = segmentFileLength;
        lastChain = chainAfterLast;
        ts = Arrays.copyOf(ts, count);
        offset = Arrays.copyOf(offset, count);
        position = Arrays.copyOf(position, count);
        length = Arrays.copyOf(length, count);
        prevChain = Arrays.copyOf(prevChain, count);
        type = Arrays.copyOf(type, count);
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
        return dir.resolve(String.format("%020d.idx", segment));
    }

    static boolean isIndexFile(String name) {
        return name.length() == 24 && name.endsWith(".idx") && name.chars().limit(20).allMatch(Character::isDigit);
    }

    /** Writes this sealed index next to its segment (atomically: a torn index is never read as valid). */
    void write(Path dir) throws IOException {
        byte[][] names = new byte[points.size()][];
        int nameBytes = 0;
        for (int p = 0; p < names.length; p++) {
            names[p] = points.get(p).name().getBytes(StandardCharsets.UTF_8);
            nameBytes += names[p].length;
        }
        ByteBuffer b = ByteBuffer.allocate(HEADER + count * ENTRY + nameBytes + 4);
        b.put(MAGIC).putShort((short) VERSION).putShort((short) 0).putInt(count).putLong(incarnation)
                .putLong(segment).putLong(segmentLength).putLong(firstSeq).putInt(lastChain).putInt(nameBytes);
        int p = 0;
        for (int i = 0; i < count; i++) {
            int tagType = 0;
            if (!isImage(i)) {
                tagType = tagTypeOf(points.get(p).kind());
            }
            b.putLong(ts[i]).putLong(offset[i]).putLong(position[i])
                    .putInt(isImage(i) ? length[i] : names[p].length).putInt(prevChain[i])
                    .put(type[i]).put((byte) tagType).putShort((short) 0).putInt(0);
            if (!isImage(i)) {
                p++;
            }
        }
        for (byte[] n : names) {
            b.put(n);
        }
        CRC32C c = new CRC32C();
        c.update(b.array(), 0, b.position());
        b.putInt((int) c.getValue());
        AtomicFile.write(fileOf(dir, segment), b.array());
    }

    private static int tagTypeOf(RecoveryPoint.Kind k) {
        return switch (k) {
            case APP_CONSISTENT -> 2;
            case GROUP -> 3;
            default -> 1;
        };
    }

    /**
     * Reads a segment's index file.
     *
     * @return the sealed index, or null when the file is absent, does not verify, or does not describe this
     *         segment ({@code incarnation} and {@code segmentFileLength}): the caller rebuilds it
     */
    static SegmentIndex read(Path dir, long segment, long incarnation, long segmentFileLength) throws IOException {
        Path f = fileOf(dir, segment);
        if (!Files.exists(f)) {
            return null;
        }
        long size = Files.size(f);
        if (size < HEADER + 4 || size > HEADER + (long) MAX_ENTRIES * ENTRY + (segmentFileLength) + 4) {
            return null; // bounded before allocating
        }
        ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(f));
        CRC32C c = new CRC32C();
        c.update(b.array(), 0, b.capacity() - 4);
        byte[] magic = new byte[8];
        b.get(0, magic);
        if ((int) c.getValue() != b.getInt(b.capacity() - 4) || !Arrays.equals(magic, MAGIC) || b.getShort(8) != VERSION) {
            return null;
        }
        int count = b.getInt(12);
        int nameBytes = b.getInt(52);
        if (b.getLong(16) != incarnation || b.getLong(24) != segment || b.getLong(32) != segmentFileLength
                || count <= 0 || nameBytes < 0 || (long) HEADER + (long) count * ENTRY + nameBytes + 4 != b.capacity()) {
            return null;
        }
        SegmentIndex idx = new SegmentIndex(segment, incarnation, count);
        int namePos = HEADER + count * ENTRY;
        for (int i = 0; i < count; i++) {
            int e = HEADER + i * ENTRY;
            int recordType = b.get(e + 32);
            int len = b.getInt(e + 24);
            String name = null;
            if (recordType != JournalFormat.TYPE_BEFORE_IMAGE) {
                if (len < 0 || namePos + len > b.capacity() - 4) {
                    return null;
                }
                name = new String(b.array(), namePos, len, StandardCharsets.UTF_8);
                namePos += len;
            }
            idx.add(b.getLong(40) + i, b.getLong(e), recordType, b.get(e + 33), b.getLong(e + 8), len, b.getLong(e + 16), b.getInt(e + 28),
                    name);
        }
        idx.seal(segmentFileLength, b.getInt(48));
        return idx;
    }
}
