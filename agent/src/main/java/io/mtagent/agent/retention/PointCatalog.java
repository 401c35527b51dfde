package io.mtagent.agent.retention;

import io.mtagent.agent.disk.ReplicatedDisk;
import io.mtagent.agent.ingest.IngestRecord;
import io.mtagent.agent.journal.DiscardedHistory;
import io.mtagent.agent.journal.RecoveryPoint;
import io.mtagent.agent.journal.RetentionJournal;
import io.mtagent.agent.resync.ResyncMarkers;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The recovery points of a disk or a replication group (docs/ARCHITECTURE.md, "Write path" step 6):
 * <ul>
 *   <li>tags: crash-consistent, app-consistent and group tags, as soon as they are durable (acked): applied ones
 *       from the retention journal, the rest from the ingest log;</li>
 *   <li>"latest" = everything acked, "latest processed" = the applied point, "latest app-consistent" = the newest
 *       app tag;</li>
 *   <li>any time T: the longest prefix of the stream whose writes are at or before T (timestamps are kept
 *       non-decreasing per disk);</li>
 *   <li>a group point exists when every member disk holds a group tag of that name.</li>
 * </ul>
 * Stateless; reads the disks' current state (thread-safe as they are).
 */
public final class PointCatalog {
    private PointCatalog() {
    }

    /**
     * All points of a disk, oldest first, then the three derived points. Nothing inside a resync is a point
     * (SPEC.md §12.7): tags there are left out, and so are "latest" and "latest processed" while one is open;
     * a resync's consistent end marker is the first point after it.
     */
    public static List<RecoveryPoint> points(PointHistory disk) {
        List<RecoveryPoint> tags = tagsAndMarkers(disk);
        List<ResyncMarkers.Range> inside = ResyncMarkers.insideResync(tags);
        DiscardedHistory discarded = requireJournal(disk).discarded();
        List<RecoveryPoint> out = new ArrayList<>();
        for (RecoveryPoint p : tags) {
            boolean tag = p.kind().ordinal() <= RecoveryPoint.Kind.GROUP.ordinal()
                    || p.kind() == RecoveryPoint.Kind.RESYNC_END;
            if (tag && !ResyncMarkers.inside(inside, p.seq()) && !discarded.contains(p.seq())) {
                out.add(p);
            }
        }
        RecoveryPoint app = null;
        for (RecoveryPoint p : out) {
            if (p.kind() == RecoveryPoint.Kind.APP_CONSISTENT) {
                app = p;
            }
        }
        // After a commit at an earlier point, "latest" is what the target holds: the point committed to.
        long latest = discarded.liveAtOrBelow(disk.lastDurableSeq());
        long applied = discarded.liveAtOrBelow(disk.appliedSeq());
        long earliest = earliestSeq(disk);
        if (latest >= earliest && !ResyncMarkers.inside(inside, latest)) {
            out.add(new RecoveryPoint(RecoveryPoint.Kind.LATEST, latest, timestampOf(disk, latest), "latest"));
        }
        if (applied >= earliest && !ResyncMarkers.inside(inside, applied)) {
            out.add(new RecoveryPoint(RecoveryPoint.Kind.LATEST_PROCESSED, applied, timestampOf(disk, applied),
                    "latest processed"));
        }
        if (app != null) {
            out.add(new RecoveryPoint(RecoveryPoint.Kind.LATEST_APP_CONSISTENT, app.seq(), app.timestampMicros(), app.name()));
        }
        return out;
    }

    /** The journal's tags and resync markers, then the durable ones of the ingest log after it, in seq order. */
    private static List<RecoveryPoint> tagsAndMarkers(PointHistory disk) {
        RetentionJournal journal = requireJournal(disk);
        List<RecoveryPoint> out = new ArrayList<>(journal.points());
        long journaled = journal.lastSeq();
        for (IngestRecord t : disk.durableTagsAfter(journaled)) {
            out.add(new RecoveryPoint(RecoveryPoint.Kind.ofTag(t.tagType()), t.seq(), t.timestampMicros(), t.tagName()));
        }
        return out;
    }

    /** The seq ranges of the disk that lie inside a resync (no recovery point there). */
    public static List<ResyncMarkers.Range> insideResync(PointHistory disk) {
        return ResyncMarkers.insideResync(tagsAndMarkers(disk));
    }

    /** Source time of a seq the disk still holds (journal or ingest log), or -1. */
    public static long timestampOf(PointHistory disk, long seq) {
        long t = disk.logTimestampOf(seq);
        return t >= 0 ? t : requireJournal(disk).timestampOf(seq);
    }

    /** The point at time T: the largest held seq whose source time is ≤ T (0 = before anything journaled). */
    public static long seqAtTime(PointHistory disk, long timestampMicros) {
        long fromLog = disk.logSeqAtOrBefore(timestampMicros);
        return fromLog > 0 ? fromLog : requireJournal(disk).seqAtOrBefore(timestampMicros);
    }

