package io.mtagent.agent.ingest;

import static io.mtagent.agent.ingest.LogFixtures.assertHolds;
import static io.mtagent.agent.ingest.LogFixtures.offer;
import static io.mtagent.agent.ingest.LogFixtures.offerRandom;
import static io.mtagent.agent.ingest.LogFixtures.smallSegments;
import static org.assertj.core.api.Assertions.assertThat;

import io.mtagent.agent.log.CorruptLogException;
import io.mtagent.agent.log.LogFileNames;
import io.mtagent.agent.log.RecordFraming;
import io.mtagent.agent.log.SegmentHeader;
import io.mtagent.agent.log.SegmentKind;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class IngestLogTest {
    @TempDir
    Path tmp;

    @Test
    void mixedRecordsSurviveCloseAndReopen() throws Exception {
        SplittableRandom r = new SplittableRandom(11);
        Path dir = tmp.resolve("log");
        List<LogFixtures.Rec> recs;
        try (IngestLog log = IngestLog.open(dir, "d1", smallSegments())) {
            recs = offerRandom(log, r, 1, 120);
            // some raw and some compressed writes and some tags, guaranteed
            recs.add(LogFixtures.write(121, 0, LogFixtures.data(r, 4096), true));
            recs.add(LogFixtures.write(122, 4096, LogFixtures.data(r, 4096), false));
            recs.add(LogFixtures.tag(123, "app-consistent-1"));
            for (int i = 120; i < 123; i++) {
                assertThat(offer(log, recs.get(i))).isEqualTo(OfferResult.ACCEPTED);
            }
            log.flush();
            assertThat(log.lastDurableSeq()).isEqualTo(123);
            assertHolds(log, 0, recs, "before close");
        }
        try (IngestLog log = IngestLog.open(dir, "d1", smallSegments())) {
            assertThat(log.lastDurableSeq()).isEqualTo(123);
            assertThat(log.lastAcceptedSeq()).isEqualTo(123);
            assertThat(log.appliedSeq()).isZero();
            assertThat(log.segmentCount()).isGreaterThan(1);
            assertHolds(log, 0, recs, "after reopen");
            assertHolds(log, 100, recs.subList(100, recs.size()), "after reopen, from 100");
            assertThat(log.crcOf(5)).hasValue(recs.get(4).record().crc32c());
        }
    }

    /**
     * The applier re-verifies every record it reads back (one positional read into a reused buffer): a byte
     * flipped in a durable record's payload, or in its header, after it was written is reported as corruption
     * with the file, the position and the reason, never handed to the target; the records before it still read.
     */
    @Test
    void readDurableRefusesARecordDamagedAfterItWasSynced() throws Exception {
        SplittableRandom r = new SplittableRandom(5);
        Path dir = tmp.resolve("log");
        try (IngestLog log = IngestLog.open(dir, "d1", smallSegments())) {
            List<LogFixtures.Rec> recs = new ArrayList<>();
            for (int seq = 1; seq <= 6; seq++) {
                recs.add(LogFixtures.write(seq, 4096L * seq, LogFixtures.data(r, 2048 * seq), false));
                assertThat(offer(log, recs.get(seq - 1))).isEqualTo(OfferResult.ACCEPTED);
            }
            log.flush();
            assertHolds(log, 0, recs, "intact"); // grows and reuses the read buffer
            Path seg = LogFixtures.segments(dir).get(0);
            assertThat(log.segmentCount()).as("all six records in one segment").isEqualTo(1);
            long fifth = SegmentHeader.LENGTH;
            for (int i = 0; i < 4; i++) {
                fifth += SegmentFormat.recordLength(2048 * (i + 1));
            }
            LogFixtures.flipByte(seg, fifth + RecordFraming.PREFIX_LENGTH + SegmentFormat.BODY_HEADER_LENGTH + 1000);
            assertThat(log.readDurable(0, 2048 * 10)).hasSize(4);
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> LogFixtures.readAll(log, 0))
                    .isInstanceOf(CorruptLogException.class)
                    .hasMessageContaining(seg.getFileName().toString())
                    .hasMessageContaining(String.valueOf(fifth))
                    .hasMessageContaining("CRC mismatch");
            LogFixtures.flipByte(seg, fifth + RecordFraming.PREFIX_LENGTH + SegmentFormat.BODY_HEADER_LENGTH + 1000); // repair
            assertHolds(log, 0, recs, "repaired");
            LogFixtures.flipByte(seg, fifth + 2); // the body length word
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> LogFixtures.readAll(log, 4))
                    .isInstanceOf(CorruptLogException.class)
                    .hasMessageContaining("bad record length");
        }
    }

    /**
     * A payload whose CRC the caller vouches for (the session verified it) gets a record CRC derived from that
     * CRC, not from another pass over its bytes: such records read back and survive a restart exactly as computed
     * ones, mixed in any order with compressed writes and tags. And the derivation is really used: a caller that
     * vouches for a wrong CRC gets a record that never verifies (a computed record CRC would have covered the
     * bytes as they are and read back fine, which the last offer shows).
     */
    @Test
    void aRecordCrcDerivedFromTheCheckedDataCrcVerifiesLikeAComputedOne() throws Exception {
        SplittableRandom r = new SplittableRandom(21);
        Path dir = tmp.resolve("log");
        List<LogFixtures.Rec> recs = new ArrayList<>();
        try (IngestLog log = IngestLog.open(dir, "d1", smallSegments())) {
            for (int seq = 1; seq <= 200; seq++) {
                LogFixtures.Rec rec = seq % 7 == 0 ? LogFixtures.tag(seq, "t" + seq)
                        : LogFixtures.write(seq, 512L * r.nextInt(4096), LogFixtures.data(r, 512 * (1 + r.nextInt(40))),
                                seq % 3 == 0);
                recs.add(rec);
                boolean checked = seq % 2 == 0;
                assertThat(log.offer(rec.record(), rec.payload() == null ? null
                        : io.netty.buffer.Unpooled.wrappedBuffer(rec.payload()), checked)).isEqualTo(OfferResult.ACCEPTED);
            }
            log.flush();
            assertHolds(log, 0, recs, "mixed checked and computed record CRCs");
        }
        try (IngestLog log = IngestLog.open(dir, "d1", smallSegments())) {
            assertThat(log.lastDurableSeq()).as("the restart scan verifies every record").isEqualTo(200);
            assertHolds(log, 0, recs, "after reopen");
            byte[] data = LogFixtures.data(r, 4096);
            IngestRecord lying = IngestRecord.write(201, 7, 1_000_201L, 0, 4096, LogFixtures.crc(data) ^ 1, false);
            assertThat(log.offer(lying, io.netty.buffer.Unpooled.wrappedBuffer(data), true)).isEqualTo(OfferResult.ACCEPTED);
            log.flush();
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> LogFixtures.readAll(log, 200))
                    .isInstanceOf(CorruptLogException.class).hasMessageContaining("CRC mismatch");
        }
        try (IngestLog log = IngestLog.open(tmp.resolve("log2"), "d1", smallSegments())) {
            byte[] data = LogFixtures.data(r, 4096);
            IngestRecord lying = IngestRecord.write(1, 7, 1_000_001L, 0, 4096, LogFixtures.crc(data) ^ 1, false);
            assertThat(log.offer(lying, io.netty.buffer.Unpooled.wrappedBuffer(data), false)).isEqualTo(OfferResult.ACCEPTED);
            log.flush();
            List<StoredRecord> read = LogFixtures.readAll(log, 0);
            assertThat(read).hasSize(1);
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> RecordPayloads.decode(read.get(0)))
                    .as("not vouched for: the record verifies, and the data CRC check catches the lie")
                    .hasMessageContaining("fails its data CRC");
        }
    }

    /**
     * The network decoder hands a WRITE's data on as a slice across the decrypted TLS records it arrived in
     * (FrameDecoder's composite cumulation): the log must store such a payload whole and in order, whether it
     * derives the record CRC from the checked data CRC or computes it over the buffers, compressed or not.
     */
    @Test
    void aPayloadSpreadOverSeveralBuffersIsStoredWholeAndInOrder() throws Exception {
        SplittableRandom r = new SplittableRandom(22);
        Path dir = tmp.resolve("log");
        List<LogFixtures.Rec> recs = new ArrayList<>();
        try (IngestLog log = IngestLog.open(dir, "d1", smallSegments())) {
            for (int seq = 1; seq <= 120; seq++) {
                LogFixtures.Rec rec = LogFixtures.write(seq, 512L * r.nextInt(4096),
                        LogFixtures.data(r, 512 * (1 + r.nextInt(40))), seq % 3 == 0);
                recs.add(rec);
                io.netty.buffer.CompositeByteBuf parts = io.netty.buffer.Unpooled.compositeBuffer(Integer.MAX_VALUE);
                byte[] p = rec.payload();
                for (int at = 0; at < p.length; ) {
                    int n = Math.min(p.length - at, 1 + r.nextInt(3000));
                    parts.addComponent(true, r.nextBoolean() ? io.netty.buffer.Unpooled.wrappedBuffer(p, at, n)
                            : io.netty.buffer.Unpooled.directBuffer(n).writeBytes(p, at, n));
                    at += n;
                }
                io.netty.buffer.ByteBuf payload = parts.slice(0, p.length); // a slice, as the decoder hands it on
                assertThat(payload.nioBufferCount()).as("seq %d spread over buffers", seq)
                        .isEqualTo(parts.numComponents());
                assertThat(log.offer(rec.record(), payload, seq % 2 == 0)).isEqualTo(OfferResult.ACCEPTED);
            }
            log.flush();
            assertHolds(log, 0, recs, "payloads offered in several buffers");
        }
        try (IngestLog log = IngestLog.open(dir, "d1", smallSegments())) {
            assertThat(log.lastDurableSeq()).as("the restart scan verifies every record").isEqualTo(120);
            assertHolds(log, 0, recs, "after reopen");
        }
    }

    /**
     * A batch is bounded by what its consumers hold: the decompressed size. Twenty 1 MiB writes of zeros are a
     * few KiB each as stored; a 4 MiB batch must take four of them, not all twenty (the applier and the journal
     * stage hold a batch decompressed, two batches when pipelined; the launcher's demo ran out of heap).
     */
    @Test
    void readDurableBoundsABatchByItsDecompressedSize() throws Exception {
        try (IngestLog log = IngestLog.open(tmp.resolve("log"), "d1", smallSegments())) {
            for (int seq = 1; seq <= 20; seq++) {
                assertThat(offer(log, LogFixtures.write(seq, 0, new byte[1 << 20], true))).isEqualTo(OfferResult.ACCEPTED);
            }
            log.flush();
            List<StoredRecord> batch = log.readDurable(0, 4 << 20);
            assertThat(batch).hasSize(4);
            assertThat(batch.get(0).payload().length).as("stored compressed").isLessThan(64 << 10);
            assertThat(log.readDurable(0, 1)).as("at least one record").hasSize(1);
            assertThat(LogFixtures.readAll(log, 0)).hasSize(20);
        }
    }

    /**
     * A segment may end inside its last record's padding (recovery truncates a torn tail at the end of the last
     * record that verifies, and the padding after it is not part of what the CRC covers): the record still reads.
     */
    @Test
    void aRecordWhosePaddingIsCutOffStillReads() throws Exception {
        SplittableRandom r = new SplittableRandom(8);
        Path dir = tmp.resolve("log");
        LogFixtures.Rec rec = LogFixtures.write(1, 0, LogFixtures.data(r, 1001), false);
        int padding = SegmentFormat.recordLength(1001) - RecordFraming.PREFIX_LENGTH
                - SegmentFormat.BODY_HEADER_LENGTH - 1001;
        assertThat(padding).isPositive();
        try (IngestLog log = IngestLog.open(dir, "d1", smallSegments())) {
            assertThat(offer(log, rec)).isEqualTo(OfferResult.ACCEPTED);
            log.flush();
            Path seg = LogFixtures.segments(dir).get(0);
            try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(seg,
                    java.nio.file.StandardOpenOption.WRITE)) {
                ch.truncate(ch.size() - padding);
            }
            assertHolds(log, 0, List.of(rec), "padding cut off");
            try (DirectPayloadBuffers.Lease lease = new DirectPayloadBuffers(1 << 20).lease()) {
                List<StoredRecord> direct = log.readDurable(0, 4096, lease);
                assertThat(direct.get(0).directPayload()).as("the direct read path too").isNotNull();
                assertThat(RecordPayloads.decode(direct.get(0))).isEqualTo(rec.data());
            }
        }
    }

    @Test
    void classifiesDuplicateConflictAndGap() throws Exception {
        SplittableRandom r = new SplittableRandom(12);
        try (IngestLog log = IngestLog.open(tmp.resolve("log"), "d1", smallSegments())) {
            List<LogFixtures.Rec> recs = offerRandom(log, r, 1, 10);
            LogFixtures.Rec w = LogFixtures.write(11, 0, LogFixtures.data(r, 1024), false);
            assertThat(offer(log, w)).isEqualTo(OfferResult.ACCEPTED);
            // Same seq and CRC: duplicate, whether or not it is durable yet.
            assertThat(offer(log, w)).isEqualTo(OfferResult.DUPLICATE);
            log.flush();
            assertThat(offer(log, w)).isEqualTo(OfferResult.DUPLICATE);
            assertThat(offer(log, recs.get(2))).isEqualTo(OfferResult.DUPLICATE);
            // Same seq, other content.
            assertThat(offer(log, LogFixtures.write(11, 0, LogFixtures.data(r, 1024), false)))
                    .isEqualTo(OfferResult.CONFLICT);
            assertThat(offer(log, LogFixtures.write(3, 0, LogFixtures.data(r, 1024), false)))
                    .isEqualTo(OfferResult.CONFLICT);
            // A tag where a write was (even with the write's CRC) is a conflict.
            LogFixtures.Rec t = LogFixtures.tag(12, "t");
            assertThat(offer(log, t)).isEqualTo(OfferResult.ACCEPTED);
            assertThat(offer(log, t)).isEqualTo(OfferResult.DUPLICATE);
            assertThat(offer(log, LogFixtures.tag(12, "other"))).isEqualTo(OfferResult.CONFLICT);
            // Skipping a seq.
            assertThat(offer(log, LogFixtures.write(14, 0, LogFixtures.data(r, 512), false))).isEqualTo(OfferResult.GAP);
            assertThat(log.lastAcceptedSeq()).isEqualTo(12);
            log.flush();
            assertThat(log.lastDurableSeq()).isEqualTo(12);
        }
    }

    @Test
    void onDurableReportsOnlyFlushedSeqsAndGroupCommits() throws Exception {
        SplittableRandom r = new SplittableRandom(13);
        Path dir = tmp.resolve("log");
        List<Long> reported = new CopyOnWriteArrayList<>();
        List<long[]> violations = new CopyOnWriteArrayList<>();
        try (IngestLog log = IngestLog.open(dir, "d1", IngestLogOptions.builder().build())) {
            log.addListener(new IngestLog.Listener() {
                @Override
                public void onDurable(long durableSeq) {
                    // Must never run ahead of what the log itself reports durable.
                    if (durableSeq > log.lastDurableSeq() || durableSeq > log.lastAcceptedSeq()) {
                        violations.add(new long[] {durableSeq, log.lastDurableSeq()});
                    }
                    reported.add(durableSeq);
                }
            });
            List<LogFixtures.Rec> recs = new ArrayList<>();
            for (int i = 1; i <= 1000; i++) {
                LogFixtures.Rec rec = LogFixtures.write(i, 0, LogFixtures.data(r, 512), false);
                recs.add(rec);
            }
            for (LogFixtures.Rec rec : recs) {
                assertThat(offer(log, rec)).isEqualTo(OfferResult.ACCEPTED);
            }
            log.flush();
            assertThat(log.lastDurableSeq()).isEqualTo(1000);
            assertThat(reported).as("onDurable calls").isNotEmpty();
            assertThat(reported.get(reported.size() - 1)).isEqualTo(1000);
            assertThat(reported).as("onDurable seqs increase").isSorted();
            assertThat(violations).as("onDurable ahead of lastDurableSeq").isEmpty();
            // Group commit: one sync covers many records.
            assertThat(reported.size()).as("onDurable calls for 1000 records: %s", reported.size()).isLessThan(200);
        }
        // Everything reported durable is there after reopen.
        try (IngestLog log = IngestLog.open(dir, "d1", IngestLogOptions.builder().build())) {
            assertThat(log.lastDurableSeq()).isEqualTo(1000);
        }
    }

    @Test
    void markAppliedDeletesSegmentsAndReopenContinues() throws Exception {
        SplittableRandom r = new SplittableRandom(14);
        Path dir = tmp.resolve("log");
        AtomicInteger appliedCalls = new AtomicInteger();
        long last;
        try (IngestLog log = IngestLog.open(dir, "d1", smallSegments())) {
            log.addListener(new IngestLog.Listener() {
                @Override
                public void onApplied(long appliedSeq) {
                    appliedCalls.incrementAndGet();
                }
            });
            List<LogFixtures.Rec> recs = offerRandom(log, r, 1, 200);
            log.flush();
            last = log.lastDurableSeq();
            int segments = log.segmentCount();
            assertThat(segments).as("segments rolled").isGreaterThanOrEqualTo(4);
            assertThat(log.backlogBytes()).isPositive();
            long before = log.backlogBytes();
            log.markApplied(50);
            assertThat(log.backlogBytes()).isLessThan(before);
            assertThat(log.appliedSeq()).isEqualTo(50);
            assertHolds(log, 50, recs.subList(50, recs.size()), "after applying 50");
            log.markApplied(last);
            assertThat(log.segmentCount()).as("only the current segment is kept").isEqualTo(1);
            assertThat(log.backlogBytes()).isZero();
            assertThat(log.crcOf(10)).isEmpty();
            assertThat(appliedCalls).hasValue(2);
            try (var files = java.nio.file.Files.list(dir)) {
                assertThat(files.filter(p -> LogFileNames.isSegment(SegmentKind.INGEST, p.getFileName().toString())).count())
                        .isEqualTo(1);
            }
        }
        try (IngestLog log = IngestLog.open(dir, "d1", smallSegments())) {
            assertThat(log.appliedSeq()).isEqualTo(last);
            assertThat(log.lastDurableSeq()).isEqualTo(last);
            assertThat(log.backlogBytes()).isZero();
            // Records at or below the applied point are acknowledged again, not stored.
            assertThat(offer(log, LogFixtures.write(last, 0, LogFixtures.data(r, 512), false)))
                    .isEqualTo(OfferResult.DUPLICATE);
            assertThat(offer(log, LogFixtures.write(last + 2, 0, LogFixtures.data(r, 512), false)))
                    .isEqualTo(OfferResult.GAP);
            List<LogFixtures.Rec> more = offerRandom(log, r, last + 1, 40);
            log.flush();
            assertThat(log.lastDurableSeq()).isEqualTo(last + 40);
            assertHolds(log, last, more, "continued after reopen");
        }
        try (IngestLog log = IngestLog.open(dir, "d1", smallSegments())) {
            assertThat(log.lastDurableSeq()).isEqualTo(last + 40);
            assertThat(log.appliedSeq()).isEqualTo(last);
        }
    }
    @Test
    void indexStaysRightAcrossCompactionOfAppliedEntries() throws Exception {
        SplittableRandom r = new SplittableRandom(15);
        Path dir = tmp.resolve("log");
        IngestLogOptions options = IngestLogOptions.builder().segmentBytes(256 * 1024).build();
        List<LogFixtures.Rec> recs = new ArrayList<>();
        try (IngestLog log = IngestLog.open(dir, "d1", options)) {
            for (int round = 0; round < 6; round++) {
                for (int i = 0; i < 1500; i++) {
                    long seq = recs.size() + 1;
                    LogFixtures.Rec rec = i % 7 == 0 ? LogFixtures.tag(seq, "t" + seq)
                            : LogFixtures.write(seq, 512L * (seq % 100), LogFixtures.data(r, 512), false);
                    assertThat(offer(log, rec)).isEqualTo(OfferResult.ACCEPTED);
                    recs.add(rec);
                }
                log.flush();
                long applyTo = recs.size() - 700;
                log.markApplied(applyTo);
                // Held records are still classified by their own CRC and read back right.
                for (long seq = applyTo + 1; seq <= recs.size(); seq += 97) {
                    LogFixtures.Rec held = recs.get((int) seq - 1);
                    assertThat(log.crcOf(seq)).hasValue(held.record().crc32c());
                    assertThat(offer(log, held)).as("seq %d", seq).isEqualTo(OfferResult.DUPLICATE);
                    assertThat(offer(log, LogFixtures.tag(seq, "other"))).isEqualTo(OfferResult.CONFLICT);
                }
                assertThat(log.crcOf(applyTo)).isEmpty();
                // "At least one record if any", even with a tiny byte budget.
                assertThat(log.readDurable(applyTo, 1)).hasSize(1)
                        .first().satisfies(s -> assertThat(s.record().seq()).isEqualTo(applyTo + 1));
                assertHolds(log, applyTo, recs.subList((int) applyTo, recs.size()), "round " + round);
            }
        }
        try (IngestLog log = IngestLog.open(dir, "d1", options)) {
            assertThat(log.lastDurableSeq()).isEqualTo(recs.size());
            assertThat(log.appliedSeq()).isEqualTo(recs.size() - 700);
            assertHolds(log, recs.size() - 700, recs.subList(recs.size() - 700, recs.size()), "after reopen");
        }
    }

    /**
     * The applied point is persisted at most once a second while no segment is freed (a sync each time cost a third
     * of the apply path's fsyncs), but always before a segment is deleted, and at close.
     */
    @Test
    void theAppliedPointIsPersistedBeforeSegmentsGoAndAtCloseNotOnEveryBatch() throws Exception {
        SplittableRandom r = new SplittableRandom(21);
        Path dir = tmp.resolve("log");
        try (IngestLog log = IngestLog.open(dir, "d1", smallSegments())) {
            offerRandom(log, r, 1, 120);
            log.flush();
            assertThat(log.segmentCount()).isGreaterThan(2);
            log.markApplied(1); // nothing freed, first persist since open is due only after a second
            log.markApplied(2);
            assertThat(persistedApplied(dir)).as("not rewritten for every batch").isLessThan(2);
            int before = log.segmentCount();
            log.markApplied(119); // frees every segment but the current one
            assertThat(log.segmentCount()).isLessThan(before);
            assertThat(persistedApplied(dir)).as("persisted before segments were deleted").isEqualTo(119);
            log.markApplied(120);
            assertThat(persistedApplied(dir)).isEqualTo(119);
        }
        assertThat(persistedApplied(dir)).as("persisted at close").isEqualTo(120);
        try (IngestLog log = IngestLog.open(dir, "d1", smallSegments())) {
            assertThat(log.appliedSeq()).isEqualTo(120);
        }
    }

    private static long persistedApplied(Path dir) throws Exception {
        Path f = dir.resolve(LogFileNames.APPLIED);
        return java.nio.file.Files.exists(f) ? java.nio.ByteBuffer.wrap(java.nio.file.Files.readAllBytes(f)).getLong() : 0;
    }
}
