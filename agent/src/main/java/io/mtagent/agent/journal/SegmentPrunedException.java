package io.mtagent.agent.journal;

import java.io.IOException;

/**
 * A journal segment was pruned while a caller without a lease was reading it (resolving a time or a point before
 * taking its lease): the point it asked about is no longer held. Callers answer "no longer held" (HTTP 409), never
 * an internal error.
 */
public final class SegmentPrunedException extends IOException {
    private static final long serialVersionUID = 1L;

    SegmentPrunedException(long segment, long prunedThroughSeq) {
        super("no longer held: the journal segment " + segment + " was pruned meanwhile (retention starts after seq "
                + prunedThroughSeq + "); list the points again");
    }
}
