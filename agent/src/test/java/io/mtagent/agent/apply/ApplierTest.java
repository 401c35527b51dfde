package io.mtagent.agent.apply;

import static org.awaitility.Awaitility.await;
import static io.mtagent.agent.ingest.LogFixtures.offer;
import static org.assertj.core.api.Assertions.assertThat;

import io.mtagent.agent.ingest.DirectPayloadBuffers;
import io.mtagent.agent.ingest.ForwardingBlockDevice;
import io.mtagent.agent.ingest.IngestLog;
import io.mtagent.agent.ingest.IngestRecord;
import io.mtagent.agent.ingest.LogFixtures;
import io.mtagent.agent.ingest.OfferResult;
import io.mtagent.agent.ingest.RecordPayloads;
import io.mtagent.agent.ingest.StoredRecord;
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
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ApplierTest {
    private static final int DISK = 4 << 20;
    private static final ApplierOptions OPTIONS = new ApplierOptions(512 * 1024, 16 << 20);

    @TempDir
    Path tmp;

    /** A write of 4 KiB..256 KiB at a 512-aligned offset inside the disk; a third are LZ4-compressed. */
    private static LogFixtures.Rec randomWrite(SplittableRandom r, long seq) {
        int len = 512 * (8 + r.nextInt(505));
        long offset = 512L * r.nextInt((DISK - len) / 512 + 1);
        return LogFixtures.write(seq, offset, LogFixtures.data(r, len), r.nextInt(3) == 0);
    }

    private static void applyToModel(byte[] model, LogFixtures.Rec rec) {
        if (rec.data() != null) {
            System.arraycopy(rec.data(), 0, model, (int) rec.record().offset(), rec.data().length);
        }
    }

    private static List<LogFixtures.Rec> offerWorkload(IngestLog log, SplittableRandom r, long firstSeq, int n,
                                                       byte[] model) {
        List<LogFixtures.Rec> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            long seq = firstSeq + i;
            LogFixtures.Rec rec = r.nextInt(10) == 0 ? LogFixtures.tag(seq, "t" + seq) : randomWrite(r, seq);
            assertThat(offer(log, rec)).isEqualTo(OfferResult.ACCEPTED);
            applyToModel(model, rec);
            out.add(rec);
        }
        return out;
    }

    @Test
    void targetMatchesTheModelAndPauseHoldsTheBacklog() throws Exception {
        SplittableRandom r = new SplittableRandom(31);
        byte[] model = new byte[DISK];
        try (IngestLog log = IngestLog.open(tmp.resolve("log"), "d1", LogFixtures.mebibyteSegments());
             FileBlockDevice target = FileBlockDevice.open(tmp.resolve("target.img"), DISK, 512)) {
            Applier applier = new Applier("d1", log, target, ApplyStage.NONE, OPTIONS);
            applier.start();
            try {
                offerWorkload(log, r, 1, 60, model);
                log.flush();
                applier.awaitApplied(60, Duration.ofSeconds(20));
                assertThat(log.appliedSeq()).isEqualTo(60);
                assertThat(Arrays.equals(LogFixtures.readTarget(target), model)).as("target equals model after 60").isTrue();

                applier.setPaused(true);
                assertThat(applier.state()).isEqualTo(Applier.State.PAUSED);
                long backlogBefore = log.backlogBytes();
                // A control: an unpaused applier fed the same records beside it. Once it has applied them all, the
                // paused one has had every chance to apply them too; a pause that did not hold shows here.
                try (IngestLog controlLog = IngestLog.open(tmp.resolve("control-log"), "c1",
                        LogFixtures.mebibyteSegments());
                     FileBlockDevice controlTarget = FileBlockDevice.open(tmp.resolve("control.img"), DISK, 512)) {
                    Applier control = new Applier("c1", controlLog, controlTarget, ApplyStage.NONE, OPTIONS);
                    control.start();
                    try {
                        List<LogFixtures.Rec> more = offerWorkload(log, r, 61, 40, model);
                        for (LogFixtures.Rec rec : more) {
                            IngestRecord m = rec.record();
                            IngestRecord renumbered = new IngestRecord(m.type(), m.seq() - 60, m.epoch(),
                                    m.timestampMicros(), m.offset(), m.length(), m.crc32c(), m.compressed(),
                                    m.tagType(), m.tagName());
                            assertThat(offer(controlLog, new LogFixtures.Rec(renumbered, rec.payload(), rec.data())))
                                    .isEqualTo(OfferResult.ACCEPTED);
                        }
                        log.flush();
                        controlLog.flush();
                        control.awaitApplied(40, Duration.ofSeconds(20));
                    } finally {
                        control.close();
                    }
                }
                assertThat(applier.appliedSeq()).as("paused: nothing applied").isEqualTo(60);
                assertThat(log.appliedSeq()).isEqualTo(60);
                assertThat(log.backlogBytes()).as("paused: backlog grows").isGreaterThan(backlogBefore);

                applier.setPaused(false);
                assertThat(applier.state()).isEqualTo(Applier.State.RUNNING);
                applier.awaitApplied(100, Duration.ofSeconds(20));
                assertThat(log.backlogBytes()).isZero();
                assertThat(Arrays.equals(LogFixtures.readTarget(target), model)).as("target equals model after resume").isTrue();
            } finally {
                applier.close();
            }
            assertThat(applier.state()).isEqualTo(Applier.State.STOPPED);
        }
    }

    /**
     * Payloads go to the target from the direct buffers they were read into (a budget that takes them all), or
     * from the heap when the budget is empty; the target equals the model either way and every lease is closed at
     * the end. The stage here holds each batch's payloads as long as {@link ApplyStage} allows (until the batch
     * landed, and through the next batch's capture when that starts first) and checks, at the next capture and
     * when the batch lands, that every one still holds its data: a lease closed too early lets the next batch's
     * read overwrite them.
     */
    @Test
    void payloadsStayValidForTheStageAsLongAsPromisedAndTheTargetIsRight() throws Exception {
        for (long budget : new long[] {64 << 20, 0}) {
            SplittableRandom r = new SplittableRandom(33);
            byte[] model = new byte[DISK];
            DirectPayloadBuffers buffers = new DirectPayloadBuffers(budget);
            HoldingStage stage = new HoldingStage();
            Path dir = tmp.resolve("budget-" + budget);
            try (IngestLog log = IngestLog.open(dir.resolve("log"), "d1", LogFixtures.mebibyteSegments());
                 FileBlockDevice target = FileBlockDevice.open(dir.resolve("target.img"), DISK, 512)) {
                Applier applier = new Applier("d1", log, target, stage, OPTIONS, buffers);
                applier.start();
                try {
                    for (int round = 0; round < 4; round++) {
                        offerWorkload(log, r, 1 + 40L * round, 40, model);
                        log.flush();
                    }
                    applier.awaitApplied(160, Duration.ofSeconds(20));
                    assertThat(Arrays.equals(LogFixtures.readTarget(target), model)).as("budget %d: target equals model", budget)
                            .isTrue();
                } finally {
                    applier.close();
                }
            }
            assertThat(stage.problems).as("budget %d: payloads the stage held", budget).isEmpty();
            assertThat(stage.checked).as("budget %d: held payloads checked", budget).isGreaterThan(100);
            assertThat(stage.direct > 0).as("budget %d: direct payloads seen", budget).isEqualTo(budget > 0);
            assertThat(buffers.inUseBytes()).as("budget %d: every lease closed", budget).isZero();
        }
    }

    /** Keeps each batch's payloads as long as the payload-lifetime promise allows and re-checks them. */
    private static final class HoldingStage implements ApplyStage {
        private final List<List<StoredRecord>> held = new ArrayList<>();
        final List<String> problems = new CopyOnWriteArrayList<>();
        int checked;
        int direct;

        @Override
        public void beforeOverwrite(List<StoredRecord> batch, BlockDevice target) {
            recheck("at the next capture");
            for (StoredRecord s : batch) {
                if (s.directPayload() != null) {
                    direct++;
                }
            }
            held.add(batch);
            sleepQuietly(); // lets the batch in flight land meanwhile
            recheck("after the capture");
        }

        @Override
        public boolean pipelines() {
            return true;
        }

        @Override
        public void landed(long seq) {
            recheck("when landed");
            held.removeIf(b -> b.get(b.size() - 1).record().seq() <= seq);
        }

        private void recheck(String when) {
            for (List<StoredRecord> batch : held) {
                for (StoredRecord s : batch) {
                    if (s.record().type() != IngestRecord.Type.WRITE) {
                        continue;
                    }
                    try {
                        java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
                        crc.update(RecordPayloads.view(s)); // the bytes as they are now, not the CRC read with them
                        checked++;
                        if ((int) crc.getValue() != s.record().crc32c()) {
                            problems.add(when + ": seq " + s.record().seq() + " no longer holds its data");
                        }
                    } catch (IOException e) {
                        problems.add(when + ": " + e.getMessage());
                    }
                }
            }
        }

        private static void sleepQuietly() {
            try {
                Thread.sleep(1); // the stimulus: the stage holds the batch while the next one may be read
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** A target failure with payloads in direct buffers leaves none of them held (the budget is shared). */
    @Test
    void aFailedApplierReturnsItsPayloadBuffers() throws Exception {
        SplittableRandom r = new SplittableRandom(34);
        byte[] model = new byte[DISK];
        AtomicBoolean broken = new AtomicBoolean(true);
        DirectPayloadBuffers buffers = new DirectPayloadBuffers(64 << 20);
        try (IngestLog log = IngestLog.open(tmp.resolve("log"), "d1", LogFixtures.mebibyteSegments());
             FileBlockDevice file = FileBlockDevice.open(tmp.resolve("target.img"), DISK, 512)) {
            Applier applier = new Applier("d1", log, new FailingDevice(file, broken), ApplyStage.NONE, OPTIONS,
                    buffers);
            applier.start();
            try {
                offerWorkload(log, r, 1, 40, model);
                log.flush();
                await().atMost(Duration.ofSeconds(10)).until(() -> applier.state() == Applier.State.FAILED);
                await().atMost(Duration.ofSeconds(10)).until(() -> buffers.inUseBytes() == 0);
            } finally {
                applier.close();
            }
        }
        assertThat(buffers.madeBytes()).as("the direct path was taken").isPositive();
        assertThat(buffers.inUseBytes()).isZero();
    }

    @Test
    void failingTargetStopsTheApplierAndTheLogKeepsTheRecords() throws Exception {
        SplittableRandom r = new SplittableRandom(32);
        byte[] model = new byte[DISK];
        AtomicBoolean broken = new AtomicBoolean();
        try (IngestLog log = IngestLog.open(tmp.resolve("log"), "d1", LogFixtures.mebibyteSegments());
             FileBlockDevice file = FileBlockDevice.open(tmp.resolve("target.img"), DISK, 512)) {
            BlockDevice target = new FailingDevice(file, broken);
            Applier applier = new Applier("d1", log, target, ApplyStage.NONE, OPTIONS);
            List<Throwable> reported = new CopyOnWriteArrayList<>();
            applier.onFailure(reported::add);
            applier.start();
            try {
                offerWorkload(log, r, 1, 20, model);
                log.flush();
                applier.awaitApplied(20, Duration.ofSeconds(20));
                broken.set(true);
                offerWorkload(log, r, 21, 20, model);
                log.flush();
                await().atMost(Duration.ofSeconds(10)).until(() -> applier.state() == Applier.State.FAILED);
                assertThat(applier.lastError()).isNotNull().hasMessageContaining("simulated");
                assertThat(reported).hasSize(1);
                assertThat(applier.appliedSeq()).isEqualTo(20);
                assertThat(log.appliedSeq()).as("applied point not advanced").isEqualTo(20);
                assertThat(log.lastDurableSeq()).isEqualTo(40);
                assertThat(LogFixtures.readAll(log, 20)).as("the log still holds 21..40").hasSize(20);
                // A stopped applier must not hide in awaitApplied.
                org.assertj.core.api.Assertions.assertThatThrownBy(
                        () -> applier.awaitApplied(40, Duration.ofSeconds(1))).isInstanceOf(IllegalStateException.class);
            } finally {
                applier.close();
            }
        }
    }

    @Test
    void applyStageSeesTheOldBytesBeforeTheTargetIsOverwritten() throws Exception {
        SplittableRandom r = new SplittableRandom(33);
        List<LogFixtures.Rec> recs = new ArrayList<>();
        record Seen(long firstSeq, long offset, byte[] before) {
        }
        List<Seen> seen = new CopyOnWriteArrayList<>();
        ApplyStage stage = (batch, target) -> {
            for (StoredRecord s : batch) {
                if (s.record().type() == IngestRecord.Type.WRITE) {
                    ByteBuffer b = ByteBuffer.allocate(s.record().length());
                    target.read(s.record().offset(), b);
                    seen.add(new Seen(s.record().seq(), s.record().offset(), b.array()));
                    return;
                }
            }
        };
        try (IngestLog log = IngestLog.open(tmp.resolve("log"), "d1", LogFixtures.mebibyteSegments());
             FileBlockDevice target = FileBlockDevice.open(tmp.resolve("target.img"), DISK, 512)) {
            Applier applier = new Applier("d1", log, target, stage, OPTIONS);
            applier.start();
            try {
                for (int round = 0; round < 4; round++) {
                    recs.addAll(offerWorkload(log, r, recs.size() + 1, 15, new byte[DISK]));
                    log.flush();
                    applier.awaitApplied(recs.size(), Duration.ofSeconds(20));
                }
            } finally {
                applier.close();
            }
        }
        assertThat(seen.size()).as("batches seen by the stage").isGreaterThan(4);
        int differed = 0;
        for (Seen s : seen) {
            byte[] model = new byte[DISK];
            for (LogFixtures.Rec rec : recs) {
                if (rec.record().seq() >= s.firstSeq()) {
                    break;
                }
                applyToModel(model, rec);
            }
            byte[] old = Arrays.copyOfRange(model, (int) s.offset(), (int) s.offset() + s.before().length);
            assertThat(Arrays.equals(s.before(), old)).as("stage saw the old bytes of seq %d", s.firstSeq()).isTrue();
            LogFixtures.Rec rec = recs.get((int) s.firstSeq() - 1);
            if (!Arrays.equals(old, rec.data())) {
                differed++;
            }
        }
        assertThat(differed).as("the old bytes differ from the new ones").isPositive();
    }

    /** Writes above the applier's initial 1 MiB buffer, at the end of the disk, and a restart in between. */
    @Test
    void largeWritesAndARestartFromThePersistedAppliedPoint() throws Exception {
        SplittableRandom r = new SplittableRandom(34);
        byte[] model = new byte[DISK];
        Path logDir = tmp.resolve("log");
        Path image = tmp.resolve("target.img");
        List<LogFixtures.Rec> big = List.of(
                LogFixtures.write(1, 0, LogFixtures.data(r, (1 << 20) + 512), false),
                LogFixtures.write(2, 512 * 3, LogFixtures.data(r, 3 << 20), true),
                LogFixtures.write(3, DISK - 512, LogFixtures.data(r, 512), true),
                LogFixtures.write(4, DISK - (2 << 20), LogFixtures.data(r, 2 << 20), false));
        try (IngestLog log = IngestLog.open(logDir, "d1", LogFixtures.mebibyteSegments());
             FileBlockDevice target = FileBlockDevice.open(image, DISK, 512)) {
            Applier applier = new Applier("d1", log, target, ApplyStage.NONE, OPTIONS);
            applier.start();
            try {
                for (LogFixtures.Rec rec : big) {
                    assertThat(offer(log, rec)).isEqualTo(OfferResult.ACCEPTED);
                    applyToModel(model, rec);
                }
                log.flush();
                applier.awaitApplied(4, Duration.ofSeconds(20));
                assertThat(Arrays.equals(LogFixtures.readTarget(target), model)).isTrue();
                applier.setPaused(true);
                offerWorkload(log, r, 5, 30, model);
                log.flush();
            } finally {
                applier.close();
            }
        }
        // Restart: the unapplied records are applied from the log's persisted applied point.
        try (IngestLog log = IngestLog.open(logDir, "d1", LogFixtures.mebibyteSegments());
             FileBlockDevice target = FileBlockDevice.open(image)) {
            assertThat(log.appliedSeq()).isEqualTo(4);
            Applier applier = new Applier("d1", log, target, ApplyStage.NONE, OPTIONS);
            assertThat(applier.appliedSeq()).isEqualTo(4);
            applier.start();
            try {
                applier.awaitApplied(34, Duration.ofSeconds(20));
                assertThat(Arrays.equals(LogFixtures.readTarget(target), model)).as("target equals model after restart").isTrue();
            } finally {
                applier.close();
            }
        }
    }

    /** The one allowed fake: a real file device that throws on write once broken. */
    private static final class FailingDevice extends ForwardingBlockDevice {
        private final AtomicBoolean broken;

        FailingDevice(BlockDevice inner, AtomicBoolean broken) {
            super(inner);
            this.broken = broken;
        }

        @Override
        public void write(long offset, ByteBuffer src) throws IOException {
            if (broken.get()) {
                throw new IOException("simulated target write failure at " + offset);
            }
            inner.write(offset, src);
        }
    }
}
