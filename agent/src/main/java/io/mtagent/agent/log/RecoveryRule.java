package io.mtagent.agent.log;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Path;

/**
 * What a record or header that does not verify means at open, for both logs, decided by where it lies against the
 * {@link Checkpoint}:
 * <ul>
 *   <li><b>after</b> the checkpoint it is a <b>torn tail</b>: the power went before those bytes were synced, so
 *       nothing there was ever acknowledged (or, for the journal, let a target range be overwritten). It is cut
 *       off and the log goes on: a power cut must never stop the agent from starting. Segments after it are part
 *       of the tail and go too.</li>
 *   <li><b>before</b> it (in a segment before the checkpoint's, or before its position in that segment) it is
 *       <b>corruption</b> of synced data: {@link CorruptLogException}, naming the file and offset, fixed by
 *       {@code mtagent verify --repair} after the operator has copied the directory.</li>
 * </ul>
 * A segment header that does not verify is a segment whose creation was cut short when it lies after the
 * checkpoint's segment, and corruption otherwise (etcd repairs a torn tail and refuses a CRC mismatch in the
 * middle; BookKeeper's {@code testJunkEndedJournal} expects the same split).
 */
public final class RecoveryRule {
    /** What a damaged place in a log is. */
    public enum Verdict {
        TORN_TAIL,
        CORRUPTION
    }

    private RecoveryRule() {
    }

    /** A record of segment {@code segment} at {@code offset} did not verify. */
    public static Verdict ofRecord(Checkpoint cp, long segment, long offset) {
        boolean synced = cp != null && (segment < cp.segment() || (segment == cp.segment() && offset < cp.position()));
        return synced ? Verdict.CORRUPTION : Verdict.TORN_TAIL;
    }

    /** The header of segment {@code segment} did not verify. */
    public static Verdict ofHeader(Checkpoint cp, long segment) {
        return cp != null && segment <= cp.segment() ? Verdict.CORRUPTION : Verdict.TORN_TAIL;
    }

    /**
     * Whether records of {@code segment} may lie after the checkpoint: they may have survived a kill -9 only in the
     * page cache (written, never synced), so the segment must be synced before they are reported durable.
     */
    public static boolean mayHoldUnsynced(Checkpoint cp, long segment) {
        return cp == null || segment >= cp.segment();
    }

    /**
     * Applies the rule to a reader's stop in segment {@code segment}: nothing for a clean end; a torn tail is cut
     * off ({@code channel} truncated at the stop and synced) and true returned (what follows is part of the tail);
     * corruption is thrown.
     */
    public static boolean cutOrRefuse(Checkpoint cp, long segment, ReadStop stop, FileChannel channel)
            throws IOException {
        if (stop.clean()) {
            return false;
        }
        if (ofRecord(cp, segment, stop.offset()) == Verdict.CORRUPTION) {
            throw new CorruptLogException(stop.file(), stop.offset(), stop.describe());
        }
        channel.truncate(stop.offset());
        LogIO.get().force(stop.file(), channel, true); // the size is metadata
        return true;
    }

    /**
     * After a scan: the checkpoint says {@code cp.seq()} was synced, so a log that ends before it lost synced data
     * (a segment file missing or damaged).
     */
    public static void checkReachesCheckpoint(Checkpoint cp, long lastSeq, Path checkpointFile) throws IOException {
        if (cp != null && lastSeq < cp.seq()) {
            throw new CorruptLogException(checkpointFile, 0, "the checkpoint says seq " + cp.seq()
                    + " was synced but the log ends at seq " + lastSeq + " (a segment file is missing or damaged)");
        }
    }
}
