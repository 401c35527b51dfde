package io.mtagent.agent.retention;

import java.time.Instant;
import java.util.List;

/**
 * Resolves a point ({@link PointSpec}'s syntax, the same as the running agent takes) against the retention journal
 * of a stopped agent, for {@code mtagent export --offline}. Offline only what was applied to the target can be
 * read, so {@code latest} and {@code latest-processed} both mean the last applied write, and a point beyond it is
 * refused with the fix (start the agent: it applies the ingest log). Stateless.
 */
public final class OfflinePoints {
    private OfflinePoints() {
    }

    /**
     * @return the seq of the point
     * @throws IllegalArgumentException when the point is malformed, not in the journal, or beyond what was applied
     */
    public static long resolve(RetentionJournal journal, String disk, String given) {
        PointSpec spec = PointSpec.parse(given);
        DiscardedHistory discarded = journal.discarded();
        // After a commit at an earlier point, "latest" is what the target holds: the point committed to.
        long last = discarded.liveAtOrBelow(journal.lastSeq());
        long seq = switch (spec.kind()) {
            case LATEST, LATEST_PROCESSED -> {
                if (last < journal.earliestSeq()) {
                    throw new IllegalArgumentException("disk " + disk + " has no latest point (its history was"
                            + " discarded and nothing was received since)");
                }
                yield last;
            }
            case LATEST_APP -> newest(journal, disk, given, p -> p.kind() == RecoveryPoint.Kind.APP_CONSISTENT
                    && !discarded.contains(p.seq()));
            case SEQ -> spec.seq();
            case TAG -> newest(journal, disk, given, p -> p.name().equals(spec.name()) && isTag(p)
                    && !discarded.contains(p.seq()));
            case TIME -> atTime(journal, disk, given, spec.time());
        };
        DiscardedHistory.Range gone = discarded.rangeOf(seq);
        if (gone != null) {
            throw new IllegalArgumentException(DiscardedHistory.refusal(disk, seq, gone));
        }
        if (seq > last || seq < journal.earliestSeq()) {
            throw new IllegalArgumentException("disk " + disk + ": point " + given + " (seq " + seq + ") is outside"
                    + " what the journal holds offline (seq " + journal.earliestSeq() + ".." + last + ", the writes"
                    + " applied to the target); start the agent so it applies the ingest log, then export again");
        }
        return seq;
    }

    private static boolean isTag(RecoveryPoint p) {
        return p.kind().ordinal() <= RecoveryPoint.Kind.GROUP.ordinal() || p.kind() == RecoveryPoint.Kind.RESYNC_END;
    }

    private static long newest(RetentionJournal journal, String disk, String given,
                               java.util.function.Predicate<RecoveryPoint> which) {
        List<RecoveryPoint> found = journal.points().stream().filter(which).toList();
        if (found.isEmpty()) {
            throw new IllegalArgumentException("disk " + disk + ": no point '" + given + "' in the retention journal"
                    + " (offline, only tags applied to the target are known; 'mtagent points' lists them while the"
                    + " agent runs)");
        }
        return found.get(found.size() - 1).seq();
    }

    private static long atTime(RetentionJournal journal, String disk, String given, Instant time) {
        long micros = time.getEpochSecond() * 1_000_000L + time.getNano() / 1000;
        long from = journal.earliestTimestampMicros();
        long to = journal.timestampOf(journal.lastSeq());
        if (from < 0 || to < 0 || micros < from || micros > to) {
            throw new IllegalArgumentException("disk " + disk + ": " + given + " is outside the times the journal holds"
                    + " offline" + (from < 0 || to < 0 ? "" : " [" + iso(from) + ", " + iso(to) + "]"));
        }
        return journal.seqAtOrBefore(micros);
    }

    private static String iso(long micros) {
        return Instant.ofEpochSecond(Math.floorDiv(micros, 1_000_000L), Math.floorMod(micros, 1_000_000L) * 1000)
                .toString();
    }
}
