package io.mtagent.agent.ingest;

import static io.mtagent.agent.ingest.LogFixtures.assertHolds;
import static io.mtagent.agent.ingest.LogFixtures.flipByte;
import static io.mtagent.agent.ingest.LogFixtures.offerRandom;
import static io.mtagent.agent.ingest.LogFixtures.segments;
import static io.mtagent.agent.ingest.LogFixtures.smallSegments;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.fail;

import io.mtagent.agent.log.CorruptLogException;
import io.mtagent.agent.log.LogFileNames;
import io.mtagent.agent.log.RecordFraming;
import io.mtagent.agent.log.SegmentHeader;
import io.mtagent.agent.log.SegmentKind;
import io.mtagent.agent.log.SegmentReader;
import io.mtagent.agent.log.VerifiedRecord;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Crash recovery of the ingest log, in the style of etcd's repair_test.go and Kafka's
 * testRecoveryWithCorruptMessage: write N, damage, reopen, assert the valid prefix survives, append more, reopen.
 */
class IngestLogRecoveryTest {
    private static final int CASES = 64;

    @TempDir
    Path tmp;

    private enum Damage { TRUNCATE, OVERWRITE, APPEND_GARBAGE, ZERO_SECTOR }

    /** Where one record of a segment lies: start and the bytes its CRC covers (prefix + body, not padding). */
    private record Placed(long seq, long position, int covered) {
    }

    @Test
    void tornTailAfterCheckpointIsTruncatedAndTheValidPrefixSurvives() throws Exception {
        long seed = Long.getLong("recovery.seed", System.nanoTime());
        System.out.println("IngestLogRecoveryTest seed " + seed + " (rerun with -Drecovery.seed=" + seed + ")");
        SplittableRandom master = new SplittableRandom(seed);
        for (int c = 0; c < CASES; c++) {
            long caseSeed = master.nextLong();
            Damage damage = Damage.values()[c % Damage.values().length];
            try {
                runCase(tmp.resolve("case-" + c), new SplittableRandom(caseSeed), damage,
                        "seed " + seed + " case " + c + " (case seed " + caseSeed + ", " + damage + ")");
            } catch (AssertionError | Exception e) {
                throw new AssertionError("recovery case failed: seed " + seed + " case " + c + " caseSeed "
                        + caseSeed + " damage " + damage + ": " + e, e);
            }
        }
    }

    private void runCase(Path dir, SplittableRandom r, Damage damage, String ctx) throws Exception {
        int n = 30 + r.nextInt(50);
        List<LogFixtures.Rec> recs;
        try (IngestLog log = IngestLog.open(dir, "d1", smallSegments())) {
            recs = new ArrayList<>(offerRandom(log, r, 1, n));
            log.flush();
            while (log.segmentCount() < 2) {
                recs.addAll(offerRandom(log, r, recs.size() + 1, 10));
                log.flush();
            }
            n = recs.size();
        }
        List<Path> segs = segments(dir);
        assertThat(segs.size()).as("%s: segments", ctx).isGreaterThanOrEqualTo(2);
        Path lastSeg = segs.get(segs.size() - 1);
        long lastIndex = LogFileNames.indexOf(lastSeg.getFileName().toString());
        List<Placed> placed = layout(lastSeg);
        byte[] original = Files.readAllBytes(lastSeg);
        long firstSeqOfLast = placed.isEmpty() ? n + 1 : placed.get(0).seq();

        // Move the checkpoint back to a record boundary of the last segment, as if the crash came before the
        // close: everything from there on is an unsynced tail.
        int cpRecord = placed.isEmpty() ? 0 : r.nextInt(placed.size() + 1);
        long cpPos = cpRecord < placed.size() ? placed.get(cpRecord).position() : original.length;
        long cpSeq = firstSeqOfLast - 1 + cpRecord;
        if (r.nextInt(4) == 0) {
            // Or the crash came right after a roll, before the checkpoint moved into the new segment.
            Path prev = segs.get(segs.size() - 2);
            writeCheckpoint(dir, lastIndex - 1, Files.size(prev), firstSeqOfLast - 1);
            cpPos = SegmentHeader.LENGTH;
            cpSeq = firstSeqOfLast - 1;
        } else {
            writeCheckpoint(dir, lastIndex, cpPos, cpSeq);
        }

        byte[] damaged = damage(original, cpPos, damage, r);
        Files.write(lastSeg, damaged);

        // The valid prefix: records of the last segment, in order, while their CRC-covered bytes are intact.
        long expectLast = firstSeqOfLast - 1;
        for (Placed p : placed) {
            long end = p.position() + p.covered();
            if (end > damaged.length || !Arrays.equals(original, (int) p.position(), (int) end,
                    damaged, (int) p.position(), (int) end)) {
                break;
            }
            expectLast = p.seq();
        }
        assertThat(expectLast).as("%s: damage is after the checkpoint", ctx).isGreaterThanOrEqualTo(cpSeq);

        List<LogFixtures.Rec> kept = new ArrayList<>(recs.subList(0, (int) expectLast));
        try (IngestLog log = IngestLog.open(dir, "d1", smallSegments())) {
            assertThat(log.lastDurableSeq()).as("%s: lastDurableSeq after reopen", ctx).isEqualTo(expectLast);
            assertThat(log.lastAcceptedSeq()).as("%s: lastAcceptedSeq after reopen", ctx).isEqualTo(expectLast);
            assertHolds(log, 0, kept, ctx + ": after reopen");
            kept.addAll(offerRandom(log, r, expectLast + 1, 5 + r.nextInt(30)));
            log.flush();
        }
        try (IngestLog log = IngestLog.open(dir, "d1", smallSegments())) {
            assertThat(log.lastDurableSeq()).as("%s: lastDurableSeq after appending", ctx).isEqualTo(kept.size());
            assertHolds(log, 0, kept, ctx + ": after appending and reopening");
        }
    }

