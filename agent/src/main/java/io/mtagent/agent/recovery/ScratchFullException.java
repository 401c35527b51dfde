package io.mtagent.agent.recovery;

import java.io.IOException;

/** A test failover's write refused because its scratch space reached its cap (ENOSPC to the NBD client). */
public final class ScratchFullException extends IOException {
    public ScratchFullException(String message) {
        super(message);
    }
}
