package io.mtagent.agent.ingest;

import static io.mtagent.agent.ingest.LogFixtures.offer;
import static io.mtagent.agent.ingest.LogFixtures.smallSegments;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mtagent.agent.log.CorruptLogException;
import io.mtagent.agent.log.RecordFraming;
import io.mtagent.agent.log.SegmentHeader;
import io.mtagent.nativeio.AlignedBufferPool;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The applier's direct read path ({@link IngestLog#readDurable(long, int, DirectPayloadBuffers.Lease)}): the same
 * records, bytes and CRCs as the heap path, each write's payload at the start of an aligned buffer, and the same
 * refusal of a record damaged after it was synced (a record whose padding is cut off: IngestLogTest).
 */
class IngestLogDirectPayloadTest {
    @TempDir
    Path tmp;

    /** Every record read both ways, batch by batch, with a lease big enough for all: identical, writes direct. */
    @Test
    void directReadsMatchHeapReadsAndPayloadsStartAligned() throws Exception {
        SplittableRandom r = new SplittableRandom(41);
        DirectPayloadBuffers buffers = new DirectPayloadBuffers(64 << 20);
        try (IngestLog log = IngestLog.open(tmp.resolve("log"), "d1", smallSegments())) {
            List<LogFixtures.Rec> recs = new ArrayList<>(LogFixtures.offerRandom(log, r, 1, 150));
            // odd lengths (padding after the payload), a large write, an incompressible compressed one
            recs.add(LogFixtures.write(151, 0, LogFixtures.data(r, 1001), true));
            recs.add(LogFixtures.write(152, 4096, LogFixtures.data(r, 60 << 10), false));
            recs.add(LogFixtures.write(153, 0, LogFixtures.data(r, 3), false));
            for (LogFixtures.Rec rec : recs.subList(150, 153)) {
                assertThat(offer(log, rec)).isEqualTo(OfferResult.ACCEPTED);
            }
            log.flush();
            long after = 0;
            int seen = 0;
            int direct = 0;
            while (true) {
                List<StoredRecord> heap = log.readDurable(after, 32 << 10);
                if (heap.isEmpty()) {
                    break;
                }
                try (DirectPayloadBuffers.Lease lease = buffers.lease()) {
                    List<StoredRecord> got = log.readDurable(after, 32 << 10, lease);
                    assertThat(got).hasSameSizeAs(heap);
                    for (int i = 0; i < got.size(); i++) {
                        StoredRecord h = heap.get(i);
                        StoredRecord d = got.get(i);
                        LogFixtures.Rec want = recs.get(seen++);
                        assertThat(d.record()).isEqualTo(h.record()).isEqualTo(want.record());
                        assertThat(d.payloadCrc()).isEqualTo(h.payloadCrc());
                        if (want.record().type() == IngestRecord.Type.TAG) {
                            assertThat(d.directPayload()).as("tags stay on the heap").isNull();
                            assertThat(d.payload()).isEqualTo(h.payload());
                            continue;
                        }
                        direct++;
                        assertThat(d.payload()).as("seq %d: no heap copy", want.record().seq()).isNull();
                        ByteBuffer p = d.directPayload();
                        assertThat(AlignedBufferPool.isAligned(p, 4096)).as("seq %d aligned", want.record().seq())
                                .isTrue();
                        assertThat(p.position()).isZero();
                        byte[] bytes = new byte[p.remaining()];
                        p.duplicate().get(bytes);
                        assertThat(bytes).as("seq %d: stored bytes", want.record().seq()).isEqualTo(want.payload());
                        assertThat(RecordPayloads.decode(d)).as("seq %d: data", want.record().seq())
                                .isEqualTo(want.data());
                        ByteBuffer asStored = RecordPayloads.storedAsIs(d);
                        if (want.record().compressed()) {
                            assertThat(asStored).isNull();
                        } else {
                            assertThat(asStored).isEqualTo(ByteBuffer.wrap(want.data()));
                        }
                    }
                }
                after = heap.get(heap.size() - 1).record().seq();
            }
            assertThat(seen).isEqualTo(153);
            assertThat(direct).isGreaterThan(100);
        }
        assertThat(buffers.inUseBytes()).isZero();
    }

