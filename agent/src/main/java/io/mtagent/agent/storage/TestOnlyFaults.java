package io.mtagent.agent.storage;

import java.util.logging.Logger;

/**
 * TEST-ONLY deliberately broken durability, so the power-loss test (agent/src/test/fuse/README.md) can show that
 * it catches each broken promise. All switches are OFF unless the JVM is started with the system property;
 * nothing in the configuration file, the CLI or the control API can turn them on. Read here, once, at class
 * load, so the hot paths test a final boolean.
 *
 * <ul>
 *   <li>{@code -Dmtagent.testonly.fault.ackBeforeSync=true}: the ingest log reports a group durable (and the
 *       session acknowledges it) <em>before</em> the fdatasync that makes it so.</li>
 *   <li>{@code -Dmtagent.testonly.fault.renameWithoutDirSync=true}: {@link AtomicFile#write} renames the temp
 *       file over the target without fsyncing the directory, so the new content can vanish in a power cut
 *       while the caller already acted on it (e.g. a rollback phase the target was already written under).</li>
 *   <li>{@code -Dmtagent.testonly.fault.reuseSegmentIncarnation=true}: the ingest logs recycle applied segment
 *       files through one pool per cache volume (the "preallocate and reuse" of DESIGN.md) instead of deleting
 *       them, and a recycled file keeps its old incarnation id and is not truncated. The real reuse (spare
 *       segments, {@link IngestLog}) gives every reused file a new incarnation and cuts a segment at its last record
 *       at roll and close; the switch drops both, so after a power cut the stale records past the synced end verify
 *       as if they were new.</li>
 * </ul>
 */
public final class TestOnlyFaults {
    public static final String PREFIX = "mtagent.testonly.fault.";
    public static final boolean ACK_BEFORE_SYNC = Boolean.getBoolean(PREFIX + "ackBeforeSync");
    public static final boolean RENAME_WITHOUT_DIR_SYNC = Boolean.getBoolean(PREFIX + "renameWithoutDirSync");
    public static final boolean REUSE_SEGMENT_INCARNATION = Boolean.getBoolean(PREFIX + "reuseSegmentIncarnation");
    /** Where recycled segments wait, next to the disks' ingest-log directories (only with the switch on). */
    static final String RECYCLED_DIR = "recycled-segments.testonly";

    static {
        if (ACK_BEFORE_SYNC || RENAME_WITHOUT_DIR_SYNC || REUSE_SEGMENT_INCARNATION) {
            Logger.getLogger(TestOnlyFaults.class.getName()).severe("TEST-ONLY FAULTS ON (ackBeforeSync="
                    + ACK_BEFORE_SYNC + ", renameWithoutDirSync=" + RENAME_WITHOUT_DIR_SYNC
                    + ", reuseSegmentIncarnation=" + REUSE_SEGMENT_INCARNATION + "): this agent breaks its durability"
                    + " promises on purpose; never run it with real data");
        }
    }

    private TestOnlyFaults() {
    }
}
