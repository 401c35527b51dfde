package io.mtagent.agent.storage;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.zip.CRC32C;

/**
 * On-disk format of ingest-log segments (big-endian throughout).
 *
 * <pre>
 * segment file  = "%020d.seg" (segment index)
 *   header      (4096 bytes, so records start sector- and page-aligned)
 *     0  magic        8   "MTINGEST"
 *     8  version      u16 = 1
 *    10  reserved     u16 = 0
 *    12  headerLength u32 = 4096
 *    16  incarnation  u64  random, chosen when the segment is (re)initialised
 *    24  firstSeq     u64  sequence number of the segment's first record
 *    32  segmentIndex u64
 *    40  headerCrc    u32  CRC-32C of bytes 0..39
 *    44  zero padding to 4096
 *   records, each starting at a multiple of 8:
 *     0  bodyLength   u32  bytes of body (BODY_HEADER_LENGTH + payloadLength)
 *     4  crc          u32  CRC-32C of the body (everything after this field up to bodyLength)
 *     8  body:
 *        0  type        u8   1 WRITE, 2 TAG
 *        1  flags       u8   bit 0: payload is an LZ4 block
 *        2  tagType     u8   TAG only
 *        3  reserved    u8   0
 *        4  payloadLen  u32  WRITE: stored data bytes; TAG: UTF-8 name bytes
 *        8  incarnation u64  must equal the segment header's
 *       16  seq         u64
 *       24  epoch       u64
 *       32  timestamp   i64  µs since the Unix epoch
 *       40  offset      u64  WRITE only
 *       48  length      u32  WRITE: uncompressed length
 *       52  dataCrc     u32  WRITE: CRC-32C of the uncompressed data; TAG: name CRC
 *       56  reserved    u64  0
 *       64  payload     payloadLen bytes
 *     zero padding to the next multiple of 8
 * </pre>
 * The length and CRC share the first 8-byte word of a record, which never straddles a 512-byte sector, so
 * the length cannot be torn. The record CRC covers type, flags, incarnation and every field, so a torn,
 * zeroed or stale record (from an earlier incarnation of a reused file) never verifies. A record whose
 * {@code bodyLength} is 0, above {@link #MAX_BODY_LENGTH}, or past the end of the file ends the scan before
 * anything is allocated.
 */
final class SegmentFormat {
    static final byte[] MAGIC = "MTINGEST".getBytes(StandardCharsets.US_ASCII);
    static final int VERSION = 1;
    static final int HEADER_LENGTH = 4096;
    static final int HEADER_CRC_OFFSET = 40;

    static final int RECORD_PREFIX_LENGTH = 8;
    static final int BODY_HEADER_LENGTH = 64;
    static final int TYPE_WRITE = 1;
    static final int TYPE_TAG = 2;
    /** Largest payload: a 16 MiB write (the config's upper bound) or a tag name. */
    static final int MAX_PAYLOAD = 16 << 20;
    static final int MAX_BODY_LENGTH = BODY_HEADER_LENGTH + MAX_PAYLOAD;

    private SegmentFormat() {
    }

    static String fileName(long index) {
        return String.format("%020d.seg", index);
    }

    static long indexOf(String fileName) {
        return Long.parseLong(fileName.substring(0, fileName.length() - 4));
    }

    /**
     * The name an applied segment file is kept under until a new segment is written over it (never a segment's
     * name, so a scan never reads a spare; its records carry the old incarnation, so they never verify as the new
     * segment's either).
     */
    static String spareFileName(long index) {
        return SPARE_PREFIX + fileName(index);
    }

    static boolean isSpare(String fileName) {
        return fileName.startsWith(SPARE_PREFIX) && isSegment(fileName.substring(SPARE_PREFIX.length()));
    }

    private static final String SPARE_PREFIX = "spare-";

    static boolean isSegment(String fileName) {
        return fileName.length() == 24 && fileName.endsWith(".seg") && fileName.chars().limit(20).allMatch(Character::isDigit);
    }

    static ByteBuffer header(long incarnation, long firstSeq, long index) {
        ByteBuffer b = ByteBuffer.allocate(HEADER_LENGTH);
        b.put(MAGIC).putShort((short) VERSION).putShort((short) 0).putInt(HEADER_LENGTH)
                .putLong(incarnation).putLong(firstSeq).putLong(index);
        CRC32C crc = new CRC32C();
        crc.update(b.array(), 0, HEADER_CRC_OFFSET);
        b.putInt((int) crc.getValue());
        b.clear();
        return b;
    }

    /** Parsed segment header. */
    record Header(long incarnation, long firstSeq, long index) {
    }

    /** Returns the header, or null if it does not verify (a torn segment creation). */
    static Header readHeader(ByteBuffer b) {
        if (b.remaining() < HEADER_LENGTH) {
            return null;
        }
        byte[] magic = new byte[8];
        b.get(0, magic);
        if (!java.util.Arrays.equals(magic, MAGIC) || b.getShort(8) != VERSION || b.getInt(12) != HEADER_LENGTH) {
            return null;
        }
        CRC32C crc = new CRC32C();
        crc.update(b.duplicate().position(0).limit(HEADER_CRC_OFFSET));
        if ((int) crc.getValue() != b.getInt(HEADER_CRC_OFFSET)) {
            return null;
        }
        return new Header(b.getLong(16), b.getLong(24), b.getLong(32));
    }

    static int recordLength(int payloadLength) {
        return align8(RECORD_PREFIX_LENGTH + BODY_HEADER_LENGTH + payloadLength);
    }

    static int align8(int n) {
        return (n + 7) & ~7;
    }

    /** Fills {@code b} (position 0, 72 bytes) with prefix + body header; the CRC is patched in by the writer. */
    static void writeRecordHeader(ByteBuffer b, IngestRecord r, long incarnation, int payloadLength) {
        b.clear();
        b.putInt(BODY_HEADER_LENGTH + payloadLength).putInt(0);
        b.put((byte) (r.type() == IngestRecord.Type.WRITE ? TYPE_WRITE : TYPE_TAG))
                .put((byte) (r.compressed() ? 1 : 0)).put(r.tagType()).put((byte) 0).putInt(payloadLength)
                .putLong(incarnation).putLong(r.seq()).putLong(r.epoch()).putLong(r.timestampMicros())
                .putLong(r.offset()).putInt(r.length()).putInt(r.crc32c()).putLong(0);
        b.flip();
    }

    /** Decodes a verified body (position at body start). */
    static IngestRecord decodeBody(ByteBuffer body, byte[] payload) {
        int type = body.get(0);
        int flags = body.get(1);
        byte tagType = body.get(2);
        long seq = body.getLong(16);
        long epoch = body.getLong(24);
        long ts = body.getLong(32);
        if (type == TYPE_WRITE) {
            return IngestRecord.write(seq, epoch, ts, body.getLong(40), body.getInt(48), body.getInt(52), (flags & 1) != 0);
        }
        return new IngestRecord(IngestRecord.Type.TAG, seq, epoch, ts, 0, 0, body.getInt(52), false, tagType,
                new String(payload, StandardCharsets.UTF_8));
    }
}
