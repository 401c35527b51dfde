package io.mtagent.agent.ingest;

import static io.mtagent.agent.ingest.LogFixtures.assertHolds;
import static io.mtagent.agent.ingest.LogFixtures.offerRandom;
import static io.mtagent.agent.ingest.LogFixtures.segments;
import static org.assertj.core.api.Assertions.assertThat;

import io.mtagent.agent.log.LogFileNames;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Spare segments: an applied segment's file is kept and the next segment is written over it (new header, new
 * incarnation) instead of deleting one file and allocating another. Its old records stay in the file past the new
 * segment's end; these tests prove they never read as the new segment's, after a roll, a clean close or a crash.
 */
class IngestLogSpareSegmentsTest {
    @TempDir
    Path tmp;

    private static IngestLogOptions options(int spares) {
        return IngestLogOptions.builder().segmentBytes(64 * 1024).checkpointIntervalMillis(3_600_000)
                .spareSegments(spares).build();
    }

    @Test
    void appliedSegmentsBecomeSparesThatTheNextSegmentsAreWrittenOver() throws Exception {
        SplittableRandom r = new SplittableRandom(71);
        Path dir = tmp.resolve("log");
        List<LogFixtures.Rec> recs = new ArrayList<>();
        Map<Object, Long> spareSizes = new HashMap<>();
        long applied;
        try (IngestLog log = IngestLog.open(dir, "d1", options(2))) {
            recs.addAll(offerRandom(log, r, 1, 200));
            log.flush();
            applied = log.lastDurableSeq();
            assertThat(log.segmentCount()).as("segments rolled").isGreaterThanOrEqualTo(4);
            log.markApplied(applied);
            assertThat(segments(dir)).as("only the current segment stays a segment").hasSize(1);
            List<Path> spares = spares(dir);
            assertThat(spares).as("two applied segment files kept, the rest deleted").hasSize(2);
            for (Path p : spares) {
                spareSizes.put(inode(p), Files.size(p));
            }
            recs.addAll(offerRandom(log, r, applied + 1, 300));
            log.flush();
            assertThat(spares(dir)).as("the spares were taken by the next segments").isEmpty();
            int reused = 0;
            int cut = 0;
            Path current = segments(dir).get(segments(dir).size() - 1);
            for (Path seg : segments(dir)) {
                Long oldSize = spareSizes.get(inode(seg));
                if (oldSize != null) {
                    reused++;
                    if (!seg.equals(current) && oldSize > Files.size(seg)) {
                        cut++; // its old records past the new end were cut off at the roll
                    }
                }
            }
            assertThat(reused).as("segments written over a spare's blocks").isEqualTo(2);
            assertThat(cut).as("a closed reused segment that ended before the spare's old end").isPositive();
            assertHolds(log, applied, recs.subList((int) applied, recs.size()), "after writing over spares");
        }
        // A full scan reads every closed segment to its end: old records left past a reused segment's end would
        // stop it before the checkpoint, which is refused as corruption.
        IngestLog.forgetCleanShutdown(dir);
        try (IngestLog log = IngestLog.open(dir, "d1", options(2))) {
            assertThat(log.recoveredClean()).isFalse();
            assertThat(log.lastDurableSeq()).isEqualTo(recs.size());
            assertHolds(log, applied, recs.subList((int) applied, recs.size()), "after a full scan");
        }
    }

