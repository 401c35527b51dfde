package io.mtagent.agent.log;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.CRC32C;

/**
 * The retention journal's {@code pruned} file: everything up to {@code seq} was pruned, so the earliest point
 * still recoverable (and its source time) survives restarts, also when no segment is left to say it. Big-endian:
 *
 * <pre>
 *    0  seq        u64  every record up to it is pruned
 *    8  timestamp  i64  µs, source time of record seq (-1 unknown)
 *   16  crc        u32  CRC-32C of bytes 0..15
 * </pre>
 * Written atomically and durably ({@link AtomicFile}) <em>before</em> a pruned segment is deleted: a crash between
 * the two leaves a segment wholly at or below the mark, which recovery removes; the other order would leave a hole
 * that looks like corruption.
 */
public record PrunedMark(long seq, long timestampMicros) {
    static final int LENGTH = 20;
    private static final int CRC_OFFSET = 16;
    /** Nothing pruned yet. */
    public static final PrunedMark NONE = new PrunedMark(0, -1);

    /** The mark in {@code file}, or {@link #NONE} when there is none. */
    public static PrunedMark read(Path file) throws IOException {
        if (!Files.exists(file)) {
            return NONE;
        }
        byte[] b = Files.readAllBytes(file);
        ByteBuffer bb = ByteBuffer.wrap(b);
        if (b.length != LENGTH || crc(b) != bb.getInt(CRC_OFFSET)) {
            throw new CorruptLogException(file, 0, "journal pruning mark does not verify");
        }
        return new PrunedMark(bb.getLong(0), bb.getLong(8));
    }

    /** Replaces {@code file} atomically and durably. */
    public void write(Path file) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(LENGTH).putLong(seq).putLong(timestampMicros);
        b.putInt(crc(b.array()));
        AtomicFile.write(file, b.array());
    }

    private static int crc(byte[] b) {
        CRC32C c = new CRC32C();
        c.update(b, 0, Math.min(CRC_OFFSET, b.length));
        return (int) c.getValue();
    }
}