    private static byte[] damage(byte[] original, long from, Damage damage, SplittableRandom r) {
        int start = (int) Math.max(from, SegmentHeader.LENGTH);
        int size = original.length;
        switch (damage) {
            case TRUNCATE: {
                int at = size > start ? start + r.nextInt(size - start) : size;
                return Arrays.copyOf(original, at);
            }
            case OVERWRITE: {
                if (size <= start) {
                    return original.clone();
                }
                byte[] b = original.clone();
                int at = start + r.nextInt(size - start);
                int count = Math.min(1 + r.nextInt(16), size - at);
                for (int i = 0; i < count; i++) {
                    b[at + i] ^= (byte) (1 + r.nextInt(255)); // always a change
                }
                return b;
            }
            case APPEND_GARBAGE: {
                byte[] garbage = new byte[1 + r.nextInt(600)];
                for (int i = 0; i < garbage.length; i++) {
                    garbage[i] = (byte) r.nextInt(256);
                }
                garbage[0] |= 1; // not a zero length word
                byte[] b = Arrays.copyOf(original, size + garbage.length);
                System.arraycopy(garbage, 0, b, size, garbage.length);
                return b;
            }
            case ZERO_SECTOR: {
                int first = (start + 511) / 512 * 512;
                if (first >= size) {
                    return original.clone();
                }
                int sectors = (size - first + 511) / 512;
                int at = first + 512 * r.nextInt(sectors);
                byte[] b = original.clone();
                Arrays.fill(b, at, Math.min(size, at + 512), (byte) 0);
                return b;
            }
            default:
                throw new IllegalArgumentException(damage.toString());
        }
    }

    @Test
    void corruptionBeforeTheCheckpointIsRefusedAndRepairKeepsThePrefix() throws Exception {
        SplittableRandom r = new SplittableRandom(21);
        Path dir = tmp.resolve("log");
        List<LogFixtures.Rec> recs;
        try (IngestLog log = IngestLog.open(dir, "d1", smallSegments())) {
            recs = offerRandom(log, r, 1, 90);
            log.flush();
        }
        List<Path> segs = segments(dir);
        assertThat(segs.size()).isGreaterThanOrEqualTo(3);
        Path first = segs.get(0);
        List<Placed> placed = layout(first);
        Placed bad = placed.get(2); // the third record of the first segment
        flipByte(first, bad.position() + 8 + 20);
        crashed(dir);

        assertThatThrownBy(() -> IngestLog.open(dir, "d1", smallSegments()))
                .isInstanceOf(CorruptLogException.class)
                .hasMessageContaining(first.getFileName().toString())
                .hasMessageContaining("mtagent verify --repair")
                .satisfies(e -> assertThat(((CorruptLogException) e).offset()).isEqualTo(bad.position()));
        // Refusing must not have changed anything: a second open refuses the same way.
        assertThatThrownBy(() -> IngestLog.open(dir, "d1", smallSegments())).isInstanceOf(CorruptLogException.class);

        assertThat(IngestLogRepair.repair(dir)).isEqualTo(segs.size());
        assertThat(dir.resolve(first.getFileName() + ".broken")).exists();
        List<LogFixtures.Rec> kept = new ArrayList<>(recs.subList(0, 2));
        try (IngestLog log = IngestLog.open(dir, "d1", smallSegments())) {
            assertThat(log.lastDurableSeq()).isEqualTo(2);
            assertHolds(log, 0, kept, "after repair");
            kept.addAll(offerRandom(log, r, 3, 60));
            log.flush();
        }
        try (IngestLog log = IngestLog.open(dir, "d1", smallSegments())) {
            assertThat(log.lastDurableSeq()).isEqualTo(62);
            assertHolds(log, 0, kept, "after repair, appending and reopening");
        }
    }