    @Test
    void aCrashWhileWritingOverASpareKeepsEveryAcknowledgedRecordAndCutsTheOldOnes() throws Exception {
        SplittableRandom r = new SplittableRandom(72);
        Path dir = tmp.resolve("log");
        List<LogFixtures.Rec> recs = new ArrayList<>();
        try (IngestLog log = IngestLog.open(dir, "d1", options(3))) {
            recs.addAll(fillAndApply(log, r, 300));
            long applied = recs.size();
            for (int round = 0; round < 6; round++) {
                recs.addAll(offerRandom(log, r, recs.size() + 1, 3 + r.nextInt(40)));
                log.flush();
                Path current = segments(dir).get(segments(dir).size() - 1);
                Path image = tmp.resolve("image-" + round);
                LogFixtures.crashCopy(dir, image);
                String ctx = "round " + round + ", current segment " + current.getFileName() + " of "
                        + Files.size(current) + " bytes";
                List<LogFixtures.Rec> kept = new ArrayList<>(recs.subList((int) applied, recs.size()));
                try (IngestLog copy = IngestLog.open(image, "d1", options(3))) {
                    assertThat(copy.recoveredClean()).isFalse();
                    assertThat(copy.lastDurableSeq()).as(ctx).isEqualTo(recs.size());
                    assertHolds(copy, applied, kept, ctx);
                    kept.addAll(offerRandom(copy, r, recs.size() + 1, 5));
                    copy.flush();
                }
                try (IngestLog copy = IngestLog.open(image, "d1", options(3))) {
                    assertHolds(copy, applied, kept, ctx + ", after appending to the recovered log");
                }
            }
            assertThat(spares(dir)).as("every spare was written over during the rounds").isEmpty();
        }
    }

    @Test
    void aCleanCloseInsideAReusedSpareStillSkipsTheScan() throws Exception {
        SplittableRandom r = new SplittableRandom(73);
        Path dir = tmp.resolve("log");
        List<LogFixtures.Rec> recs = new ArrayList<>();
        long applied;
        try (IngestLog log = IngestLog.open(dir, "d1", options(1))) {
            recs.addAll(fillAndApply(log, r, 200));
            applied = recs.size();
            assertThat(spares(dir)).hasSize(1);
            // Enough to roll into the spare, not enough to fill it: the current segment ends inside old records.
            while (!spares(dir).isEmpty()) {
                recs.addAll(offerRandom(log, r, recs.size() + 1, 1));
                log.flush();
            }
            recs.addAll(offerRandom(log, r, recs.size() + 1, 2));
            log.flush();
        }
        try (IngestLog log = IngestLog.open(dir, "d1", options(1))) {
            assertThat(log.recoveredClean()).as("the clean-shutdown marker holds for a reused current segment")
                    .isTrue();
            assertHolds(log, applied, recs.subList((int) applied, recs.size()), "after a clean reopen");
        }
    }

    @Test
    void withNoSparesAppliedSegmentsAreDeletedAndALowerSettingDeletesTheExtraSpares() throws Exception {
        SplittableRandom r = new SplittableRandom(74);
        Path none = tmp.resolve("none");
        try (IngestLog log = IngestLog.open(none, "d1", options(0))) {
            fillAndApply(log, r, 200);
            assertThat(spares(none)).isEmpty();
            assertThat(segments(none)).hasSize(1);
        }
        Path dir = tmp.resolve("log");
        List<LogFixtures.Rec> recs = new ArrayList<>();
        long applied;
        try (IngestLog log = IngestLog.open(dir, "d1", options(3))) {
            recs.addAll(fillAndApply(log, r, 300));
            applied = recs.size();
            assertThat(spares(dir)).hasSize(3);
        }
        try (IngestLog log = IngestLog.open(dir, "d1", options(1))) {
            assertThat(spares(dir)).as("kept up to the new setting").hasSize(1);
            recs.addAll(offerRandom(log, r, applied + 1, 200));
            log.flush();
            assertHolds(log, applied, recs.subList((int) applied, recs.size()), "after reopening with fewer spares");
        }
    }

    /** Offers {@code n} random records from seq 1, syncs and applies them all; the records, in order. */
    private static List<LogFixtures.Rec> fillAndApply(IngestLog log, SplittableRandom r, int n) throws Exception {
        List<LogFixtures.Rec> recs = new ArrayList<>(offerRandom(log, r, 1, n));
        log.flush();
        log.markApplied(log.lastDurableSeq());
        return recs;
    }

    private static List<Path> spares(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(p -> LogFileNames.isSpare(p.getFileName().toString())).sorted().toList();
        }
    }

    private static Object inode(Path p) throws IOException {
        return Files.getAttribute(p, "unix:ino");
    }
}
