package io.mtagent.agent.storage;

import java.util.zip.CRC32C;

/**
 * A durable record read back from the ingest log for the applier: metadata plus the payload as stored
 * (LZ4-compressed when {@code record.compressed()}; empty for tags), and the CRC-32C of that stored payload, which
 * the reader computed while verifying the record ({@link RecordPayloads} checks an uncompressed write's data CRC
 * against it instead of running over the bytes again).
 */
public record StoredRecord(IngestRecord record, byte[] payload, int payloadCrc) {
    /** A record whose payload CRC is computed here (records not read through the verifying scanner). */
    public StoredRecord(IngestRecord record, byte[] payload) {
        this(record, payload, crc(payload));
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
