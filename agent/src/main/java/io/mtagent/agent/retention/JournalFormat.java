package io.mtagent.agent.retention;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.zip.CRC32C;

/**
 * On-disk format of a disk's retention journal (big-endian). One directory per disk on the retention volume.
 *
 * <pre>
 * segment file "%020d.jrn" (segment index)
 *   header (4096 bytes)
 *     0  magic        8   "MTJOURNL"
 *     8  version      u16 = 1
 *    10  reserved     u16
 *    12  headerLength u32 = 4096
 *    16  incarnation  u64  random per (re)initialised segment
 *    24  firstSeq     u64
 *    32  segmentIndex u64
 *    40  chainSeed    u32  the chained CRC of the last record of the previous segment (0 for the first)
 *    44  headerCrc    u32  CRC-32C of bytes 0..43
 *   records, 8-byte aligned:
 *     0  bodyLength  u32
 *     4  crc         u32  CRC-32C over (previous record's crc as 4 bytes ‖ body): chained across records and
 *                         segments, so a record cannot be moved, dropped or replayed from another place
 *     8  body
 *        0  type        u8   1 BEFORE_IMAGE, 2 POINT
 *        1  tagType     u8   POINT: 1 crash, 2 app, 3 group
 *        2  reserved    u16
 *        4  payloadLen  u32
 *        8  incarnation u64  must equal the segment header's
 *       16  seq         u64  the ingest sequence number this record belongs to
 *       24  timestamp   i64  µs, source time of that write or tag
 *       32  offset      u64  BEFORE_IMAGE: target byte offset
 *       40  length      u32  BEFORE_IMAGE: bytes
 *       44  reserved    u32
 *       48  payload     BEFORE_IMAGE: the target's bytes before the write; POINT: UTF-8 tag name
 *     zero padding to 8
 * </pre>
 * Every applied ingest record is journaled (a write as its before-image, a tag as a point), in sequence order
 * without gaps, so the journal's last sequence number says exactly which writes already have their
 * before-image: that is what prevents a re-capture after a crash.
 */
final class JournalFormat {
    static final byte[] MAGIC = "MTJOURNL".getBytes(StandardCharsets.US_ASCII);
    static final int VERSION = 1;
    static final int HEADER_LENGTH = 4096;
    static final int HEADER_CRC_OFFSET = 44;
    static final int PREFIX_LENGTH = 8;
    static final int BODY_HEADER_LENGTH = 48;
    static final int TYPE_BEFORE_IMAGE = 1;
    static final int TYPE_POINT = 2;
    static final int MAX_PAYLOAD = 16 << 20;

    private JournalFormat() {
    }

    static String fileName(long index) {
        return String.format("%020d.jrn", index);
    }

    static boolean isSegment(String name) {
        return name.length() == 24 && name.endsWith(".jrn") && name.chars().limit(20).allMatch(Character::isDigit);
    }

    static long indexOf(String name) {
        return Long.parseLong(name.substring(0, 20));
    }

    static int recordLength(int payloadLength) {
        return (PREFIX_LENGTH + BODY_HEADER_LENGTH + payloadLength + 7) & ~7;
    }

    static ByteBuffer header(long incarnation, long firstSeq, long index, int chainSeed) {
        ByteBuffer b = ByteBuffer.allocate(HEADER_LENGTH);
        b.put(MAGIC).putShort((short) VERSION).putShort((short) 0).putInt(HEADER_LENGTH).putLong(incarnation)
                .putLong(firstSeq).putLong(index).putInt(chainSeed);
        CRC32C c = new CRC32C();
        c.update(b.array(), 0, HEADER_CRC_OFFSET);
        b.putInt((int) c.getValue());
        return b.clear();
    }

    record Header(long incarnation, long firstSeq, long index, int chainSeed) {
    }

    static Header readHeader(ByteBuffer b) {
        if (b.remaining() < HEADER_LENGTH) {
            return null;
        }
        byte[] magic = new byte[8];
        b.get(0, magic);
        if (!java.util.Arrays.equals(magic, MAGIC) || b.getShort(8) != VERSION || b.getInt(12) != HEADER_LENGTH) {
            return null;
        }
        CRC32C c = new CRC32C();
        c.update(b.array(), b.arrayOffset(), HEADER_CRC_OFFSET);
        if ((int) c.getValue() != b.getInt(HEADER_CRC_OFFSET)) {
            return null;
        }
        return new Header(b.getLong(16), b.getLong(24), b.getLong(32), b.getInt(40));
    }

    /** The same CRC as {@link #chainedCrc(CRC32C, int, ByteBuffer)} over a body given as its header and payload. */
    static int chainedCrc(CRC32C crc, int previous, ByteBuffer bodyHeader, ByteBuffer payload) {
        crc.reset();
        crc.update((previous >>> 24) & 0xff);
        crc.update((previous >>> 16) & 0xff);
        crc.update((previous >>> 8) & 0xff);
        crc.update(previous & 0xff);
        crc.update(bodyHeader.duplicate());
        crc.update(payload.duplicate());
        return (int) crc.getValue();
    }

    /** The chained CRC of a record body. */
    static int chainedCrc(CRC32C crc, int previous, ByteBuffer body) {
        return chainedCrc(crc, previous, body, EMPTY);
    }

    private static final ByteBuffer EMPTY = ByteBuffer.allocate(0);
}
