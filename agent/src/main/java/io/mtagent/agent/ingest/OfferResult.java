package io.mtagent.agent.ingest;

/** How {@link IngestLog#offer} classified a record (docs/ARCHITECTURE.md, "Write path" step 4). */
public enum OfferResult {
    /** seq = lastAccepted + 1: queued; durable after the next group commit. */
    ACCEPTED,
    /** seq ≤ lastAccepted with the same content (or no longer held): acknowledge again, store nothing. */
    DUPLICATE,
    /** seq ≤ lastAccepted with different content. */
    CONFLICT,
    /** seq > lastAccepted + 1: writes were skipped. */
    GAP,
    /** The log is closed or failed. */
    CLOSED
}
