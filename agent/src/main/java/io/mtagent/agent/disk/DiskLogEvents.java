package io.mtagent.agent.disk;

import io.mtagent.agent.apply.Applier;
import io.mtagent.agent.ingest.IngestLog;
import java.io.IOException;

/**
 * What a disk does when its ingest log reports: on durability, the RPO bookkeeping, the owner's ACKs and the
 * durable waiters; on apply, the applied-bytes counter and the credit the owner and the cache budget earn back; on
 * failure, the disk fails. Called on the log's and the applier's threads; {@link #appliedBytesSeen} is the applier
 * thread's alone.
 */
final class DiskLogEvents implements IngestLog.Listener {
    private final ReplicatedDisk disk;
    private final DiskStats stats;
    private final DurablePoints points;
    private final Applier applier;
    private final DurableWaiters waiters;
    private long appliedBytesSeen;

    DiskLogEvents(ReplicatedDisk disk, DiskStats stats, DurablePoints points, Applier applier,
                  DurableWaiters waiters) {
        this.disk = disk;
        this.stats = stats;
        this.points = points;
        this.applier = applier;
        this.waiters = waiters;
        this.appliedBytesSeen = applier.appliedWriteBytes();
    }

    @Override
    public void onDurable(long durableSeq) {
        // RPO bookkeeping before the ACK goes out: whoever saw the ACK must not see an older RPO.
        stats.bytesDurable.increment(points.durable(durableSeq));
        DiskOwner o = disk.owner();
        if (o != null) {
            o.durable(durableSeq);
        }
        waiters.durable(durableSeq);
    }

    @Override
    public void onApplied(long appliedSeq) {
        long applied = applier.appliedWriteBytes();
        stats.bytesApplied.increment(applied - appliedBytesSeen);
        appliedBytesSeen = applied;
        DiskOwner o = disk.owner();
        if (o != null) {
            o.drained();
        }
        CacheBudget c = disk.cacheBudget();
        if (c != null) {
            c.drained();
        }
    }

    @Override
    public void onFailure(IOException e) {
        disk.markFailed("ingest log: " + e.getMessage());
    }
}
