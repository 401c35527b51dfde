package io.mtagent.agent.journal;

import io.mtagent.agent.log.AtomicFile;
import io.mtagent.agent.log.CorruptLogException;
import io.mtagent.agent.log.LogFileNames;
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
 * The branches of a disk's recovery history that are gone (docs/ARCHITECTURE.md, "Recovery history is a tree"):
 * ranges of sequence numbers whose points no longer describe any state the target can return to. Two things
 * discard history:
 * <ul>
 *   <li>a <b>commit</b> at an earlier point P, when the disk had received up to C: the branch (P, C] is gone; the
 *       points before P stay, and the points written after the resync that follows are ordinary points;</li>
 *   <li>an <b>attach of a target written outside the agent</b> while it was released (the machine ran on it, as
 *       in failback): every point up to the attach, [0, A], is gone, since the journal holds no before-image of
 *       what the machine wrote.</li>
 * </ul>
 * A view of a point in (P, C] would be wrong (the target was rolled back under it), so every listing leaves those
 * points out and every view, export, NBD export or rollback refuses them with {@link #refusal}.
 *
 * <p>On-disk format ({@code discarded} in the disk's journal directory, big-endian), written whole with
 * {@link AtomicFile#write} (temp file, fsync, rename, directory fsync), so a power cut leaves the old or the new
 * list, never a mix:
 * <pre>
 *   0  magic    4   "MTDH"
 *   4  version  u16 = 1
 *   6  count    u16 ranges, sorted by first seq, not overlapping
 *   8  ranges   count × 25 bytes
 *        0  first   u64  first discarded seq
 *        8  last    u64  last discarded seq (inclusive)
 *       16  at      u64  commit: the seq committed to (first - 1); attach: 0
 *       24  cause   u8   1 commit at an earlier point, 2 attach of a target written while released
 *   ..  crc      u32  CRC-32C of every byte before it
 * </pre>
 * A file that does not verify is refused at open ({@link CorruptLogException}): guessing which points are real
 * would break the contract that every listed point is deliverable.
 *
 * <p>Thread-safety: immutable; {@link #with} returns a new list after writing it.
 */
public final class DiscardedHistory {
    static final String FILE = LogFileNames.DISCARDED;
    private static final byte[] MAGIC = "MTDH".getBytes(StandardCharsets.US_ASCII);
    private static final int VERSION = 1;
    private static final int HEADER = 8;
    private static final int RANGE = 25;
    private static final int MAX_RANGES = 0xFFFF;

    /** Why a range is gone. */
    public enum Cause {
        COMMIT(1), WRITTEN_OUTSIDE(2);

        final int code;

        Cause(int code) {
            this.code = code;
        }

        static Cause of(int code) {
            for (Cause c : values()) {
                if (c.code == code) {
                    return c;
                }
            }
            return null;
        }
    }

    /** Seqs {@code first..last} (inclusive) are gone; {@code at} is the seq a commit kept (first - 1). */
    public record Range(long first, long last, long at, Cause cause) {
        public boolean contains(long seq) {
            return seq >= first && seq <= last;
        }

        /** For messages: what discarded this range. */
        public String describe() {
            return cause == Cause.COMMIT
                    ? "seq " + first + ".." + last + " were discarded by the commit at seq " + at
                    : "seq " + first + ".." + last + " were discarded when the target was attached again after it"
                    + " had been written outside the agent";
        }
    }

    private final Path dir;
    private final List<Range> ranges;

    private DiscardedHistory(Path dir, List<Range> ranges) {
        this.dir = dir;
        this.ranges = List.copyOf(ranges);
    }

    /** Reads the list of {@code journalDir} (empty when the file does not exist). */
    public static DiscardedHistory load(Path journalDir) throws IOException {
        Path f = journalDir.resolve(FILE);
        if (!Files.exists(f)) {
            return new DiscardedHistory(journalDir, List.of());
        }
        byte[] b = Files.readAllBytes(f);
        ByteBuffer bb = ByteBuffer.wrap(b);
        int count = b.length >= HEADER ? Short.toUnsignedInt(bb.getShort(6)) : -1;
        if (count < 0 || b.length != HEADER + count * RANGE + 4
                || !Arrays.equals(b, 0, 4, MAGIC, 0, 4) || bb.getShort(4) != VERSION
                || crc(b, b.length - 4) != bb.getInt(b.length - 4)) {
            throw new CorruptLogException(f, 0, "the list of discarded history does not verify; without it the"
                    + " agent cannot tell which recovery points are real (restore the file from a copy of the"
                    + " retention volume, or run 'mtagent verify --repair' to start a new journal)");
        }
        List<Range> out = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            int p = HEADER + i * RANGE;
            Cause cause = Cause.of(b[p + 24]);
            if (cause == null) {
                throw new CorruptLogException(f, p, "unknown cause " + b[p + 24] + " of a discarded range");
            }
            out.add(new Range(bb.getLong(p), bb.getLong(p + 8), bb.getLong(p + 16), cause));
        }
        return new DiscardedHistory(journalDir, out);
    }

    /**
     * Adds {@code range} (merged with the ranges it overlaps or touches) and makes the new list durable before it
     * returns. Adding a range already covered changes nothing (a commit finished again after a restart).
     */
    public DiscardedHistory with(Range range) throws IOException {
        if (range.last() < range.first()) {
            return this;
        }
        for (Range r : ranges) {
            if (r.first() <= range.first() && r.last() >= range.last()) {
                return this;
            }
        }
        List<Range> merged = new ArrayList<>();
        Range add = range;
        for (Range r : ranges) {
            if (r.last() + 1 < add.first() || add.last() + 1 < r.first()) {
                merged.add(r);
            } else {
                boolean earlier = r.first() < add.first();
                add = new Range(Math.min(r.first(), add.first()), Math.max(r.last(), add.last()),
                        earlier ? r.at() : add.at(), earlier ? r.cause() : add.cause());
            }
        }
        merged.add(add);
        merged.sort((a, b) -> Long.compare(a.first(), b.first()));
        if (merged.size() > MAX_RANGES) {
            throw new IllegalStateException("the disk's history has more than " + MAX_RANGES + " discarded branches");
        }
        ByteBuffer bb = ByteBuffer.allocate(HEADER + merged.size() * RANGE + 4);
        bb.put(MAGIC).putShort((short) VERSION).putShort((short) merged.size());
        for (Range r : merged) {
            bb.putLong(r.first()).putLong(r.last()).putLong(r.at()).put((byte) r.cause().code);
        }
        bb.putInt(crc(bb.array(), bb.position()));
        AtomicFile.write(dir.resolve(FILE), bb.array());
        return new DiscardedHistory(dir, merged);
    }

    /** The range holding {@code seq}, or null when the seq is on the live branch. */
    public Range rangeOf(long seq) {
        for (Range r : ranges) {
            if (r.contains(seq)) {
                return r;
            }
        }
        return null;
    }

    public boolean contains(long seq) {
        return rangeOf(seq) != null;
    }

    public List<Range> ranges() {
        return ranges;
    }

    /**
     * The newest live seq at or below {@code seq}: {@code seq} itself when it is live, else the seq before its
     * discarded range (what the target held when the range was discarded), -1 when there is none.
     */
    public long liveAtOrBelow(long seq) {
        long s = seq;
        Range r;
        while (s >= 0 && (r = rangeOf(s)) != null) {
            s = r.first() - 1;
        }
        return s;
    }

    /** The refusal for a seq in a discarded range: names the range, what discarded it, and what to pick instead. */
    public static String refusal(String diskId, long seq, Range r) {
        return "disk " + diskId + ": seq " + seq + " is on a discarded branch of the recovery history (" + r.describe()
                + "); pick a point 'mtagent points' lists" + (r.cause() == Cause.COMMIT ? " (seq " + r.at()
                + " or earlier, or one written after the resync that followed the commit)" : "");
    }

    private static int crc(byte[] b, int length) {
        CRC32C c = new CRC32C();
        c.update(b, 0, length);
        return (int) c.getValue();
    }
}
