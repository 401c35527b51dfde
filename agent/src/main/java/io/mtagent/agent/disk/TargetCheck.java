package io.mtagent.agent.disk;

import io.mtagent.nativeio.BlockDevice;
import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * Checks that a target that failed works again (at start, and when the operator clears a failure): reads its first
 * and last physical sectors and writes the first one back unchanged, then flushes. A device that still returns
 * EIO, or is read-only, fails here instead of failing the disk again at its first write. The content is not
 * changed. Call it only while nothing else writes the target (before its applier starts).
 */
final class TargetCheck {
    private TargetCheck() {
    }

    /** Null when the target passed, else what failed. */
    static String problem(BlockDevice target) {
        int sector = Math.max(512, target.physicalSectorSize());
        try {
            byte[] first = new byte[sector];
            target.read(0, ByteBuffer.wrap(first));
            target.read(target.size() - sector, ByteBuffer.allocate(sector));
            target.write(0, ByteBuffer.wrap(first));
            target.flush();
            return null;
        } catch (IOException | RuntimeException e) {
            return DiskRegistry.failureReason(target, e);
        }
    }
}
