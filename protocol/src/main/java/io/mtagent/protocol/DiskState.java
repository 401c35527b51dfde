package io.mtagent.protocol;

/** A disk's replication state as reported in DISK_OPENED (SPEC.md §5.6). */
public enum DiskState {
    PROTECTED(1, "protected"),
    NEEDS_RESYNC(2, "needs-resync"),
    FAILED(3, "failed"),
    /** Being rolled back to a recovery point by the operator; replication is stopped until commit. */
    RECOVERING(4, "recovering"),
    // Version 2 (SPEC.md §12.2). A v1 session sees INITIAL_SYNC and RESYNCING as NEEDS_RESYNC, PAUSED as PROTECTED.
    /** The first full copy of a disk that was never protected: no recovery point exists yet. */
    INITIAL_SYNC(5, "initial-sync"),
    /** A resync is in progress: the target is not crash-consistent until its end marker. */
    RESYNCING(6, "resyncing"),
    /** The operator paused applying: writes are still taken into the ingest log up to its quota. */
    PAUSED(7, "paused");

    private final int code;
    private final String label;

    DiskState(int code, String label) {
        this.code = code;
        this.label = label;
    }

    public int code() { return code; }
    /** The lower-case name operators see in status output and state files. */
    public String label() { return label; }

    /** The protocol version that defined the state; older sessions get {@link #forVersion}. */
    public int sinceVersion() {
        return code <= 4 ? Protocol.VERSION_1 : Protocol.VERSION_2;
    }

    /** The state as a peer of {@code version} understands it (v1 knows only 1..4). */
    public DiskState forVersion(int version) {
        if (version >= sinceVersion()) {
            return this;
        }
        return this == PAUSED ? PROTECTED : NEEDS_RESYNC;
    }

    /** True while a resync (full or differential) is in progress. */
    public boolean resyncing() {
        return this == INITIAL_SYNC || this == RESYNCING;
    }

    public static DiskState of(int code) {
        for (DiskState s : values()) {
            if (s.code == code) {
                return s;
            }
        }
        return null;
    }

    public static DiskState ofLabel(String label) {
        for (DiskState s : values()) {
            if (s.label.equals(label)) {
                return s;
            }
        }
        throw new IllegalArgumentException("unknown disk state '" + label + "'");
    }
}
