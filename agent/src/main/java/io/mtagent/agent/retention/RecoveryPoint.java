package io.mtagent.agent.retention;

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
        CRASH_CONSISTENT, APP_CONSISTENT, GROUP, LATEST, LATEST_PROCESSED, LATEST_APP_CONSISTENT, TIME;

        static Kind ofTag(int tagType) {
            return switch (tagType) {
                case 2 -> APP_CONSISTENT;
                case 3 -> GROUP;
                default -> CRASH_CONSISTENT;
            };
        }
    }
}
