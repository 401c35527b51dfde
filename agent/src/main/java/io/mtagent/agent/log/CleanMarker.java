package io.mtagent.agent.log;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.logging.Logger;
import java.util.zip.CRC32C;

/**
 * The {@code clean} file an ingest log writes last on a clean close: proof that nothing was written after the
 * final checkpoint, plus what the recovery scan would otherwise rebuild (segment list, index of unapplied
 * records), so the next open skips the scan.
 *
 * <h2>Format (big-endian)</h2>
 * <pre>
 * magic "MTCLEAN2" (8) | checkpoint segment u64 | checkpoint position u64 | checkpoint seq u64 | applied seq u64
 * | segment count u32 | per segment: index u64, incarnation u64, last seq u64
 * | entry count u32   | per entry (seq = applied + 1, + 2, ...): crc u32, tag u8, length u32, segment u64, position u64,
 *                     timestamp i64 (source time, µs)
 * | crc32c u32 over everything before it
 * </pre>
 * Written with {@link AtomicFile} (temp, fsync, rename, fsync dir). Counts are checked against the file length
 * before anything is allocated.
 */
public record CleanMarker(Checkpoint checkpoint, long appliedSeq, List<SegmentInfo> segments,
                   List<EntryInfo> entries) {
    private static final Logger LOG = Logger.getLogger(CleanMarker.class.getName());
    private static final long MAGIC = 0x4d54434c45414e32L; // "MTCLEAN2" (2: entries carry timestamps)
    private static final int FIXED = 8 + 8 * 4 + 4 + 4 + 4;
    private static final int SEGMENT_BYTES = 24;
    private static final int ENTRY_BYTES = 4 + 1 + 4 + 8 + 8 + 8;

    public record SegmentInfo(long index, long incarnation, long lastSeq) {
    }

    public record EntryInfo(int crc, boolean tag, int length, long segment, long position, long timestampMicros) {
    }

    public static void write(Path file, CleanMarker m) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(FIXED + m.segments.size() * SEGMENT_BYTES + m.entries.size() * ENTRY_BYTES);
        b.putLong(MAGIC).putLong(m.checkpoint.segment()).putLong(m.checkpoint.position()).putLong(m.checkpoint.seq())
                .putLong(m.appliedSeq).putInt(m.segments.size());
        for (SegmentInfo s : m.segments) {
            b.putLong(s.index).putLong(s.incarnation).putLong(s.lastSeq);
        }
        b.putInt(m.entries.size());
        for (EntryInfo e : m.entries) {
            b.putInt(e.crc).put((byte) (e.tag ? 1 : 0)).putInt(e.length).putLong(e.segment).putLong(e.position)
                    .putLong(e.timestampMicros);
        }
        CRC32C c = new CRC32C();
        c.update(b.array(), 0, b.position());
        b.putInt((int) c.getValue());
        AtomicFile.write(file, b.array());
    }

    /**
     * The marker if it verifies and describes exactly these files: same checkpoint, same applied point, the same
     * set of segment files, the current segment ending at the checkpoint, one index entry per unapplied record.
     * Otherwise null (the reason is logged) and the caller scans.
     */
    public static CleanMarker readIfValid(Path file, Checkpoint cp, long appliedSeq, List<Path> segmentFiles)
            throws IOException {
        String why = check(file, cp, appliedSeq, segmentFiles);
        if (why != null) {
            LOG.warning(file + ": not used (" + why + ")");
            return null;
        }
        return parse(Files.readAllBytes(file));
    }

    private static String check(Path file, Checkpoint cp, long appliedSeq, List<Path> segmentFiles)
            throws IOException {
        byte[] raw = Files.readAllBytes(file);
        if (raw.length < FIXED) {
            return "too short";
        }
        CRC32C c = new CRC32C();
        c.update(raw, 0, raw.length - 4);
        if ((int) c.getValue() != ByteBuffer.wrap(raw).getInt(raw.length - 4)) {
            return "CRC mismatch";
        }
        CleanMarker m = parse(raw);
        if (m == null) {
            return "malformed";
        }
        if (cp == null || !cp.equals(m.checkpoint)) {
            return "checkpoint differs";
        }
        if (m.appliedSeq != appliedSeq) {
            return "applied point differs";
        }
        Set<Long> onDisk = new HashSet<>();
        for (Path p : segmentFiles) {
            onDisk.add(LogFileNames.indexOf(p.getFileName().toString()));
        }
        Set<Long> listed = new HashSet<>();
        m.segments.forEach(s -> listed.add(s.index));
        if (!onDisk.equals(listed) || m.segments.isEmpty()) {
            return "segment files differ";
        }
        SegmentInfo last = m.segments.get(m.segments.size() - 1);
        if (last.index != cp.segment()) {
            return "the last segment is not the checkpoint's";
        }
        if (Files.size(file.resolveSibling(LogFileNames.segment(SegmentKind.INGEST, last.index))) != cp.position()) {
            return "the current segment was written after the checkpoint";
        }
        if (m.entries.size() != Math.max(0, cp.seq() - appliedSeq)) {
            return "index size differs from the unapplied range";
        }
        for (EntryInfo e : m.entries) {
            if (!listed.contains(e.segment) || e.position < SegmentHeader.LENGTH || e.length <= 0) {
                return "index entry outside the segments";
            }
        }
        return null;
    }

    private static CleanMarker parse(byte[] raw) {
        ByteBuffer b = ByteBuffer.wrap(raw, 0, raw.length - 4);
        if (b.getLong() != MAGIC) {
            return null;
        }
        Checkpoint cp = new Checkpoint(b.getLong(), b.getLong(), b.getLong());
        long applied = b.getLong();
        int segCount = b.getInt();
        if (segCount < 0 || (long) segCount * SEGMENT_BYTES > b.remaining() - 4) {
            return null;
        }
        List<SegmentInfo> segs = new ArrayList<>(segCount);
        for (int i = 0; i < segCount; i++) {
            segs.add(new SegmentInfo(b.getLong(), b.getLong(), b.getLong()));
        }
        int entryCount = b.getInt();
        if (entryCount < 0 || (long) entryCount * ENTRY_BYTES != b.remaining()) {
            return null;
        }
        List<EntryInfo> entries = new ArrayList<>(entryCount);
        for (int i = 0; i < entryCount; i++) {
            entries.add(new EntryInfo(b.getInt(), b.get() != 0, b.getInt(), b.getLong(), b.getLong(), b.getLong()));
        }
        return new CleanMarker(cp, applied, segs, entries);
    }
}
