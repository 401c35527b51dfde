package io.mtagent.agent.apply;

import static io.mtagent.agent.ingest.LogFixtures.offer;
import static org.assertj.core.api.Assertions.assertThat;

import io.mtagent.agent.ingest.DirectPayloadBuffers;
import io.mtagent.agent.ingest.ForwardingBlockDevice;
import io.mtagent.agent.ingest.IngestLog;
import io.mtagent.agent.ingest.IngestLogOptions;
import io.mtagent.agent.ingest.LogFixtures;
import io.mtagent.agent.ingest.OfferResult;
import io.mtagent.agent.journal.JournalingApplyStage;
import io.mtagent.agent.journal.PointInTimeView;
import io.mtagent.agent.journal.RetentionJournal;
import io.mtagent.nativeio.BlockDevice;
import io.mtagent.nativeio.FileBlockDevice;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The pipelined applier (batch N's target writes land on a second thread while batch N+1's before-images are
 * captured): every point in time still reads back exactly. The target is a real file that takes a little time
 * per write, so the capture of N+1 really reads ranges N is still writing; small batches and writes crowded into
 * a small hot region make most before-images depend on the previous batch. A stage that did not overlay the
 * batch in flight would journal the bytes from before it, and the views below would differ from the model.
 */
class PipelinedApplierTest {
    private static final int DISK = 256 << 10;
    private static final int HOT = 48 << 10;

    @TempDir
    Path tmp;

    /** A file-backed target whose writes take a moment (a real device's latency) and that counts overlaps. */
    static final class SlowTarget extends ForwardingBlockDevice {
        final AtomicInteger writing = new AtomicInteger();
        final AtomicInteger readsDuringWrites = new AtomicInteger();

        SlowTarget(FileBlockDevice inner) {
            super(inner);
        }

        @Override
        public void read(long offset, ByteBuffer dst) throws IOException {
            if (writing.get() > 0) {
                readsDuringWrites.incrementAndGet();
            }
            inner.read(offset, dst);
        }

        @Override
        public void write(long offset, ByteBuffer src) throws IOException {
            writing.incrementAndGet();
            try {
                // Half the write, a pause, then the rest: a capture reading now sees a torn range.
                ByteBuffer first = src.duplicate();
                int half = (src.remaining() / 2) & ~511;
                first.limit(first.position() + half);
                inner.write(offset, first);
                Thread.sleep(1); // the stimulus: the window in which the range is half written
                ByteBuffer rest = src.duplicate();
                rest.position(rest.position() + half);
                inner.write(offset + half, rest);
                src.position(src.limit());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted", e);
            } finally {
                writing.decrementAndGet();
            }
        }

    }

    /** Payloads on the heap: these batches are below the shared budget's 1 MiB minimum. */
    @Test
    void everyPointReadsBackExactlyWhenCapturesOverlapTheBatchInFlight() throws Exception {
        int overlapped = runAndCheck(true, 41, DirectPayloadBuffers.SHARED);
        assertThat(overlapped).as("captures that read the target while the previous batch was being written")
                .isGreaterThan(20);
    }

    /**
     * The same with every payload in the applier's direct buffers, which the stage overlays from while the batch
     * is in flight and the next one is captured: the journaled before-images (so the views) must match the model
     * read that way too. Buffers released too early are caught by ApplierTest's holding stage; this workload
     * seldom hits that window (checked: it passed with the release moved to the end of the batch's writes).
     */
    @Test
    void everyPointReadsBackExactlyWithPayloadsInDirectBuffers() throws Exception {
        DirectPayloadBuffers buffers = new DirectPayloadBuffers(16 << 20);
        int overlapped = runAndCheck(true, 42, buffers);
        assertThat(overlapped).as("captures that overlapped the batch in flight").isGreaterThan(20);
        assertThat(buffers.madeBytes()).as("direct buffers used").isPositive();
        assertThat(buffers.inUseBytes()).as("every lease closed").isZero();
    }

    @Test
    void theSameWorkloadOneBatchAfterAnotherNeverOverlaps() throws Exception {
        assertThat(runAndCheck(false, 41, DirectPayloadBuffers.SHARED))
                .as("not pipelined: no capture reads during target writes").isZero();
    }

    /** Streams the workload in waves, checks every 7th point and every tag, returns the overlap count. */
    private int runAndCheck(boolean pipelined, long seed, DirectPayloadBuffers buffers) throws Exception {
        SplittableRandom r = new SplittableRandom(seed);
        Path dir = tmp.resolve(pipelined ? "p" : "s");
        List<byte[]> images = new ArrayList<>(); // images.get(seq) = the disk after seq
        byte[] model = new byte[DISK];
        images.add(model.clone());
        ApplierOptions options = new ApplierOptions(24 << 10, 16 << 20, pipelined); // a few writes per batch
        try (IngestLog log = IngestLog.open(dir.resolve("log"), "d1", IngestLogOptions.builder()
                     .segmentBytes(1 << 20).build());
             RetentionJournal journal = RetentionJournal.open(dir.resolve("journal"), 256 << 10);
             SlowTarget target = new SlowTarget(FileBlockDevice.open(dir.resolve("target.img"), DISK, 512))) {
            Applier applier = new Applier("d1", log, target, new JournalingApplyStage(journal), options, buffers);
            applier.start();
            long seq = 0;
            try {
                for (int wave = 0; wave < 12; wave++) {
                    for (int i = 0; i < 30; i++) {
                        seq++;
                        LogFixtures.Rec rec;
                        if (r.nextInt(12) == 0) {
                            rec = LogFixtures.tag(seq, "t" + seq);
                        } else {
                            int len = 512 * (1 + r.nextInt(16));
                            long offset = 512L * r.nextInt((HOT - len) / 512 + 1);
                            if (r.nextInt(8) == 0) {
                                offset = 512L * r.nextInt((DISK - len) / 512 + 1); // now and then elsewhere
                            }
                            rec = LogFixtures.write(seq, offset, LogFixtures.data(r, len), r.nextInt(3) == 0);
                            System.arraycopy(rec.data(), 0, model, (int) offset, len);
                        }
                        assertThat(offer(log, rec)).isEqualTo(OfferResult.ACCEPTED);
                        images.add(model.clone());
                    }
                    log.flush();
                    if (wave % 3 == 2) {
                        applier.awaitApplied(seq, Duration.ofSeconds(30)); // idle between some waves
                    }
                }
                applier.awaitApplied(seq, Duration.ofSeconds(30));
            } finally {
                applier.close();
            }
            assertThat(applier.state()).isEqualTo(Applier.State.STOPPED);
            ByteBuffer all = ByteBuffer.allocate(DISK);
            target.read(0, all);
            assertThat(Arrays.equals(all.array(), model)).as("target equals the model at latest").isTrue();
            for (long p = 0; p <= seq; p++) {
                if (p % 7 != 0 && p != seq) {
                    continue;
                }
                try (PointInTimeView view = new PointInTimeView(target, journal, p)) {
                    byte[] got = view.read(0, DISK);
                    assertThat(Arrays.equals(got, images.get((int) p)))
                            .as("pipelined=%s seed %d: the view at seq %d equals the model", pipelined, seed, p)
                            .isTrue();
                }
            }
            return target.readsDuringWrites.get();
        }
    }
}