    /**
     * The earliest recoverable point of the disk: its seq and time (time -1 when unknown). After an attach of a
     * target written outside the agent, the first seq after the discarded history.
     */
    public static RecoveryPoint earliest(PointHistory disk) {
        RetentionJournal j = requireJournal(disk);
        long seq = earliestSeq(disk);
        long time = seq == j.earliestSeq() ? j.earliestTimestampMicros() : timestampOf(disk, seq);
        return new RecoveryPoint(RecoveryPoint.Kind.TIME, seq, time, "earliest");
    }

    private static long earliestSeq(PointHistory disk) {
        RetentionJournal j = requireJournal(disk);
        long seq = j.earliestSeq();
        DiscardedHistory.Range r;
        while ((r = j.discarded().rangeOf(seq)) != null) {
            seq = r.last() + 1;
        }
        return seq;
    }

    /**
     * The window of times a point can be asked for: the source time of the earliest recoverable point (of the first
     * write when nothing was pruned) and of the latest one; {@code null} when the disk holds no timed write.
     */
    public static long[] timeWindow(PointHistory disk) {
        RecoveryPoint e = earliest(disk);
        long from = e.timestampMicros();
        if (from < 0) {
            from = timestampOf(disk, e.seq() + 1);
        }
        long latest = requireJournal(disk).discarded().liveAtOrBelow(disk.lastDurableSeq());
        long to = latest < 0 ? -1 : timestampOf(disk, latest);
        return from < 0 || to < 0 ? null : new long[] {from, to};
    }

    /**
     * Resolves an operator's point for one disk, in {@link PointSpec}'s syntax: {@code latest},
     * {@code latest-processed}, {@code latest-app}, {@code seq:N}, {@code tag:NAME} (the newest tag of that name),
     * an ISO-8601 time with a zone such as {@code 2026-11-23T10:42:17Z}, and the other spellings it accepts.
     *
     * @throws IllegalArgumentException naming what was not found, and what is available
     */
    public static RecoveryPoint resolve(PointHistory disk, String given) {
        String spec = PointSpec.canonical(given); // one syntax everywhere: what 'points' prints is accepted
        List<RecoveryPoint> points = points(disk);
        switch (spec) {
            case "latest":
                return find(points, RecoveryPoint.Kind.LATEST, spec, disk);
            case "latest-processed":
                return find(points, RecoveryPoint.Kind.LATEST_PROCESSED, spec, disk);
            case "latest-app":
                return find(points, RecoveryPoint.Kind.LATEST_APP_CONSISTENT, spec, disk);
            default:
                break;
        }
        if (spec.startsWith("seq:")) {
            long seq = Long.parseLong(spec.substring(4));
            check(disk, seq);
            return new RecoveryPoint(RecoveryPoint.Kind.TIME, seq, timestampOf(disk, seq), spec);
        }
        if (spec.startsWith("tag:")) {
            String name = spec.substring(4);
            RecoveryPoint found = null;
            for (RecoveryPoint p : points) {
                if (p.name().equals(name) && (p.kind().ordinal() <= RecoveryPoint.Kind.GROUP.ordinal()
                        || p.kind() == RecoveryPoint.Kind.RESYNC_END)) {
                    found = p;
                }
            }
            if (found == null) {
                throw new IllegalArgumentException("disk " + disk.diskId() + " holds no tag named '" + name + "' outside a resync");
            }
            return found;
        }
        Instant t;
        try {
            t = Instant.parse(spec);
        } catch (DateTimeParseException e) {
            throw new IllegalArgumentException("'" + spec + "' is not a point: use latest, latest-processed, latest-app,"
                    + " seq:N, tag:NAME or a time such as 2026-11-23T10:42:17Z");
        }
        long micros = t.getEpochSecond() * 1_000_000L + t.getNano() / 1000;
        checkInWindow(disk, spec, micros);
        long seq = seqAtTime(disk, micros);
        check(disk, seq);
        return new RecoveryPoint(RecoveryPoint.Kind.TIME, seq, micros, spec);
    }

    /**
     * Refuses a time outside the disk's window (before its earliest recoverable point, after its latest): a
     * destructive command must not turn a typo into "the empty disk" or "latest".
     */
    private static void checkInWindow(PointHistory disk, String spec, long micros) {
        long[] window = timeWindow(disk);
        if (window == null) {
            throw new IllegalArgumentException("disk " + disk.diskId() + " holds no recovery point with a time yet, so '"
                    + spec + "' cannot be resolved; use latest or seq:N");
        }
        if (micros < window[0] || micros > window[1]) {
            throw new IllegalArgumentException("disk " + disk.diskId() + ": " + spec + " is " + (micros < window[0]
                    ? "before the earliest" : "after the latest") + " recoverable point; the disk can be recovered"
                    + " to a time in [" + iso(window[0]) + ", " + iso(window[1]) + "] ("
                    + (micros < window[0] ? "retention holds nothing older" : "for the newest state use latest") + ")");
        }
    }

