package io.mtagent.agent.ingest;

import io.mtagent.agent.log.RecordFraming;
import io.mtagent.agent.log.SegmentKind;
import io.mtagent.agent.log.VerifiedRecord;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * The ingest log's record body (big-endian). The segment header, the record prefix, alignment, CRC and reading are
 * the shared log layer's ({@link io.mtagent.agent.log.SegmentHeader}, {@link RecordFraming},
 * {@link io.mtagent.agent.log.SegmentReader}; kind {@link SegmentKind#INGEST}: magic "MTINGEST", files
 * "%020d.seg", plain CRC-32C of the body).
 *
 * <pre>
 * body:
 *    0  type        u8   1 WRITE, 2 TAG
 *    1  flags       u8   bit 0: payload is an LZ4 block
 *    2  tagType     u8   TAG only
 *    3  reserved    u8   0
 *    4  payloadLen  u32  WRITE: stored data bytes; TAG: UTF-8 name bytes
 *    8  incarnation u64  must equal the segment header's
 *   16  seq         u64
 *   24  epoch       u64
 *   32  timestamp   i64  µs since the Unix epoch
 *   40  offset      u64  WRITE only
 *   48  length      u32  WRITE: uncompressed length
 *   52  dataCrc     u32  WRITE: CRC-32C of the uncompressed data; TAG: name CRC
 *   56  reserved    u64  0
 *   64  payload     payloadLen bytes
 * </pre>
 * The record CRC covers type, flags, incarnation and every field, so a torn, zeroed or stale record (from an
 * earlier incarnation of a reused file) never verifies.
 */
final class SegmentFormat {
    static final SegmentKind KIND = SegmentKind.INGEST;
    static final int BODY_HEADER_LENGTH = 64;
    static final int TYPE_WRITE = 1;
    static final int TYPE_TAG = 2;
    /** Prefix plus body header: where a record's payload starts. */
    static final int RECORD_HEADER_LENGTH = RecordFraming.PREFIX_LENGTH + BODY_HEADER_LENGTH;

    private SegmentFormat() {
    }

    static int recordLength(int payloadLength) {
        return RecordFraming.recordLength(KIND, payloadLength);
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

    /** Decodes a verified body header (index 0 = body offset 0); {@code tagName} is the payload of a tag. */
    static IngestRecord decodeBody(ByteBuffer body, byte[] tagName) {
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
                new String(tagName, StandardCharsets.UTF_8));
    }

    /** The ingest record of a verified log record; a tag's name is copied out of its payload. */
    static IngestRecord decode(VerifiedRecord r) {
        return decodeBody(r.bodyHeader(), r.type() == TYPE_TAG ? r.payloadBytes() : null);
    }
}
