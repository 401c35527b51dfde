package io.mtagent.protocol;

/** Consistency tag kinds (SPEC.md §5.10, §6.5). */
public enum TagType {
    /** A crash-consistent marker of one disk (frequent). */
    CRASH_CONSISTENT(1),
    /** Taken under the source's freeze/VSS: application-consistent. */
    APP_CONSISTENT(2),
    /** Shared by every disk of a replication group; its name identifies the group point. */
    GROUP(3);

    private final int code;

    TagType(int code) {
        this.code = code;
    }

    public int code() { return code; }

    public static TagType of(int code) {
        for (TagType t : values()) {
            if (t.code == code) {
                return t;
            }
        }
        return null;
    }
}
