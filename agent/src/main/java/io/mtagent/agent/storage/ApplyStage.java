package io.mtagent.agent.storage;

import io.mtagent.nativeio.BlockDevice;
import java.io.IOException;
import java.util.List;

/**
 * The seam for the retention journal: called by the {@link Applier} for each batch <em>before</em> any target
 * range in it is overwritten. An implementation that journals before-images must make them durable before it
 * returns (DESIGN.md write path §5), and must recognise a batch it already journaled (after a crash the applier
 * re-applies from its persisted applied point) so it never captures the new data as the old.
 */
@FunctionalInterface
public interface ApplyStage {
    void beforeOverwrite(List<StoredRecord> batch, BlockDevice target) throws IOException;

    /** No retention journal: writes go straight to the target. */
    ApplyStage NONE = (batch, target) -> { };
}