    @Test
    void zeroedSectorBeforeTheCheckpointIsRefusedNotSilentlyDropped() throws Exception {
        SplittableRandom r = new SplittableRandom(22);
        Path dir = tmp.resolve("log");
        try (IngestLog log = IngestLog.open(dir, "d1", smallSegments())) {
            offerRandom(log, r, 1, 90);
            log.flush();
        }
        Path first = segments(dir).get(0);
        Placed p = layout(first).get(3);
        // Zero the record's 8-byte length/CRC word: it then looks like the clean end of the segment.
        try (FileChannel ch = FileChannel.open(first, StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.allocate(8), p.position());
        }
        crashed(dir);
        assertThatThrownBy(() -> IngestLog.open(dir, "d1", smallSegments()))
                .isInstanceOf(CorruptLogException.class)
                .hasMessageContaining(first.getFileName().toString())
                .hasMessageContaining("mtagent verify --repair");
        IngestLogRepair.repair(dir);
        try (IngestLog log = IngestLog.open(dir, "d1", smallSegments())) {
            assertThat(log.lastDurableSeq()).isEqualTo(p.seq() - 1);
        }
    }

    /** Deterministic versions of two rare cases of the random loop. */
    @Test
    void tailCutInsidePaddingOrZeroedAtARecordBoundaryIsTruncatedCleanly() throws Exception {
        for (int variant = 0; variant < 2; variant++) {
            SplittableRandom r = new SplittableRandom(24 + variant);
            Path dir = tmp.resolve("log-" + variant);
            List<LogFixtures.Rec> recs = new ArrayList<>();
            try (IngestLog log = IngestLog.open(dir, "d1", smallSegments())) {
                recs.addAll(offerRandom(log, r, 1, 40));
                // Tags with names whose records need padding.
                for (long seq = 41; seq <= 44; seq++) {
                    LogFixtures.Rec t = LogFixtures.tag(seq, "pad-" + seq);
                    assertThat(LogFixtures.offer(log, t)).isEqualTo(OfferResult.ACCEPTED);
                    recs.add(t);
                }
                log.flush();
            }
            List<Path> segs = segments(dir);
            Path lastSeg = segs.get(segs.size() - 1);
            List<Placed> placed = layout(lastSeg);
            Placed p42 = placed.stream().filter(p -> p.seq() == 42).findFirst().orElseThrow();
            Placed p43 = placed.stream().filter(p -> p.seq() == 43).findFirst().orElseThrow();
            writeCheckpoint(dir, LogFileNames.indexOf(lastSeg.getFileName().toString()), p42.position(), 41);
            long expectLast;
            if (variant == 0) {
                // Power cut inside seq 42's padding: 42 verifies, the file length is not a multiple of 8.
                long cut = p42.position() + p42.covered() + 1;
                assertThat(cut).as("test setup: seq 42 has padding").isLessThan(p43.position());
                try (FileChannel ch = FileChannel.open(lastSeg, StandardOpenOption.WRITE)) {
                    ch.truncate(cut);
                }
                expectLast = 42;
            } else {
                // Seq 43's length/CRC word reads as zeroes, seq 44 is still behind it: not a clean end.
                try (FileChannel ch = FileChannel.open(lastSeg, StandardOpenOption.WRITE)) {
                    ch.write(ByteBuffer.allocate(8), p43.position());
                }
                expectLast = 42;
            }
            List<LogFixtures.Rec> kept = new ArrayList<>(recs.subList(0, (int) expectLast));
            try (IngestLog log = IngestLog.open(dir, "d1", smallSegments())) {
                assertThat(log.lastDurableSeq()).as("variant %d", variant).isEqualTo(expectLast);
                kept.addAll(offerRandom(log, r, expectLast + 1, 10));
                log.flush();
            }
            try (IngestLog log = IngestLog.open(dir, "d1", smallSegments())) {
                assertThat(log.lastDurableSeq()).as("variant %d after appending", variant).isEqualTo(kept.size());
                assertHolds(log, 0, kept, "variant " + variant + " after appending");
            }
        }
    }

