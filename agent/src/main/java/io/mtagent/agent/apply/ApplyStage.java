package io.mtagent.agent.apply;

import io.mtagent.agent.ingest.DirectPayloadBuffers;
import io.mtagent.agent.ingest.RecordPayloads;
import io.mtagent.agent.ingest.StoredRecord;
import io.mtagent.nativeio.BlockDevice;
import java.io.IOException;
import java.util.List;

/**
 * The seam for the retention journal: called by the {@link Applier} for each batch <em>before</em> any target
 * range in it is overwritten. An implementation that journals before-images must make them durable before it
 * returns (docs/ARCHITECTURE.md, "Write path" step 5), and must recognise a batch it already journaled (after a crash the applier
 * re-applies from its persisted applied point) so it never captures the new data as the old.
 *
 * <h2>Pipelining</h2>
 * A stage whose {@link #pipelines()} is true lets the applier run it for batch N+1 while batch N's target writes
 * and flush are still landing (on the applier's second thread). Its promise: it reads the target as if batch N
 * were already written, by overlaying N's data (in order) on whatever it reads there, so a range N is writing,
 * even torn, yields the bytes it will hold. The applier guarantees the rest: at most one batch is in flight, and
 * every batch before it is on the target. A stage that reads the target without that overlay returns false,
 * and the applier runs its batches one after another.
 *
 * <h2>Payload lifetime</h2>
 * A batch's payloads may be held in direct buffers the applier reuses ({@link StoredRecord#directPayload()},
 * {@link DirectPayloadBuffers}). A stage may keep and read them until the applier reports the batch
 * {@link #landed}, and, when the next batch's {@link #beforeOverwrite} starts before that, until that call
 * returns; never later. Read them through {@link RecordPayloads}, which handles both kinds.
 */
@FunctionalInterface
public interface ApplyStage {
    void beforeOverwrite(List<StoredRecord> batch, BlockDevice target) throws IOException;

    /** True when the stage may run while the previous batch's target writes land (see the class comment). */
    default boolean pipelines() {
        return false;
    }

    /**
     * Everything up to {@code seq} is on the target: a pipelining stage may drop what it kept of those batches
     * for its overlay. Called on the applier thread.
     */
    default void landed(long seq) {
    }

    /** No retention journal: writes go straight to the target. Reads nothing, so it pipelines trivially. */
    ApplyStage NONE = new ApplyStage() {
        @Override
        public void beforeOverwrite(List<StoredRecord> batch, BlockDevice target) {
        }

        @Override
        public boolean pipelines() {
            return true;
        }
    };
}
