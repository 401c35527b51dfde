package io.mtagent.protocol;

/**
 * Error codes of the ERROR frame (SPEC.md §8). The numbers are stable: process servers and operators key on
 * them. {@link #fatal()} says whether the agent closes the connection after sending it; a non-fatal error
 * names a disk handle, and that handle stops (frames for it are discarded) until the sender opens the disk again.
 */
public enum ErrorCode {
    MALFORMED_FRAME(1, true, "a frame's body does not match its type's layout"),
    FRAME_TOO_LARGE(2, true, "a frame's length exceeds the cap in force"),
    UNKNOWN_FRAME_TYPE(3, true, "unknown frame type byte"),
    UNSUPPORTED_VERSION(4, true, "no protocol version in common, or bad magic"),
    NOT_AUTHENTICATED(5, true, "frame sent before the handshake completed"),
    AUTH_FAILED(6, true, "the passphrase proof did not verify"),
    AUTH_RATE_LIMITED(7, true, "too many failed proofs from this address; retry later"),
    UNKNOWN_DISK(8, false, "the disk id is not declared on this agent"),
    STALE_EPOCH(9, false, "the disk is held under a newer stream epoch"),
    FENCED(10, false, "another session opened the disk under an equal or newer epoch"),
    DISK_NOT_OPEN(11, false, "the handle names no open disk on this session"),
    OUT_OF_RANGE(12, false, "the write extends past the end of the disk"),
    UNALIGNED(13, false, "offset or length is not a multiple of 512"),
    CRC_MISMATCH(14, false, "the CRC-32C does not match the data"),
    BAD_COMPRESSION(15, false, "the LZ4 block is corrupt or does not decompress to the stated length"),
    SEQUENCE_GAP(16, false, "a sequence number was skipped: the disk needs a resync"),
    DISK_NEEDS_RESYNC(17, false, "the disk is in needs-resync; writes are refused until it is resynced"),
    SEQUENCE_CONFLICT(18, false, "a sequence number was re-sent with different content"),
    CREDIT_EXCEEDED(19, true, "the sender exceeded the disk's credit window"),
    DISK_FAILED(20, false, "the target disk or its ingest log failed"),
    SHUTTING_DOWN(21, true, "the agent is shutting down"),
    PROTOCOL_VIOLATION(22, true, "a frame that is valid but not allowed here (e.g. handshake frame twice)"),
    WRITE_TOO_LARGE(23, false, "the write's length exceeds the announced maximum"),
    INTERNAL(24, true, "unexpected agent error"),
    DISK_RECOVERING(25, false, "the disk is being rolled back to a recovery point; replication is stopped until commit"),
    /** v2: a resync-marked WRITE, RESYNC_PROGRESS or RESYNC_END without that resync in progress. */
    NOT_RESYNCING(26, false, "no resync with that id is in progress on the disk"),
    /** v2: a CHECKSUM_REQUEST beyond the outstanding limit of the handle. */
    TOO_MANY_REQUESTS(27, false, "too many checksum requests outstanding on the handle");

    private final int code;
    private final boolean fatal;
    private final String meaning;

    ErrorCode(int code, boolean fatal, String meaning) {
        this.code = code;
        this.fatal = fatal;
        this.meaning = meaning;
    }

    public int code() { return code; }
    public boolean fatal() { return fatal; }
    public String meaning() { return meaning; }

    private static final ErrorCode[] BY_CODE = new ErrorCode[32];
    static {
        for (ErrorCode c : values()) {
            BY_CODE[c.code] = c;
        }
    }

    /** The code for a wire value, or null when this version does not know it (treat as fatal). */
    public static ErrorCode of(int code) {
        return code >= 0 && code < BY_CODE.length ? BY_CODE[code] : null;
    }
}
