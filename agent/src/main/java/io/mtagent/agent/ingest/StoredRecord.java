package io.mtagent.agent.ingest;

import io.mtagent.agent.apply.ApplyStage;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.zip.CRC32C;

/**
 * A durable record read back from the ingest log for the applier: metadata plus the payload as stored
 * (LZ4-compressed when {@code record.compressed()}; empty for tags), and the CRC-32C of that stored payload, which
 * the reader computed while verifying the record ({@link RecordPayloads} checks an uncompressed write's data CRC
 * against it instead of running over the bytes again).
 *
 * <p>The payload is held in one of two places: a heap array ({@code payload}), or, when the applier read the
 * batch with a {@link DirectPayloadBuffers.Lease}, an aligned direct buffer ({@code directPayload}, position 0,
 * limit the stored length; {@code payload} is then null) that is valid only until that lease is closed
 * ({@link ApplyStage}, payload lifetime). {@link RecordPayloads} reads either kind.
 */
public record StoredRecord(IngestRecord record, byte[] payload, int payloadCrc, ByteBuffer directPayload) {
    public StoredRecord(IngestRecord record, byte[] payload, int payloadCrc) {
        this(record, payload, payloadCrc, null);
    }

    /** A record whose payload CRC is computed here (records not read through the verifying scanner). */
    public StoredRecord(IngestRecord record, byte[] payload) {
        this(record, payload, crc(payload));
    }

    /** The stored payload's length in bytes, wherever it is held. */
    public int payloadLength() {
        if (directPayload != null) {
            return directPayload.remaining();
        }
        return payload == null ? 0 : payload.length;
    }

    /** The uncompressed bytes of the writes among {@code records} (tags carry none). */
    public static long writeBytes(List<StoredRecord> records) {
        long sum = 0;
        for (StoredRecord r : records) {
            if (r.record().type() == IngestRecord.Type.WRITE) {
                sum += r.record().length();
            }
        }
        return sum;
    }

    private static int crc(byte[] payload) {
        if (payload == null) {
            return 0; // the CRC-32C of no bytes
        }
        CRC32C c = new CRC32C();
        c.update(payload, 0, payload.length);
        return (int) c.getValue();
    }
}
