package io.mtagent.agent.journal;

/**
 * A point a disk can be brought back to: everything up to and including {@code seq}.
 *
 * @param kind what makes it a point (a tag of the stream, or one of the derived points)
 * @param seq the last sequence number included
 * @param timestampMicros source time of that record
 * @param name the tag's name (group tags are matched across disks by name), or a description
 */
public record RecoveryPoint(Kind kind, long seq, long timestampMicros, String name) {

    /** Kinds of points, as the failover screen offers them. */
    public enum Kind {
        CRASH_CONSISTENT, APP_CONSISTENT, GROUP, LATEST, LATEST_PROCESSED, LATEST_APP_CONSISTENT, TIME,
        // Resync markers (SPEC.md §12, io.mtagent.agent.resync.ResyncMarkers), appended so earlier ordinals stay.
        // Only a consistent RESYNC_END is a recovery point; PointCatalog drops the others.
        RESYNC_START, RESYNC_PROGRESS, RESYNC_END, RESYNC_END_INCONSISTENT;

        public static Kind ofTag(int tagType) {
            return switch (tagType) {
                case 2 -> APP_CONSISTENT;
                case 3 -> GROUP;
                case 0x41 -> RESYNC_START;
                case 0x42 -> RESYNC_PROGRESS;
                case 0x43 -> RESYNC_END;
                case 0x44 -> RESYNC_END_INCONSISTENT;
                default -> CRASH_CONSISTENT;
            };
        }

        /** The stream's tag type of a kind that comes from a tag ({@link #ofTag}'s inverse); 1 for the others. */
        public int tagType() {
            return switch (this) {
                case APP_CONSISTENT -> 2;
                case GROUP -> 3;
                case RESYNC_START -> 0x41;
                case RESYNC_PROGRESS -> 0x42;
                case RESYNC_END -> 0x43;
                case RESYNC_END_INCONSISTENT -> 0x44;
                default -> 1;
            };
        }
    }
}
