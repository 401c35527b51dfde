package io.mtagent.protocol;

/** A disk's replication state as reported in DISK_OPENED (SPEC.md §5.6). */
public enum DiskState {
    PROTECTED(1, "protected"),
    NEEDS_RESYNC(2, "needs-resync"),
    FAILED(3, "failed"),
    /** Being rolled back to a recovery point by the operator; replication is stopped until commit. */
    RECOVERING(4, "recovering");

    private final int code;
    private final String label;

    DiskState(int code, String label) {
        this.code = code;
        this.label = label;
    }

    public int code() { return code; }
    /** The lower-case name operators see in status output and state files. */
    public String label() { return label; }

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
