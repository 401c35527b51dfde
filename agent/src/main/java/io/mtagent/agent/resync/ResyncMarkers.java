package io.mtagent.agent.resync;

import io.mtagent.agent.journal.RecoveryPoint;
import java.util.ArrayList;
import java.util.List;

/**
 * How the v2 resync frames (SPEC.md §12) are kept in a disk's ingest log and retention journal: as TAG records with
 * internal tag types that the wire never carries (it knows 1..3), so both logs keep them in stream order without a
 * format change. The names carry what status and the recovery-point rules need.
 *
 * <pre>
 *   0x41 START             name = "resync-&lt;id&gt;"
 *   0x42 PROGRESS          name = "resync-&lt;id&gt; &lt;doneOffset&gt;"
 *   0x43 END (consistent)  name = the end marker's name (a recovery point)
 *   0x44 END (not consistent)
 * </pre>
 *
 * <p>{@link #insideResync} turns a stream's markers into the seq ranges that are not recovery points
 * (SPEC.md §12.7). Stateless.
 */
public final class ResyncMarkers {
    public static final byte START = 0x41;
    public static final byte PROGRESS = 0x42;
    public static final byte END = 0x43;
    public static final byte END_INCONSISTENT = 0x44;

    private ResyncMarkers() {
    }

    public static boolean isMarker(int tagType) {
        return tagType >= START && tagType <= END_INCONSISTENT;
    }

    public static String startName(long resyncId) {
        return "resync-" + Long.toUnsignedString(resyncId);
    }

    public static String progressName(long resyncId, long doneOffset) {
        return startName(resyncId) + " " + doneOffset;
    }

    /** The resync id of a PROGRESS name, or -1 when it is not one. */
    public static long progressId(String name) {
        int sp = name.indexOf(' ');
        if (!name.startsWith("resync-") || sp < 0) {
            return -1;
        }
        try {
            return Long.parseUnsignedLong(name.substring(7, sp));
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    /** The done offset of a PROGRESS name, or -1. */
    public static long progressDone(String name) {
        int sp = name.indexOf(' ');
        try {
            return sp < 0 ? -1 : Long.parseLong(name.substring(sp + 1));
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    /** A half-open seq range {@code [from, to)} that offers no recovery point; {@code to = Long.MAX_VALUE} when open. */
    public record Range(long from, long to) {
        public boolean contains(long seq) {
            return seq >= from && seq < to;
        }
    }

    /**
     * The ranges inside a resync, from a disk's tags and markers in seq order: from a START (or from 0 when the
     * START was pruned) up to its consistent END (the END is the first point after it), or up to the first real
     * tag after an END that was not consistent. A resync still open extends to infinity.
     */
    public static List<Range> insideResync(List<RecoveryPoint> tagsInSeqOrder) {
        List<Range> out = new ArrayList<>();
        long open = -1;
        boolean awaitingTag = false;
        for (RecoveryPoint p : tagsInSeqOrder) {
            switch (p.kind()) {
                case RESYNC_START -> {
                    if (open < 0) {
                        open = p.seq();
                    }
                    awaitingTag = false;
                }
                case RESYNC_END -> {
                    out.add(new Range(Math.max(open, 0), p.seq())); // no START: it was pruned, all before is inside
                    open = -1;
                    awaitingTag = false;
                }
                case RESYNC_END_INCONSISTENT -> {
                    if (open < 0) {
                        open = 0;
                    }
                    awaitingTag = true;
                }
                case CRASH_CONSISTENT, APP_CONSISTENT, GROUP -> {
                    if (open >= 0 && awaitingTag) {
                        out.add(new Range(open, p.seq()));
                        open = -1;
                        awaitingTag = false;
                    }
                }
                default -> { }
            }
        }
        if (open >= 0) {
            out.add(new Range(open, Long.MAX_VALUE));
        }
        return out;
    }

    public static boolean inside(List<Range> ranges, long seq) {
        for (Range r : ranges) {
            if (r.contains(seq)) {
                return true;
            }
        }
        return false;
    }
}
