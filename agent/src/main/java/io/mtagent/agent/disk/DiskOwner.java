package io.mtagent.agent.disk;

/**
 * The session-side end of an open disk stream: the handle a connection opened the disk under. The disk calls
 * it from its ingest-log writer thread and from appliers; implementations hand the work to their event loop.
 */
public interface DiskOwner {
    /** Everything up to {@code durableSeq} is durable in the ingest log: acknowledge it and return credit. */
    void durable(long durableSeq);

    /** The applier freed ingest-log space: credit withheld for the quota may flow again. */
    void drained();

    /** Another connection opened the disk under an equal or newer epoch; this stream must stop. */
    void fenced(long newEpoch);

    /** The disk failed (target or ingest log); this stream must stop with the reason. */
    void failed(String reason);
}
