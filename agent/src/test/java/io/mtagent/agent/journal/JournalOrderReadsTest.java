package io.mtagent.agent.journal;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The journal reads a streamed view (an export) issues: for the extents of a whole section, whose before-images lie
 * scattered over several segments in an order unrelated to their disk offsets, the reads go through each segment in
 * ascending position, never overlap, join records that lie close together into one request (counted: far fewer
 * requests than records), stay under the request cap, and read every needed record exactly once.
 */
class JournalOrderReadsTest {
    private static final int K = 1024;

    @Test
    void readsGoThroughTheJournalInFileOrderCoalescedAndReadEveryRecordOnce() {
        SplittableRandom rnd = new SplittableRandom(25);
        List<RetentionJournal.ImageRef> records = new ArrayList<>();
        for (long segment = 1; segment <= 3; segment++) {
            long position = 64;
            for (int i = 0; i < 300; i++) { // 64 KiB images, some skipped between needed ones (gaps of 0..3 records)
                position += (long) (rnd.nextBoolean() ? 0 : 1 + rnd.nextInt(3)) * JournalFormat.recordLength(64 * K);
                records.add(new RetentionJournal.ImageRef(records.size() + 1, 0, 0, 64 * K, segment, position, 0));
                position += JournalFormat.recordLength(64 * K);
            }
        }
        // Each record supplies one extent; the disk offsets are shuffled against the journal order.
        List<Long> offsets = new ArrayList<>();
        for (int i = 0; i < records.size(); i++) {
            offsets.add((long) i * 64 * K);
        }
        Collections.shuffle(offsets, new java.util.Random(25));
        List<ViewExtents.Extent> extents = new ArrayList<>();
        for (int i = 0; i < records.size(); i++) {
            RetentionJournal.ImageRef r = records.get(i);
            RetentionJournal.ImageRef placed = new RetentionJournal.ImageRef(r.seq(), 0, offsets.get(i), r.length(),
                    r.segment(), r.position(), 0);
            extents.add(new ViewExtents.Extent(offsets.get(i), 64 * K, placed));
        }
        extents.sort((a, b) -> Long.compare(a.offset(), b.offset())); // as a resolution lists them

        List<long[]> reads = ImageRuns.readPlan(extents);

        for (int i = 1; i < reads.size(); i++) {
            long[] a = reads.get(i - 1);
            long[] b = reads.get(i);
            assertThat(b[0] > a[0] || (b[0] == a[0] && b[1] >= a[2]))
                    .as("read %d (segment %d at %d) comes after read %d (segment %d, ends at %d)", i, b[0], b[1],
                            i - 1, a[0], a[2]).isTrue();
        }
        assertThat(reads).allSatisfy(r -> assertThat(r[2] - r[1]).isLessThanOrEqualTo(ImageRuns.STREAM_MAX_RUN));
        // Coalesced: two needed records next to each other share a read unless the cap split them; records an
        // unneeded one apart (more than the gap) do not.
        int joined = 0;
        for (int i = 1; i < records.size(); i++) {
            RetentionJournal.ImageRef a = records.get(i - 1);
            RetentionJournal.ImageRef b = records.get(i);
            long[] readA = readHolding(reads, a);
            long[] readB = readHolding(reads, b);
            long aEnd = a.position() + JournalFormat.recordLength(a.length());
            if (a.segment() == b.segment() && b.position() - aEnd <= ImageRuns.STREAM_MAX_GAP) {
                assertThat(readA == readB || readA[2] - readA[1] + JournalFormat.recordLength(b.length())
                        > ImageRuns.STREAM_MAX_RUN).as("adjacent records at %d and %d share a read", a.position(),
                        b.position()).isTrue();
                joined += readA == readB ? 1 : 0;
            } else {
                assertThat(readA).as("records %d bytes apart", b.position() - aEnd).isNotSameAs(readB);
            }
        }
        assertThat(reads).as("requests for %d records", records.size()).hasSize(records.size() - joined);
        assertThat(joined).as("records read with the one before").isGreaterThan(records.size() / 3);
        for (RetentionJournal.ImageRef r : records) {
            long end = r.position() + JournalFormat.recordLength(r.length());
            long readsHolding = reads.stream()
                    .filter(x -> x[0] == r.segment() && x[1] <= r.position() && end <= x[2]).count();
            assertThat(readsHolding).as("reads holding the record at %d of segment %d", r.position(), r.segment())
                    .isEqualTo(1);
        }
    }

    private static long[] readHolding(List<long[]> reads, RetentionJournal.ImageRef r) {
        long end = r.position() + JournalFormat.recordLength(r.length());
        return reads.stream().filter(x -> x[0] == r.segment() && x[1] <= r.position() && end <= x[2]).findFirst()
                .orElseThrow();
    }

    @Test
    void aLaterResolutionAddsOnlyTheBytesTheEarlierOneLeftUncovered() {
        RetentionJournal.ImageRef old = new RetentionJournal.ImageRef(5, 0, 0, 8 * K, 1, 64, 0);
        RetentionJournal.ImageRef late = new RetentionJournal.ImageRef(9, 0, 0, 64 * K, 1, 9000, 0);
        ViewExtents earlier = ViewExtents.of(0, 64 * K, List.of(new ViewExtents.Extent(4 * K, 2 * K, old),
                new ViewExtents.Extent(10 * K, 2 * K, old)));
        ViewExtents later = ViewExtents.of(0, 64 * K, List.of(new ViewExtents.Extent(0, 4 * K, late),
                new ViewExtents.Extent(4 * K, 2 * K, old), new ViewExtents.Extent(6 * K, 4 * K, late),
                new ViewExtents.Extent(10 * K, 2 * K, old), new ViewExtents.Extent(12 * K, 52 * K, late)));
        assertThat(later.beyond(earlier)).extracting(e -> List.of(e.offset(), (long) e.length(), e.image().seq()))
                .containsExactly(List.of(0L, 4L * K, 9L), List.of(6L * K, 4L * K, 9L), List.of(12L * K, 52L * K, 9L));
        assertThat(later.beyond(later)).isEmpty();
        assertThat(later.beyond(ViewExtents.of(0, 64 * K, List.of()))).hasSize(5);
    }
}
