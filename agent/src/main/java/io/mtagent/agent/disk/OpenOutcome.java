package io.mtagent.agent.disk;

import io.mtagent.protocol.DiskState;
import io.mtagent.protocol.ErrorCode;

/**
 * The answer to an OPEN_DISK: either a refusal ({@code error != null}) or the disk's facts for DISK_OPENED.
 */
public record OpenOutcome(ErrorCode error, String message, long sizeBytes, int sectorSize, DiskState state,
                          long lastDurableSeq, long appliedSeq) {

    static OpenOutcome refused(ErrorCode error, String message) {
        return new OpenOutcome(error, message, 0, 0, null, 0, 0);
    }
}
