package io.mtagent.agent.log;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.util.zip.CRC32C;

/**
 * The 4096-byte header that opens every segment (big-endian), the same for both kinds up to byte 39:
 *
 * <pre>
 *    0  magic        8    "MTINGEST" / "MTJOURNL" ({@link SegmentKind})
 *    8  version      u16  = 1
 *   10  reserved     u16  = 0
 *   12  headerLength u32  = 4096, so records start sector- and page-aligned
 *   16  incarnation  u64  random, chosen each time the file is (re)initialised; every record repeats it
 *   24  firstSeq     u64  sequence number of the segment's first record
 *   32  segmentIndex u64  the index in the file name
 *   INGEST:   40 headerCrc u32  CRC-32C of bytes 0..39
 *   JOURNAL:  40 chainSeed u32  the chained CRC of the last record of the previous segment (0 for the first)
 *             44 headerCrc u32  CRC-32C of bytes 0..43
 *   zero padding to 4096
 * </pre>
 * A header that does not verify means the segment's creation was cut short (after the checkpoint: a torn tail)
 * or damage (at or before the checkpoint's segment): {@link RecoveryRule}.
 *
 * @param chainSeed 0 for an ingest segment
 */
public record SegmentHeader(long incarnation, long firstSeq, long index, int chainSeed) {
    public static final int LENGTH = 4096;
    static final int MAGIC_OFFSET = 0;
    static final int MAGIC_LENGTH = 8;
    static final int VERSION_OFFSET = MAGIC_OFFSET + MAGIC_LENGTH;
    static final int RESERVED_OFFSET = VERSION_OFFSET + Short.BYTES;
    static final int HEADER_LENGTH_OFFSET = RESERVED_OFFSET + Short.BYTES;
    static final int INCARNATION_OFFSET = HEADER_LENGTH_OFFSET + Integer.BYTES;
    static final int FIRST_SEQ_OFFSET = INCARNATION_OFFSET + Long.BYTES;
    static final int INDEX_OFFSET = FIRST_SEQ_OFFSET + Long.BYTES;
    /** End of the part both kinds share; the journal's chain seed follows. */
    static final int COMMON_LENGTH = INDEX_OFFSET + Long.BYTES;
    static final int CHAIN_SEED_OFFSET = COMMON_LENGTH;
    static final int VERSION = 1;

    /** An ingest segment's header (no chain). */
    public static SegmentHeader ingest(long incarnation, long firstSeq, long index) {
        return new SegmentHeader(incarnation, firstSeq, index, 0);
    }

    /** Where the header CRC lies for this kind (it covers every byte before it). */
    static int crcOffset(SegmentKind kind) {
        return kind.hasChainSeed() ? CHAIN_SEED_OFFSET + Integer.BYTES : COMMON_LENGTH;
    }

    /** The header's 4096 bytes (position 0, limit 4096). */
    public ByteBuffer encode(SegmentKind kind) {
        ByteBuffer b = ByteBuffer.allocate(LENGTH);
        b.put(kind.magic()).putShort((short) VERSION).putShort((short) 0).putInt(LENGTH)
                .putLong(incarnation).putLong(firstSeq).putLong(index);
        if (kind.hasChainSeed()) {
            b.putInt(chainSeed);
        }
        b.putInt(crcOf(b, kind));
        return b.clear();
    }

    /** Writes the header at the start of {@code ch} (not synced: the caller syncs with what else it creates). */
    public void writeTo(SegmentKind kind, FileChannel ch) throws IOException {
        ByteBuffer h = encode(kind);
        while (h.hasRemaining()) {
            ch.write(h, h.position());
        }
    }

    /** The header in {@code b} (index 0 on), or null when it does not verify (magic, version, length, CRC). */
    public static SegmentHeader decode(SegmentKind kind, ByteBuffer b) {
        if (b.limit() < LENGTH) {
            return null;
        }
        byte[] magic = new byte[MAGIC_LENGTH];
        b.get(MAGIC_OFFSET, magic);
        if (!kind.hasMagic(magic) || b.getShort(VERSION_OFFSET) != VERSION || b.getInt(HEADER_LENGTH_OFFSET) != LENGTH) {
            return null;
        }
        if (crcOf(b, kind) != b.getInt(crcOffset(kind))) {
            return null;
        }
        return new SegmentHeader(b.getLong(INCARNATION_OFFSET), b.getLong(FIRST_SEQ_OFFSET), b.getLong(INDEX_OFFSET),
                kind.hasChainSeed() ? b.getInt(CHAIN_SEED_OFFSET) : 0);
    }

    /** Reads and decodes the header of an open segment; null when the file is too short or it does not verify. */
    public static SegmentHeader read(SegmentKind kind, FileChannel ch) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(LENGTH);
        while (b.hasRemaining()) {
            if (ch.read(b, b.position()) < 0) {
                break;
            }
        }
        b.flip();
        return decode(kind, b);
    }

    private static int crcOf(ByteBuffer b, SegmentKind kind) {
        CRC32C crc = new CRC32C();
        crc.update(b.duplicate().position(0).limit(crcOffset(kind)));
        return (int) crc.getValue();
    }
}
