package io.mtagent.agent.retention;

import io.mtagent.agent.journal.RetentionJournal;

/**
 * Resolves a point ({@link PointSpec}'s syntax) against the retention journal of a stopped agent, for
 * {@code mtagent export --offline}, through the same resolver as the running agent ({@link PointCatalog} over
 * {@link PointHistory#offline}): the same points, the same refusals (a discarded branch, inside a resync, a time
 * outside the recoverable window). Stateless.
 */
public final class OfflinePoints {
    private OfflinePoints() {
    }

    /**
     * @return the seq of the point
     * @throws IllegalArgumentException when the point is malformed, not in the journal, refused, or beyond what was
     *         applied
     */
    public static long resolve(RetentionJournal journal, String disk, String given) {
        return PointCatalog.resolve(PointHistory.offline(disk, journal), given).seq();
    }
}
