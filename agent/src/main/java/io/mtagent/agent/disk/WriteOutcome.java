package io.mtagent.agent.disk;

/** What became of one WRITE or TAG offered to a disk (the session turns the refusals into ERROR frames). */
public enum WriteOutcome {
    /** New: queued for the ingest log; an ACK follows once it is durable. */
    ACCEPTED,
    /** A re-send of a sequence number already held (same content): acknowledge, store nothing. */
    DUPLICATE,
    /** A re-send with different content. */
    CONFLICT,
    /** A sequence number was skipped: the disk is now needs-resync. */
    GAP,
    /** The disk is needs-resync: writes are refused until a resync. */
    NEEDS_RESYNC,
    /** The disk is being rolled back to a recovery point. */
    RECOVERING,
    /** The disk or its ingest log failed. */
    FAILED,
    /** The caller no longer owns the disk (fenced by a newer open). */
    NOT_OWNER,
    /** v2: a resync frame or resync-marked write while no resync with that id is in progress. */
    NOT_RESYNCING
}