    private static String iso(long micros) {
        return Instant.ofEpochSecond(Math.floorDiv(micros, 1_000_000L), Math.floorMod(micros, 1_000_000L) * 1000)
                .toString();
    }

    private static void check(PointHistory disk, long seq) {
        RecoveryPoint earliest = earliest(disk);
        if (seq < earliest.seq()) {
            throw new IllegalArgumentException("disk " + disk.diskId() + ": seq " + seq + " is older than the retention"
                    + " window (earliest recoverable seq " + earliest.seq() + ")");
        }
        if (seq > disk.lastDurableSeq()) {
            throw new IllegalArgumentException("disk " + disk.diskId() + ": seq " + seq + " is beyond the latest ("
                    + disk.lastDurableSeq() + ")" + disk.beyondLatestFix());
        }
        DiscardedHistory.Range gone = requireJournal(disk).discarded().rangeOf(seq);
        if (gone != null) {
            throw new IllegalArgumentException(DiscardedHistory.refusal(disk.diskId(), seq, gone));
        }
        for (ResyncMarkers.Range r : insideResync(disk)) {
            if (r.contains(seq)) {
                throw new IllegalArgumentException("disk " + disk.diskId() + ": seq " + seq + " lies inside a resync (seq "
                        + r.from() + (r.to() == Long.MAX_VALUE ? " onwards, still running" : " to " + r.to())
                        + "), where the target is not consistent; pick a point before it"
                        + (r.to() == Long.MAX_VALUE ? "" : " or its end marker (seq " + r.to() + ")"));
            }
        }
    }

    private static RecoveryPoint find(List<RecoveryPoint> points, RecoveryPoint.Kind kind, String spec, PointHistory d) {
        for (int i = points.size() - 1; i >= 0; i--) {
            if (points.get(i).kind() == kind) {
                return points.get(i);
            }
        }
        throw new IllegalArgumentException("disk " + d.diskId() + " has no " + spec + " point yet");
    }

    /** {@link #points(PointHistory)} of the running agent's disk. */
    public static List<RecoveryPoint> points(ReplicatedDisk disk) {
        return points(PointHistory.of(disk));
    }

    /** {@link #insideResync(PointHistory)} of the running agent's disk. */
    public static List<ResyncMarkers.Range> insideResync(ReplicatedDisk disk) {
        return insideResync(PointHistory.of(disk));
    }

    /** {@link #timestampOf(PointHistory, long)} of the running agent's disk. */
    public static long timestampOf(ReplicatedDisk disk, long seq) {
        return timestampOf(PointHistory.of(disk), seq);
    }

    /** {@link #seqAtTime(PointHistory, long)} of the running agent's disk. */
    public static long seqAtTime(ReplicatedDisk disk, long timestampMicros) {
        return seqAtTime(PointHistory.of(disk), timestampMicros);
    }

    /** {@link #earliest(PointHistory)} of the running agent's disk. */
    public static RecoveryPoint earliest(ReplicatedDisk disk) {
        return earliest(PointHistory.of(disk));
    }

    /** {@link #timeWindow(PointHistory)} of the running agent's disk. */
    public static long[] timeWindow(ReplicatedDisk disk) {
        return timeWindow(PointHistory.of(disk));
    }

    /** {@link #resolve(PointHistory, String)} on the running agent's disk. */
    public static RecoveryPoint resolve(ReplicatedDisk disk, String given) {
        return resolve(PointHistory.of(disk), given);
    }

    /**
     * Group points: the names of group tags held by every member, each with the seq it has on each disk (the
     * newest tag of that name per disk).
     */
    public static Map<String, Map<String, Long>> groupPoints(Collection<ReplicatedDisk> members) {
        Map<String, Map<String, Long>> byName = new LinkedHashMap<>();
        for (ReplicatedDisk d : members) {
            for (RecoveryPoint p : points(PointHistory.of(d))) {
                if (p.kind() == RecoveryPoint.Kind.GROUP) {
                    byName.computeIfAbsent(p.name(), n -> new LinkedHashMap<>()).put(d.id(), p.seq());
                }
            }
        }
        byName.values().removeIf(perDisk -> perDisk.size() != members.size());
        return byName;
    }

    private static RetentionJournal requireJournal(PointHistory disk) {
        RetentionJournal j = disk.journal();
        if (j == null) {
            throw new IllegalStateException("disk " + disk.diskId() + " keeps no retention journal: set retention.dir");
        }
        return j;
    }
}