    /** The refusal tells the operator to run repair; repair must then actually make the log openable. */
    @Test
    void damagedCheckpointOrAppliedFileIsRefusedAndRepairable() throws Exception {
        for (String damagedFile : List.of(LogFileNames.CHECKPOINT, LogFileNames.APPLIED)) {
            SplittableRandom r = new SplittableRandom(26);
            Path dir = tmp.resolve("log-" + damagedFile);
            List<LogFixtures.Rec> recs;
            try (IngestLog log = IngestLog.open(dir, "d1", smallSegments())) {
                recs = offerRandom(log, r, 1, 120);
                log.flush();
                log.markApplied(70); // deletes the first segments
            }
            flipByte(dir.resolve(damagedFile), 3);
            assertThatThrownBy(() -> IngestLog.open(dir, "d1", smallSegments()))
                    .as(damagedFile).isInstanceOf(CorruptLogException.class)
                    .hasMessageContaining(damagedFile)
                    .hasMessageContaining("mtagent verify --repair");
            IngestLogRepair.repair(dir);
            try (IngestLog log = IngestLog.open(dir, "d1", smallSegments())) {
                assertThat(log.lastDurableSeq()).as(damagedFile).isEqualTo(120);
                // Nothing after the real applied point may be lost; re-applying a little more is harmless.
                assertThat(log.appliedSeq()).as(damagedFile).isLessThanOrEqualTo(70);
                assertHolds(log, 70, recs.subList(70, 120), "after repairing " + damagedFile);
            }
        }
    }

    /**
     * kill -9 right after acks: the directory is copied while the log is still open (writer idle after flush), so
     * the checkpoint in the copy is stale and every record after it must still be found, none truncated.
     */
    @Test
    void crashImageAfterFlushKeepsEveryAcknowledgedRecord() throws Exception {
        for (long interval : new long[] {3_600_000, 0}) {
            SplittableRandom r = new SplittableRandom(27 + interval);
            IngestLogOptions options = IngestLogOptions.builder().segmentBytes(64 * 1024)
                    .checkpointIntervalMillis(interval).build();
            Path dir = tmp.resolve("live-" + interval);
            List<LogFixtures.Rec> recs = new ArrayList<>();
            try (IngestLog log = IngestLog.open(dir, "d1", options)) {
                for (int round = 0; round < 5; round++) {
                    recs.addAll(offerRandom(log, r, recs.size() + 1, 10 + r.nextInt(30)));
                    log.flush();
                    Path image = tmp.resolve("image-" + interval + "-" + round);
                    LogFixtures.crashCopy(dir, image);
                    String ctx = "interval " + interval + " round " + round;
                    List<LogFixtures.Rec> kept = new ArrayList<>(recs);
                    try (IngestLog copy = IngestLog.open(image, "d1", options)) {
                        assertThat(copy.lastDurableSeq()).as(ctx).isEqualTo(recs.size());
                        assertHolds(copy, 0, kept, ctx);
                        kept.addAll(offerRandom(copy, r, kept.size() + 1, 5));
                        copy.flush();
                    }
                    try (IngestLog copy = IngestLog.open(image, "d1", options)) {
                        assertHolds(copy, 0, kept, ctx + " after appending");
                    }
                }
            }
        }
    }

