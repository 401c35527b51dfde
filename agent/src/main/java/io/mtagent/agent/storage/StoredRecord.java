package io.mtagent.agent.storage;

/**
 * A durable record read back from the ingest log for the applier: metadata plus the payload as stored
 * (LZ4-compressed when {@code record.compressed()}; empty for tags).
 */
public record StoredRecord(IngestRecord record, byte[] payload) {
}
