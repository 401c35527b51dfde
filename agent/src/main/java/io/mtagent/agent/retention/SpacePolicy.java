package io.mtagent.agent.retention;

/** What to do when the retention cap is reached before the time window is (docs/ARCHITECTURE.md, "Retention journal and recovery", policy). */
public enum SpacePolicy {
    /** Default: prune the oldest journal segments anyway; the window shrinks, with a warning. Replication continues. */
    SHRINK_WINDOW("shrink-window"),
    /** Hold the appliers: the ingest logs absorb the writes, then per-disk credit stops (back-pressure). */
    PAUSE_APPLY("pause-apply"),
    /** Stop granting credit at once: process servers stop sending until space frees up. */
    STOP_WRITES("stop-writes");

    private final String label;

    SpacePolicy(String label) {
        this.label = label;
    }

    public String label() {
        return label;
    }

    public static SpacePolicy ofLabel(String s) {
        for (SpacePolicy p : values()) {
            if (p.label.equals(s)) {
                return p;
            }
        }
        throw new IllegalArgumentException("unknown retention space policy '" + s
                + "': use shrink-window, pause-apply or stop-writes");
    }
}
