package io.mtagent.agent.ingest;

import io.mtagent.agent.log.RecordFraming;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.util.zip.CRC32C;

/**
 * Frames one ingest record ({@link SegmentFormat} on {@link RecordFraming}) and writes it with one gathering write:
 * prefix and body header from a reused direct buffer, the payload from wherever it lies (the network decoder hands
 * on the decrypted TLS records a frame arrived in, without gathering them), the padding. The record CRC is computed
 * buffer by buffer, or derived from the payload's known CRC-32C without a pass over it ({@link RecordFraming#combine}).
 *
 * <p>Not thread-safe: the writer thread's own.
 */
final class RecordWriter {
    private final ByteBuffer recordHeader = ByteBuffer.allocateDirect(SegmentFormat.RECORD_HEADER_LENGTH);
    private final ByteBuffer padding = ByteBuffer.allocateDirect(8);
    private final CRC32C crc = new CRC32C();

    /**
     * Writes {@code record} at {@code position} of {@code channel}, whose segment has {@code incarnation}.
     *
     * @param payload        the payload's buffers (not moved), {@code payloadLength} bytes in all
     * @param payloadCrcKnown the payload is uncompressed and its CRC-32C is {@code record.crc32c()}
     * @param length         the record's length with padding ({@link SegmentFormat#recordLength})
     */
    void write(FileChannel channel, long position, long incarnation, IngestRecord record, ByteBuffer[] payload,
               int payloadLength, boolean payloadCrcKnown, int length) throws IOException {
        SegmentFormat.writeRecordHeader(recordHeader, record, incarnation, payloadLength);
        RecordFraming.beginCrc(crc, SegmentFormat.KIND, 0)
                .update(recordHeader.duplicate().position(RecordFraming.PREFIX_LENGTH));
        int recordCrc;
        if (payloadCrcKnown) {
            recordCrc = RecordFraming.combine((int) crc.getValue(), record.crc32c(), payloadLength);
        } else {
            for (ByteBuffer b : payload) {
                crc.update(b.duplicate());
            }
            recordCrc = (int) crc.getValue();
        }
        RecordFraming.putPrefix(recordHeader, SegmentFormat.BODY_HEADER_LENGTH + payloadLength, recordCrc);
        padding.clear().limit(RecordFraming.padding(SegmentFormat.KIND, payloadLength));
        ByteBuffer[] parts = new ByteBuffer[payload.length + 2];
        parts[0] = recordHeader;
        System.arraycopy(payload, 0, parts, 1, payload.length);
        parts[parts.length - 1] = padding;
        long written = 0;
        while (written < length) {
            channel.position(position + written);
            written += channel.write(parts);
        }
    }
}
