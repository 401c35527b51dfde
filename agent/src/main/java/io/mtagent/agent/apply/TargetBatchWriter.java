package io.mtagent.agent.apply;

import io.mtagent.agent.ingest.IngestRecord;
import io.mtagent.agent.ingest.StoredRecord;
import io.mtagent.nativeio.AlignedBufferPool;
import io.mtagent.nativeio.BlockDevice;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * Writes the applier's batches onto the target (up to {@code apply.target.lanes} writes under way at once,
 * overlapping ones in order) and flushes after each, and lets readers in between two batches.
 *
 * <p>Thread-safety: {@link #write} is called by one thread at a time (the applier's loop or its writer task);
 * {@link #readBetween} from any thread. A batch's writes hold the write side of a read-write lock, so a reader never
 * sees a chunk half-written by one batch, and readers share the read side, so several reads between two batches run
 * at once (a waiting batch goes first once they end: new readers do not barge a waiting writer).
 */
final class TargetBatchWriter {
    /** Below this many writes a batch is written on one thread (a second lane's handoff would cost more). */
    static final int MIN_WRITES_FOR_LANES = 4;

    private final BlockDevice target;
    private final TargetPayloads payloads;
    private final ApplierOptions options;
    private final ApplyStageTimes times;
    private final ExecutorService laneThreads;
    private final ReentrantReadWriteLock targetLock = new ReentrantReadWriteLock();
    /** The last seq whose data is on the target; guarded by {@link #targetLock}. */
    private long writtenSeq;

    TargetBatchWriter(BlockDevice target, TargetPayloads payloads, ApplierOptions options, ApplyStageTimes times,
                      ExecutorService laneThreads, long writtenSeq) {
        this.target = target;
        this.payloads = payloads;
        this.options = options;
        this.times = times;
        this.laneThreads = laneThreads;
        this.writtenSeq = writtenSeq;
    }

    /** Target writes of one batch, then the flush: on the writer thread when pipelined, else the applier's. */
    void write(List<StoredRecord> batch) throws IOException {
        long writeStart = System.nanoTime();
        targetLock.writeLock().lock();
        try {
            List<TargetWrite> writes = new ArrayList<>(batch.size());
            int largest = 0;
            for (StoredRecord r : batch) {
                IngestRecord rec = r.record();
                if (rec.type() == IngestRecord.Type.WRITE) { // a tag only moves the applied point
                    writes.add(new TargetWrite(rec.offset(), rec.length(), r));
                    boolean decoded = r.directPayload() == null || rec.compressed(); // else written as stored
                    if (decoded && rec.length() <= options.maxWriteBytes()) { // a bad length fails in decode
                        largest = Math.max(largest, rec.length());
                    }
                }
            }
            if (options.targetLanes() < 2 || writes.size() < MIN_WRITES_FOR_LANES) {
                for (TargetWrite w : writes) {
                    target.write(w.offset(), payloads.dataOf(w.stored(), null));
                }
            } else {
                writeInLanes(writes, largest);
            }
            writtenSeq = batch.get(batch.size() - 1).record().seq();
        } finally {
            targetLock.writeLock().unlock();
        }
        times.since(ApplyStageTimes.Stage.TARGET_WRITE, writeStart);
        long flushStart = System.nanoTime();
        target.flush();
        times.since(ApplyStageTimes.Stage.TARGET_FLUSH, flushStart);
    }

    private record TargetWrite(long offset, int length, StoredRecord stored) implements OverlapOrderedWrites.Write {
    }

    /**
     * The batch's writes with up to {@code apply.target.lanes} under way at once, overlapping ones in order
     * ({@link OverlapOrderedWrites}). Lane 0 decodes into the applier's own buffer; the other lanes into buffers
     * from the shared pool, held only for this batch (with hundreds of disks only the busy ones hold one).
     */
    private void writeInLanes(List<TargetWrite> writes, int largest) throws IOException {
        int lanes = Math.min(options.targetLanes(), writes.size());
        ByteBuffer[] laneBuffers = new ByteBuffer[lanes];
        for (int l = 1; l < lanes && largest > 0; l++) { // none when every write goes as stored
            laneBuffers[l] = AlignedBufferPool.SHARED.acquire(largest);
        }
        try {
            OverlapOrderedWrites.run(writes, lanes, laneThreads, (i, lane) -> {
                TargetWrite w = writes.get(i);
                target.write(w.offset(), payloads.dataOf(w.stored(), lane == 0 ? null : laneBuffers[lane]));
            });
        } finally {
            for (int l = 1; l < lanes; l++) {
                if (laneBuffers[l] != null) {
                    AlignedBufferPool.SHARED.release(laneBuffers[l]);
                }
            }
        }
    }

    /**
     * Runs {@code read} between two batches and returns the seq the target then reflects (every record up to it
     * written, none after).
     */
    long readBetween(Applier.TargetRead read) throws IOException {
        targetLock.readLock().lock();
        try {
            read.read(target);
            return writtenSeq;
        } finally {
            targetLock.readLock().unlock();
        }
    }
}
