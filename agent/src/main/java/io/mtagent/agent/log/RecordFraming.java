package io.mtagent.agent.log;

import io.mtagent.protocol.Crc32cCombine;
import java.nio.ByteBuffer;
import java.util.zip.CRC32C;

/**
 * How records are framed in a segment after its {@link SegmentHeader}, the same for both kinds (big-endian):
 *
 * <pre>
 * record, starting at a multiple of 8:
 *   0  bodyLength  u32  bytes of body: the kind's body header + payloadLength, at most {@link SegmentKind#maxBodyLength}
 *   4  crc         u32  CRC-32C of the body (PLAIN), or of (previous record's crc ‖ body) (CHAINED)
 *   8  body
 *        0  type        u8   1 or 2 (what they mean is the log's own)
 *        1  ...         3 bytes of the log's own
 *        4  payloadLen  u32  = bodyLength - body header length
 *        8  incarnation u64  must equal the segment header's: a record left over from an earlier use of a reused
 *                            file never verifies as the new one's
 *       16  seq         u64
 *       24  ...         the rest of the log's body header
 *       payload         payloadLen bytes
 *   zero padding to the next multiple of 8
 * </pre>
 * Why 8-byte alignment: the length and CRC share the first 8-byte word of a record, which never straddles a 512-byte
 * sector, so the length word cannot be torn (etcd's WAL does the same). Why the incarnation: a reused file's old
 * records have valid CRCs. Why the bound: a corrupt length must end a scan before it drives an allocation.
 */
public final class RecordFraming {
    public static final int PREFIX_LENGTH = 8;
    static final int BODY_LENGTH_OFFSET = 0;
    static final int CRC_OFFSET = BODY_LENGTH_OFFSET + Integer.BYTES;
    /** Body fields both kinds share (offsets in the body). */
    public static final int TYPE_OFFSET = 0;
    public static final int PAYLOAD_LENGTH_OFFSET = 4;
    public static final int INCARNATION_OFFSET = PAYLOAD_LENGTH_OFFSET + Integer.BYTES;
    public static final int SEQ_OFFSET = INCARNATION_OFFSET + Long.BYTES;
    static final int ALIGNMENT = 8;

    private RecordFraming() {
    }

    public static int align(int n) {
        return (n + ALIGNMENT - 1) & -ALIGNMENT;
    }

    /** Bytes a record with this payload takes in a segment of this kind, padding included. */
    public static int recordLength(SegmentKind kind, int payloadLength) {
        return align(PREFIX_LENGTH + kind.bodyHeaderLength() + payloadLength);
    }

    /** Prefix plus body header: where the payload starts in a record. */
    public static int payloadOffset(SegmentKind kind) {
        return PREFIX_LENGTH + kind.bodyHeaderLength();
    }

    /** Zero bytes after the payload up to the record's aligned end. */
    public static int padding(SegmentKind kind, int payloadLength) {
        return recordLength(kind, payloadLength) - payloadOffset(kind) - payloadLength;
    }

    /**
     * Resets {@code crc} and, for a chained kind, feeds it the previous record's CRC (4 bytes, big-endian): the
     * caller then feeds the body (header, then payload) and takes {@code crc.getValue()}.
     */
    public static CRC32C beginCrc(CRC32C crc, SegmentKind kind, int chainBefore) {
        crc.reset();
        if (kind.crcMode() == SegmentKind.CrcMode.CHAINED) {
            crc.update((chainBefore >>> 24) & 0xff);
            crc.update((chainBefore >>> 16) & 0xff);
            crc.update((chainBefore >>> 8) & 0xff);
            crc.update(chainBefore & 0xff);
        }
        return crc;
    }

    /** The record CRC of a body given as its header and payload (neither buffer is moved). */
    public static int recordCrc(SegmentKind kind, CRC32C crc, int chainBefore, ByteBuffer bodyHeader,
                                ByteBuffer payload) {
        beginCrc(crc, kind, chainBefore).update(bodyHeader.duplicate());
        crc.update(payload.duplicate());
        return (int) crc.getValue();
    }

    /**
     * The record CRC from the CRC of (chain ‖ body header) and the payload's own CRC-32C, without a pass over the
     * payload ({@link Crc32cCombine}): the writer uses it when the payload's CRC is already known.
     */
    public static int combine(int headerPartCrc, int payloadCrc, int payloadLength) {
        return Crc32cCombine.combine(headerPartCrc, payloadCrc, payloadLength);
    }

    /** Puts the 8-byte prefix at index 0 of {@code record}. */
    public static void putPrefix(ByteBuffer record, int bodyLength, int crc) {
        record.putInt(BODY_LENGTH_OFFSET, bodyLength).putInt(CRC_OFFSET, crc);
    }
}