    /** A batch below the budget's minimum reads onto the heap, all of it. */
    @Test
    void aSmallBatchStaysOnTheHeapWhenTheBudgetAsksForBigOnes() throws Exception {
        SplittableRandom r = new SplittableRandom(45);
        DirectPayloadBuffers buffers = new DirectPayloadBuffers(8 << 20, 64 << 10);
        try (IngestLog log = IngestLog.open(tmp.resolve("log"), "d1", smallSegments())) {
            for (int seq = 1; seq <= 20; seq++) {
                assertThat(offer(log, LogFixtures.write(seq, 0, LogFixtures.data(r, 4096), false)))
                        .isEqualTo(OfferResult.ACCEPTED);
            }
            log.flush();
            try (DirectPayloadBuffers.Lease lease = buffers.lease()) {
                assertThat(log.readDurable(0, 16 << 10, lease)).as("16 KiB batch").allMatch(s -> s.directPayload() == null);
                assertThat(log.readDurable(0, 1 << 20, lease)).as("80 KiB batch").hasSize(20)
                        .allMatch(s -> s.directPayload() != null);
            }
        }
    }

    /** A budget with room for two payloads: the rest of the batch reads onto the heap, just as right. */
    @Test
    void aFullBudgetSendsTheRestOfTheBatchToTheHeap() throws Exception {
        SplittableRandom r = new SplittableRandom(42);
        DirectPayloadBuffers buffers = new DirectPayloadBuffers(8 << 10);
        try (IngestLog log = IngestLog.open(tmp.resolve("log"), "d1", smallSegments())) {
            List<LogFixtures.Rec> recs = new ArrayList<>();
            for (int seq = 1; seq <= 5; seq++) {
                recs.add(LogFixtures.write(seq, 4096L * seq, LogFixtures.data(r, 4096), false));
                assertThat(offer(log, recs.get(seq - 1))).isEqualTo(OfferResult.ACCEPTED);
            }
            log.flush();
            try (DirectPayloadBuffers.Lease lease = buffers.lease()) {
                List<StoredRecord> got = log.readDurable(0, 1 << 20, lease);
                assertThat(got).hasSize(5);
                assertThat(got.stream().filter(s -> s.directPayload() != null).count()).isEqualTo(2);
                for (int i = 0; i < 5; i++) {
                    assertThat(RecordPayloads.decode(got.get(i))).isEqualTo(recs.get(i).data());
                }
            }
        }
    }

    /** Damage found by the direct path is reported like the heap path's, with file, position and reason. */
    @Test
    void theDirectPathRefusesARecordDamagedAfterItWasSynced() throws Exception {
        SplittableRandom r = new SplittableRandom(43);
        Path dir = tmp.resolve("log");
        DirectPayloadBuffers buffers = new DirectPayloadBuffers(8 << 20);
        try (IngestLog log = IngestLog.open(dir, "d1", smallSegments())) {
            for (int seq = 1; seq <= 3; seq++) {
                assertThat(offer(log, LogFixtures.write(seq, 0, LogFixtures.data(r, 2048), false)))
                        .isEqualTo(OfferResult.ACCEPTED);
            }
            log.flush();
            Path seg = LogFixtures.segments(dir).get(0);
            long third = SegmentHeader.LENGTH + 2L * SegmentFormat.recordLength(2048);
            long[][] damage = {
                {third + RecordFraming.PREFIX_LENGTH + SegmentFormat.BODY_HEADER_LENGTH + 100}, // payload
                {third + RecordFraming.PREFIX_LENGTH + 48}, // the body header's target length
                {third + RecordFraming.PREFIX_LENGTH + 8}, // the incarnation
                {third + 2}, // the body length word
            };
            String[] reasons = {"CRC mismatch", "CRC mismatch", "CRC mismatch", "bad record length"};
            for (int i = 0; i < damage.length; i++) {
                LogFixtures.flipByte(seg, damage[i][0]);
                try (DirectPayloadBuffers.Lease lease = buffers.lease()) {
                    assertThat(log.readDurable(0, 4096, lease)).as("the two before it still read").hasSize(2);
                    assertThatThrownBy(() -> log.readDurable(2, 4096, lease))
                            .isInstanceOf(CorruptLogException.class)
                            .hasMessageContaining(seg.getFileName().toString())
                            .hasMessageContaining(String.valueOf(third))
                            .hasMessageContaining(reasons[i]);
                }
                LogFixtures.flipByte(seg, damage[i][0]); // repair
                try (DirectPayloadBuffers.Lease lease = buffers.lease()) {
                    assertThat(log.readDurable(2, 4096, lease)).as("repaired").hasSize(1);
                }
            }
        }
        assertThat(buffers.inUseBytes()).isZero();
    }
}
