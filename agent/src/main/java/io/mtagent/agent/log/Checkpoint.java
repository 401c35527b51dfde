package io.mtagent.agent.log;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.CRC32C;

/**
 * The durable "synced up to here" mark of a log ({@code checkpoint}), the same file for both logs (big-endian):
 *
 * <pre>
 *    0  segment   u64  index of the segment the log was synced in
 *    8  position  u64  where that segment's next record starts (a record boundary)
 *   16  seq       u64  the last sequence number synced
 *   24  crc       u32  CRC-32C of bytes 0..23
 * </pre>
 * Written atomically and durably ({@link AtomicFile}) only right after a sync of everything before it: at every
 * segment roll, at open and close, and at most once a second after a sync. It is what {@link RecoveryRule} splits
 * a bad record by: after it a torn tail, before it corruption.
 */
public record Checkpoint(long segment, long position, long seq) {
    static final int LENGTH = 28;
    private static final int CRC_OFFSET = 24;

    /** The checkpoint of {@code file}, or null when there is none (a new log). */
    public static Checkpoint read(Path file) throws IOException {
        if (!Files.exists(file)) {
            return null;
        }
        byte[] b = Files.readAllBytes(file);
        if (b.length != LENGTH) {
            throw new CorruptLogException(file, 0, "checkpoint has " + b.length + " bytes, expected " + LENGTH);
        }
        ByteBuffer bb = ByteBuffer.wrap(b);
        if (crc(b) != bb.getInt(CRC_OFFSET)) {
            throw new CorruptLogException(file, 0, "checkpoint CRC mismatch");
        }
        return new Checkpoint(bb.getLong(0), bb.getLong(8), bb.getLong(16));
    }

    /** Replaces {@code file} atomically and durably. */
    public void write(Path file) throws IOException {
        AtomicFile.write(file, encode());
    }

    byte[] encode() {
        ByteBuffer b = ByteBuffer.allocate(LENGTH).putLong(segment).putLong(position).putLong(seq);
        b.putInt(crc(b.array()));
        return b.array();
    }

    private static int crc(byte[] b) {
        CRC32C c = new CRC32C();
        c.update(b, 0, CRC_OFFSET);
        return (int) c.getValue();
    }
}