    @Test
    void tornSegmentCreationAfterTheCheckpointIsRemoved() throws Exception {
        SplittableRandom r = new SplittableRandom(23);
        for (int variant = 0; variant < 3; variant++) {
            Path dir = tmp.resolve("log-" + variant);
            List<LogFixtures.Rec> recs;
            try (IngestLog log = IngestLog.open(dir, "d1", smallSegments())) {
                recs = offerRandom(log, r, 1, 50);
                log.flush();
            }
            List<Path> segs = segments(dir);
            long next = LogFileNames.indexOf(segs.get(segs.size() - 1).getFileName().toString()) + 1;
            Path torn = dir.resolve(LogFileNames.segment(SegmentKind.INGEST, next));
            byte[] content;
            switch (variant) {
                case 0 -> content = new byte[0];                                      // created, nothing written
                case 1 -> content = Arrays.copyOf(SegmentHeader.ingest(5, 51, next).encode(SegmentKind.INGEST).array(), 100); // short header
                default -> {                                                         // full header, bad CRC
                    content = SegmentHeader.ingest(5, 51, next).encode(SegmentKind.INGEST).array();
                    content[41] ^= 0x40;
                }
            }
            Files.write(torn, content);
            List<LogFixtures.Rec> kept = new ArrayList<>(recs);
            try (IngestLog log = IngestLog.open(dir, "d1", smallSegments())) {
                assertThat(torn).as("variant %d: torn segment removed", variant).doesNotExist();
                assertThat(log.lastDurableSeq()).isEqualTo(50);
                assertHolds(log, 0, kept, "variant " + variant);
                kept.addAll(offerRandom(log, r, 51, 20));
                log.flush();
            }
            try (IngestLog log = IngestLog.open(dir, "d1", smallSegments())) {
                assertThat(log.lastDurableSeq()).isEqualTo(70);
                assertHolds(log, 0, kept, "variant " + variant + " after appending");
            }
        }
    }

    @Test
    void firstEverSegmentTornAtCreationStartsAFreshLog() throws Exception {
        Path dir = tmp.resolve("fresh");
        Files.createDirectories(dir);
        Path torn = dir.resolve(LogFileNames.segment(SegmentKind.INGEST, 1));
        Files.write(torn, new byte[1000]); // crashed while writing the first header; no checkpoint yet
        SplittableRandom r = new SplittableRandom(28);
        List<LogFixtures.Rec> recs;
        try (IngestLog log = IngestLog.open(dir, "d1", smallSegments())) {
            assertThat(log.lastDurableSeq()).isZero();
            recs = offerRandom(log, r, 1, 10);
            log.flush();
        }
        try (IngestLog log = IngestLog.open(dir, "d1", smallSegments())) {
            assertHolds(log, 0, recs, "fresh log after a torn first segment");
        }
    }

    // ------------------------------------------------------------------ helpers

    /** The records of an intact segment, from the header's incarnation and the record framing. */
    private static List<Placed> layout(Path seg) throws IOException {
        List<Placed> out = new ArrayList<>();
        try (FileChannel ch = FileChannel.open(seg, StandardOpenOption.READ)) {
            SegmentHeader h = SegmentHeader.read(SegmentKind.INGEST, ch);
            if (h == null) {
                fail("test setup: header of " + seg + " does not verify");
            }
            SegmentReader reader = new SegmentReader(SegmentKind.INGEST, seg, ch, h);
            VerifiedRecord r;
            while ((r = reader.next()) != null) {
                out.add(new Placed(r.seq(), r.position(),
                        RecordFraming.PREFIX_LENGTH + SegmentFormat.BODY_HEADER_LENGTH + r.payloadLength()));
            }
            assertThat(reader.stop().clean()).as("test setup: %s is intact (%s)", seg, reader.stop()).isTrue();
            assertThat(reader.position()).isEqualTo(ch.size());
        }
        return out;
    }

    private static void writeCheckpoint(Path dir, long segment, long position, long seq) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(28).putLong(segment).putLong(position).putLong(seq);
        CRC32C c = new CRC32C();
        c.update(b.array(), 0, 24);
        b.putInt((int) c.getValue());
        Files.write(dir.resolve(LogFileNames.CHECKPOINT), b.array());
    }

    /**
     * These cases are about the scan after a crash: a clean close leaves a marker that skips the scan on the
     * next open (damage made while the agent was stopped is found by 'mtagent verify', which ignores the
     * marker, or when the applier reads the record). Removing the marker makes the open the post-crash one.
     */
    private static void crashed(Path dir) throws java.io.IOException {
        java.nio.file.Files.deleteIfExists(dir.resolve("clean"));
    }
}
