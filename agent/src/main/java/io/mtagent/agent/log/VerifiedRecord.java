package io.mtagent.agent.log;

import java.nio.ByteBuffer;

/**
 * One record that verified (length in bounds, CRC, incarnation, consistent header), as a {@link SegmentReader}
 * returns it. The buffers are views: for a sequential read a fresh heap buffer per record; for
 * {@link SegmentReader#readAt} the caller's scratch buffer, valid until its next read.
 *
 * @param position    where the record starts in its segment
 * @param length      bytes the record takes, padding included ({@link RecordFraming#recordLength})
 * @param bodyHeader  the kind's body header (index 0 = body offset 0)
 * @param payload     the payload as stored (position 0, limit its length)
 * @param payloadCrc  CRC-32C of the payload as stored, computed while verifying (a reader of an uncompressed
 *                    write need not run over its bytes again)
 * @param chainBefore the chained CRC before this record (0 for a plain kind): what an index keeps to verify it alone
 * @param crc         this record's CRC (the next record of a chained kind chains from it)
 */
public record VerifiedRecord(long position, int length, ByteBuffer bodyHeader, ByteBuffer payload, int payloadCrc,
                             int chainBefore, int crc) {
    public int type() {
        return bodyHeader.get(RecordFraming.TYPE_OFFSET);
    }

    public long seq() {
        return bodyHeader.getLong(RecordFraming.SEQ_OFFSET);
    }

    public int payloadLength() {
        return payload.remaining();
    }

    /** A copy of the payload. */
    public byte[] payloadBytes() {
        byte[] out = new byte[payload.remaining()];
        payload.get(payload.position(), out);
        return out;
    }

    /** Where the next record starts. */
    public long end() {
        return position + length;
    }
}
