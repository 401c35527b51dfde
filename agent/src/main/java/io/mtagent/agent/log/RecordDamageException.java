package io.mtagent.agent.log;

import java.io.IOException;

/**
 * A record read at a known place (from an index) did not verify: {@link #stop()} says where and why. The caller
 * decides what that means: the applier fails the disk, a reader racing with pruning retries, verify reports it.
 */
public final class RecordDamageException extends IOException {
    private final transient ReadStop stop;

    public RecordDamageException(ReadStop stop) {
        super(stop.toString());
        this.stop = stop;
    }

    public ReadStop stop() {
        return stop;
    }
}
