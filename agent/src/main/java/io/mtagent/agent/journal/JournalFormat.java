package io.mtagent.agent.journal;

import io.mtagent.agent.log.RecordFraming;
import io.mtagent.agent.log.SegmentKind;
import io.mtagent.agent.log.VerifiedRecord;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * The retention journal's record body (big-endian). One directory per disk on the retention volume. The segment
 * header, the record prefix, alignment, the chained CRC and reading are the shared log layer's
 * ({@link io.mtagent.agent.log.SegmentHeader}, {@link RecordFraming}, {@link io.mtagent.agent.log.SegmentReader};
 * kind {@link SegmentKind#JOURNAL}: magic "MTJOURNL", files "%020d.jrn", a header chain seed at byte 40, and each
 * record's CRC-32C over (previous record's CRC ‖ body), chained across records and segments, so a record cannot be
 * moved, dropped or replayed from another place).
 *
 * <pre>
 * body:
 *    0  type        u8   1 BEFORE_IMAGE, 2 POINT
 *    1  tagType     u8   POINT: 1 crash, 2 app, 3 group
 *    2  reserved    u16
 *    4  payloadLen  u32
 *    8  incarnation u64  must equal the segment header's
 *   16  seq         u64  the ingest sequence number this record belongs to
 *   24  timestamp   i64  µs, source time of that write or tag
 *   32  offset      u64  BEFORE_IMAGE: target byte offset
 *   40  length      u32  BEFORE_IMAGE: bytes
 *   44  reserved    u32
 *   48  payload     BEFORE_IMAGE: the target's bytes before the write; POINT: UTF-8 tag name
 * </pre>
 * Every applied ingest record is journaled (a write as its before-image, a tag as a point), in sequence order
 * without gaps, so the journal's last sequence number says exactly which writes already have their
 * before-image: that is what prevents a re-capture after a crash.
 */
final class JournalFormat {
    static final SegmentKind KIND = SegmentKind.JOURNAL;
    static final int BODY_HEADER_LENGTH = 48;
    /** Prefix plus body header: where a record's payload starts. */
    static final int PAYLOAD_OFFSET = RecordFraming.PREFIX_LENGTH + BODY_HEADER_LENGTH;
    static final int TYPE_BEFORE_IMAGE = 1;
    static final int TYPE_POINT = 2;
    static final int TAG_TYPE_OFFSET = 1;
    static final int TIMESTAMP_OFFSET = 24;
    static final int OFFSET_OFFSET = 32;
    static final int LENGTH_OFFSET = 40;

    private JournalFormat() {
    }

    static int recordLength(int payloadLength) {
        return RecordFraming.recordLength(KIND, payloadLength);
    }

    /**
     * Adds a record, given as its body header and payload (neither moved), at {@code position} after chained CRC
     * {@code chainBefore}, to a segment's index.
     */
    static void addTo(SegmentIndex idx, ByteBuffer bodyHeader, ByteBuffer payload, long position, int chainBefore) {
        int type = bodyHeader.get(RecordFraming.TYPE_OFFSET);
        long seq = bodyHeader.getLong(RecordFraming.SEQ_OFFSET);
        long ts = bodyHeader.getLong(TIMESTAMP_OFFSET);
        if (type == TYPE_BEFORE_IMAGE) {
            idx.add(seq, ts, type, 0, bodyHeader.getLong(OFFSET_OFFSET), bodyHeader.getInt(LENGTH_OFFSET), position,
                    chainBefore, null);
        } else {
            byte[] name = new byte[payload.remaining()];
            payload.get(payload.position(), name);
            idx.add(seq, ts, type, bodyHeader.get(TAG_TYPE_OFFSET), 0, name.length, position, chainBefore,
                    new String(name, StandardCharsets.UTF_8));
        }
    }

    /** Adds a verified record to a segment's index. */
    static void addTo(SegmentIndex idx, VerifiedRecord r) {
        addTo(idx, r.bodyHeader(), r.payload(), r.position(), r.chainBefore());
    }
}
