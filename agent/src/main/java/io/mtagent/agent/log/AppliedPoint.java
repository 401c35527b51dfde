package io.mtagent.agent.log;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.CRC32C;

/**
 * The ingest log's applied-point file ({@code applied}): how far the target holds the log's records, and the
 * source time of that record, so that a restarted agent knows the time of its newest point even when every record
 * is applied and its segment is gone (the RPO must be a number from the first scrape after a restart).
 *
 * <pre>
 * version 2 (20 bytes, written now)   version 1 (12 bytes, still read)
 *   0  appliedSeq     u64                          0  appliedSeq u64
 *   8  timestamp      i64  µs since the Unix       8  crc        u32  CRC-32C of bytes 0..7
 *                          epoch (source time of
 *                          the applied record; -1
 *                          when unknown)
 *  16  crc            u32  CRC-32C of bytes 0..15
 * </pre>
 * Big-endian. Written atomically and durably ({@link AtomicFile#write}: temp file, fsync, rename, directory fsync).
 * A version-1 file reads with timestamp -1 (unknown).
 *
 * @param seq             every record up to this sequence number is on the target
 * @param timestampMicros source time of record {@code seq}, -1 when unknown (nothing applied yet, or a version-1 file)
 */
public record AppliedPoint(long seq, long timestampMicros) {
    static final int V1_LENGTH = 12;
    static final int V2_LENGTH = 20;
    /** Nothing applied, time unknown: a new log. */
    public static final AppliedPoint NONE = new AppliedPoint(0, -1);

    /** The file's bytes (version 2). */
    byte[] encode() {
        ByteBuffer b = ByteBuffer.allocate(V2_LENGTH).putLong(seq).putLong(timestampMicros);
        b.putInt(crc(b.array(), V2_LENGTH - 4));
        return b.array();
    }

    /** Writes {@code file} atomically and durably. */
    public void write(Path file) throws IOException {
        AtomicFile.write(file, encode());
    }

    /**
     * Reads {@code file}; {@link #NONE} when it does not exist.
     *
     * @throws CorruptLogException when its length or CRC is wrong ({@code mtagent verify --repair} rewrites it)
     */
    public static AppliedPoint read(Path file) throws IOException {
        if (!Files.exists(file)) {
            return NONE;
        }
        byte[] b = Files.readAllBytes(file);
        AppliedPoint p = decode(b);
        if (p == null) {
            throw new CorruptLogException(file, 0, b.length != V1_LENGTH && b.length != V2_LENGTH
                    ? "applied-point file has " + b.length + " bytes, expected " + V2_LENGTH + " (or " + V1_LENGTH
                    + " from an older version)" : "applied-point CRC mismatch");
        }
        return p;
    }

    /** The point in {@code b}, or null when its length or CRC is wrong. */
    public static AppliedPoint decode(byte[] b) {
        ByteBuffer bb = ByteBuffer.wrap(b);
        if (b.length == V1_LENGTH && crc(b, 8) == bb.getInt(8)) {
            return new AppliedPoint(bb.getLong(0), -1);
        }
        if (b.length == V2_LENGTH && crc(b, 16) == bb.getInt(16)) {
            return new AppliedPoint(bb.getLong(0), bb.getLong(8));
        }
        return null;
    }

    private static int crc(byte[] b, int length) {
        CRC32C c = new CRC32C();
        c.update(b, 0, length);
        return (int) c.getValue();
    }
}
