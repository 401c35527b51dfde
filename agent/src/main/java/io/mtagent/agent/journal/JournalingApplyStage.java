package io.mtagent.agent.journal;

import io.mtagent.agent.apply.ApplyStage;
import io.mtagent.agent.apply.ApplyStageTimes.Stage;
import io.mtagent.agent.apply.ApplyStageTimes;
import io.mtagent.agent.ingest.IngestRecord;
import io.mtagent.agent.ingest.RecordPayloads;
import io.mtagent.agent.ingest.StoredRecord;
import io.mtagent.nativeio.BlockDevice;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * The applier's before-image step (docs/ARCHITECTURE.md, "Write path" step 5): for each batch, journal the before-image of every
 * write and every tag, then sync the journal once, before the applier touches the target.
 *
 * <p>Promises:
 * <ul>
 *   <li>A target range is never overwritten before its before-image is durable: {@link #beforeOverwrite}
 *       returns only after {@link RetentionJournal#sync()}.</li>
 *   <li>No re-capture after a crash: records with seq ≤ the journal's last seq already have their before-image
 *       and are skipped, so re-applying a batch never records the new data as the old.</li>
 *   <li>Within a batch, a write overlapping an earlier write of the same batch takes its before-image from that
 *       earlier write's data, not from the target (which does not have it yet). This also makes a re-applied
 *       batch correct when the crash left some of its earlier writes on the target and some not.</li>
 *   <li>Pipelined ({@link ApplyStage#pipelines()}): the previous batch's target writes may still be landing while
 *       this one is captured, so the previous batch's writes are overlaid first, in order, then this batch's
 *       earlier ones. The stage keeps the previous batch's decoded data until the applier reports it
 *       {@link #landed}; so at most two batches' data ({@code 2 × apply.batch.bytes}, uncompressed) per disk. That
 *       data is read from the records' payloads where they are (often the applier's direct buffers), which the
 *       applier keeps until then ({@link ApplyStage}, payload lifetime).</li>
 * </ul>
 * Runs on the applier thread only; the target reads of a capture run on a {@link BeforeImageReader} thread, which
 * has ended when {@link #beforeOverwrite} returns.
 */
public final class JournalingApplyStage implements ApplyStage {
    private final RetentionJournal journal;
    private final ApplyStageTimes times;

    public JournalingApplyStage(RetentionJournal journal) {
        this(journal, new ApplyStageTimes());
    }

    /** Recording the time of its before-image waits, journal appends and syncs in {@code times} (metrics). */
    public JournalingApplyStage(RetentionJournal journal, ApplyStageTimes times) {
        this.journal = journal;
        this.times = times;
    }

    public RetentionJournal journal() {
        return journal;
    }

    /** A write of an earlier batch or of this one: its data may be a view of the applier's direct buffer. */
    private record Earlier(long offset, ByteBuffer data) {
    }

    /** The last captured batch's writes, decoded, kept for the next batch's overlay until it has landed. */
    private List<Earlier> previous = List.of();

    private long previousLastSeq;

    @Override
    public boolean pipelines() {
        return true;
    }

    @Override
    public void landed(long seq) {
        if (seq >= previousLastSeq) {
            previous = List.of();
        }
    }

    @Override
    public void beforeOverwrite(List<StoredRecord> batch, BlockDevice target) throws IOException {
        long journaled = journal.lastSeq();
        List<IngestRecord> toCapture = new ArrayList<>();
        for (StoredRecord r : batch) {
            if (r.record().type() == IngestRecord.Type.WRITE && r.record().seq() > journaled) {
                toCapture.add(r.record());
            }
        }
        // The target's reads run ahead on another thread while this one overlays and appends (BeforeImageReader);
        // it has stopped by the time the capture returns, so no read of this batch overlaps its target writes.
        try (BeforeImageReader images = toCapture.isEmpty() ? null
                : new BeforeImageReader(target, toCapture, READ_AHEAD, readLanes(toCapture))) {
            capture(batch, journaled, images);
        }
    }

    /** Before-images read ahead of the journal append per lane, at most (each an aligned buffer of the largest write). */
    static final int READ_AHEAD = 2;
    /** Before-image reads under way at once, at least (what a batch of the largest writes gets). */
    static final int MIN_READ_LANES = 2;
    /** Before-image reads under way at once, at most (a batch of small writes). */
    static final int MAX_READ_LANES = 4;
    /**
     * The read-ahead buffers one capture may hold beyond {@link #MIN_READ_LANES} lanes' worth: what two lanes of
     * 1 MiB writes have always held, so more lanes for smaller writes never raise a disk's direct memory.
     */
    static final int READ_AHEAD_BYTES = MIN_READ_LANES * READ_AHEAD * (1 << 20);

    /**
     * How many before-image reads a batch keeps under way: as many as {@link #READ_AHEAD_BYTES} holds at the batch's
     * largest write, between two and four (four up to 512 KiB, three up to 682 KiB, two for megabyte writes). On the bench machine's virtual disk four lanes instead of two raised retention-on rand-64k (4 disks) from
     * 328 to 373 MB/s applied (median of 4 alternating rounds, each round won by four; bench/RESULTS.md): the
     * before-image reads were 66 % of the capture's time, and the device's read+write throughput rose with them
     * (1,160 → 1,300 MB/s at the same 89 % busy). Eight lanes were no better than four within the noise.
     */
    static int readLanes(List<IngestRecord> writes) {
        int largest = 512;
        for (IngestRecord w : writes) {
            largest = Math.max(largest, w.length());
        }
        long fit = READ_AHEAD_BYTES / ((long) READ_AHEAD * largest);
        return (int) Math.max(MIN_READ_LANES, Math.min(MAX_READ_LANES, fit));
    }

    private void capture(List<StoredRecord> batch, long journaled, BeforeImageReader images) throws IOException {
        List<Earlier> earlier = new ArrayList<>(previous);
        int fromPrevious = earlier.size();
        boolean appended = false;
        for (StoredRecord r : batch) {
            IngestRecord rec = r.record();
            if (rec.type() == IngestRecord.Type.TAG) {
                if (rec.seq() > journaled) {
                    journal.appendPoint(rec.seq(), rec.timestampMicros(), rec.tagType(), rec.tagName());
                    appended = true;
                }
                continue;
            }
            ByteBuffer data = RecordPayloads.view(r);
            if (rec.seq() > journaled) {
                // Read into aligned direct memory (the O_DIRECT read needs no bounce buffer) and appended from it
                // (the journal's write needs no temporary direct copy): a new heap array per image cost an
                // allocation, its zeroing and those two copies of every before-image byte (bench/RESULTS.md).
                long waitStart = System.nanoTime();
                ByteBuffer before = images.next();
                long appendStart = System.nanoTime();
                times.since(Stage.BEFORE_IMAGE_WAIT, waitStart);
                overlay(earlier, rec.offset(), before);
                journal.appendBeforeImage(rec.seq(), rec.timestampMicros(), rec.offset(), before);
                times.since(Stage.JOURNAL_APPEND, appendStart);
                images.done(before);
                appended = true;
            }
            earlier.add(new Earlier(rec.offset(), data));
        }
        if (appended) {
            long syncStart = System.nanoTime();
            journal.sync();
            times.since(Stage.JOURNAL_SYNC, syncStart);
        }
        previous = new ArrayList<>(earlier.subList(fromPrevious, earlier.size())); // a copy: no older batch kept
        previousLastSeq = batch.isEmpty() ? previousLastSeq : batch.get(batch.size() - 1).record().seq();
    }

    /** Applies the batch's earlier writes, in order, to {@code buf} (the bytes of [offset, offset+remaining)). */
    private static void overlay(List<Earlier> earlier, long offset, ByteBuffer buf) {
        long end = offset + buf.remaining();
        for (Earlier e : earlier) {
            long lo = Math.max(offset, e.offset());
            long hi = Math.min(end, e.offset() + e.data().remaining());
            if (lo < hi) {
                buf.put((int) (lo - offset), e.data(), (int) (lo - e.offset()), (int) (hi - lo));
            }
        }
    }
}
