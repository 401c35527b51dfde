package io.mtagent.agent.journal;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The journal's index against a brute-force model of every record: a journal of ~40 small segments read through
 * an index cache far smaller than the index (so lookups evict and reload index files), before and after a
 * restart, with damaged, stale and missing index files, and after pruning. Every lookup a view, a rollback or a
 * time resolution makes must give the model's answer, and the cache must stay within its budget.
 */
class JournalIndexTest {
    private static final long SEGMENT = 64 << 10;
    private static final int DISK = 256 << 10;
    private static final int RECORDS = 1500;
    /** Crash, app, group tags and the resync markers (SPEC.md §12): each must come back as the kind it was. */
    private static final int[] TAG_TYPES = {1, 2, 3, 0x41, 0x42, 0x43, 0x44};

    @TempDir
    Path tmp;

    /** One journaled record as the model keeps it. */
    private record Rec(long seq, long ts, boolean image, long offset, byte[] data, String name, int tagType) {
    }

    private final List<Rec> model = new ArrayList<>();

    private Path write(IndexCache cache) throws IOException {
        Path dir = tmp.resolve("j");
        SplittableRandom r = new SplittableRandom(42);
        long ts = 1_000_000;
        try (RetentionJournal j = RetentionJournal.open(dir, SEGMENT, cache)) {
            for (long seq = 1; seq <= RECORDS; seq++) {
                ts += r.nextInt(3) * 1000; // non-decreasing, with repeats
                if (seq % 25 == 0) {
                    int tagType = TAG_TYPES[r.nextInt(TAG_TYPES.length)];
                    j.appendPoint(seq, ts, tagType, "tag-" + seq);
                    model.add(new Rec(seq, ts, false, 0, null, "tag-" + seq, tagType));
                } else {
                    byte[] data = new byte[512 * (1 + r.nextInt(16))];
                    r.nextBytes(data);
                    long off = 512L * r.nextInt((DISK - data.length) / 512 + 1);
                    j.appendBeforeImage(seq, ts, off, ByteBuffer.wrap(data));
                    model.add(new Rec(seq, ts, true, off, data, null, 0));
                }
                if (seq % 13 == 0) {
                    j.sync();
                }
            }
            j.sync();
        }
        return dir;
    }

    private static long countFiles(Path dir, String suffix) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(p -> p.getFileName().toString().endsWith(suffix)).count();
        }
    }

    /** Checks every kind of lookup at random points and ranges against the model. */
    private void checkAgainstModel(RetentionJournal j, long earliest, SplittableRandom r) throws IOException {
        List<Rec> live = model.stream().filter(x -> x.seq() > earliest).toList();
        assertThat(j.lastSeq()).isEqualTo(RECORDS);
        assertThat(j.points()).extracting(p -> p.seq() + " " + p.kind() + " " + p.name() + " " + p.timestampMicros())
                .containsExactlyElementsOf(live.stream().filter(x -> !x.image()).map(x -> x.seq() + " "
                        + RecoveryPoint.Kind.ofTag(x.tagType()) + " " + x.name() + " " + x.ts()).toList());
        for (int k = 0; k < 60; k++) {
            long point = earliest + r.nextLong(RECORDS - earliest + 1);
            // overlay: every sector gets the earliest before-image with seq > point, else stays as it was
            int len = 512 * (1 + r.nextInt(64));
            long off = 512L * r.nextInt((DISK - len) / 512 + 1);
            byte[] buf = new byte[len];
            Arrays.fill(buf, (byte) 0x5a);
            byte[] expected = buf.clone();
            boolean[] set = new boolean[len / 512];
            long[] earliestSeq = new long[len / 512];
            for (Rec x : live) {
                if (!x.image() || x.seq() <= point) {
                    continue;
                }
                for (long s = Math.max(off, x.offset()); s < Math.min(off + len, x.offset() + x.data().length); s += 512) {
                    int sector = (int) ((s - off) / 512);
                    if (!set[sector]) {
                        System.arraycopy(x.data(), (int) (s - x.offset()), expected, (int) (s - off), 512);
                        set[sector] = true;
                        earliestSeq[sector] = x.seq();
                    }
                }
            }
            j.overlayAfter(point, off, buf);
            assertThat(Arrays.mismatch(buf, expected)).as("overlay at point %d of [%d, +%d)", point, off, len).isEqualTo(-1);
            // the extents behind it: disjoint, sorted, each sector from its earliest image after the point, the
            // uncovered sectors absent
            ViewExtents extents = ViewExtents.resolve(j, point, off, off + len);
            long[] extentSeq = new long[len / 512];
            long end = off;
            for (ViewExtents.Extent e : extents.extents()) {
                assertThat(e.offset()).as("extents sorted and disjoint").isGreaterThanOrEqualTo(end);
                end = e.offset() + e.length();
                for (long s = e.offset(); s < end; s += 512) {
                    extentSeq[(int) ((s - off) / 512)] = e.image().seq();
                }
            }
            assertThat(extentSeq).as("image seq per sector at point %d of [%d, +%d)", point, off, len)
                    .containsExactly(earliestSeq);

            // rollback's walk: every before-image above the point, in both orders, with its bytes
            List<Long> seqs = new ArrayList<>();
            j.forEachImageAfter(point, false, img -> {
                seqs.add(img.seq());
                Rec x = model.get((int) img.seq() - 1);
                assertThat(j.image(img)).isEqualTo(x.data());
            });
            List<Long> want = live.stream().filter(x -> x.image() && x.seq() > point).map(Rec::seq).toList();
            assertThat(seqs).isEqualTo(want);
            List<Long> desc = new ArrayList<>();
            j.forEachImageAfter(point, true, img -> desc.add(img.seq()));
            List<Long> wantDesc = new ArrayList<>(want);
            java.util.Collections.reverse(wantDesc);
            assertThat(desc).isEqualTo(wantDesc);
            long bytes = live.stream().filter(x -> x.image() && x.seq() > point).mapToLong(x -> x.data().length).sum();
            assertThat(j.imagesAfter(point)).containsExactly(want.size(), bytes);

            // time → seq and seq → time
            long t = model.get((int) point - 1).ts() + r.nextInt(3) * 1000 - 1000;
            long at = live.stream().filter(x -> x.ts() <= t).mapToLong(Rec::seq).max().orElse(0);
            if (at > 0) {
                assertThat(j.seqAtOrBefore(t)).as("seq at or before %d", t).isEqualTo(at);
            }
            if (point > earliest) {
                assertThat(j.timestampOf(point)).isEqualTo(model.get((int) point - 1).ts());
            }
        }
    }

    @Test
    void lookupsThroughASmallCacheMatchTheModelAcrossRestartsAndIndexDamage() throws IOException {
        IndexCache cache = new IndexCache(48 << 10); // a few segments' worth: lookups must evict and reload
        Path dir = write(cache);
        long segments = countFiles(dir, ".jrn");
        assertThat(segments).as("enough segments to exercise the index").isGreaterThan(30);
        assertThat(countFiles(dir, ".idx")).as("every sealed segment has its index").isEqualTo(segments - 1);

        SplittableRandom r = new SplittableRandom(7);
        try (RetentionJournal j = RetentionJournal.open(dir, SEGMENT, cache)) {
            long before = cache.loads();
            checkAgainstModel(j, 0, r);
            assertThat(cache.loads() - before).as("index files were read back (the cache is smaller than the index)")
                    .isGreaterThan(segments);
            assertThat(cache.bytes()).as("cache within budget").isLessThanOrEqualTo(48 << 10);
        }

        // A damaged index (header), one with damaged entries, a stale one (another segment's) and a missing one are each rebuilt from the segment.
        Path idx3 = SegmentIndex.fileOf(dir, 3);
        byte[] b = Files.readAllBytes(idx3);
        b[70] ^= 1;
        Files.write(idx3, b);
        Files.copy(SegmentIndex.fileOf(dir, 6), SegmentIndex.fileOf(dir, 5), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        Files.delete(SegmentIndex.fileOf(dir, 9));
        Path idx12 = SegmentIndex.fileOf(dir, 12); // entries damaged, header fine: found when the entries are loaded
        byte[] b12 = Files.readAllBytes(idx12);
        b12[b12.length - 30] ^= 1;
        Files.write(idx12, b12);
        Files.write(SegmentIndex.fileOf(dir, 999), new byte[] {1, 2, 3}); // an orphan
        try (RetentionJournal j = RetentionJournal.open(dir, SEGMENT, cache)) {
            checkAgainstModel(j, 0, r);
        }
        assertThat(SegmentIndex.fileOf(dir, 9)).as("rebuilt at open").exists();
        assertThat(SegmentIndex.fileOf(dir, 999)).as("orphan removed").doesNotExist();

        // An index lost while the journal is open is rebuilt on the next lookup that needs it.
        try (RetentionJournal j = RetentionJournal.open(dir, SEGMENT, new IndexCache(1))) {
            Files.delete(SegmentIndex.fileOf(dir, 4));
            checkAgainstModel(j, 0, r);
            assertThat(SegmentIndex.fileOf(dir, 4)).exists();

            // Pruning drops whole segments with their index files; what is left still matches the model.
            for (int i = 0; i < 10; i++) {
                assertThat(j.pruneOldestSegment()).isTrue();
            }
            long earliest = j.earliestSeq();
            assertThat(earliest).isGreaterThan(0);
            assertThat(j.earliestTimestampMicros()).isEqualTo(model.get((int) earliest - 1).ts());
            assertThat(countFiles(dir, ".idx")).isEqualTo(countFiles(dir, ".jrn") - 1);
            checkAgainstModel(j, earliest, r);
        }
        try (RetentionJournal j = RetentionJournal.open(dir, SEGMENT, cache)) {
            checkAgainstModel(j, j.earliestSeq(), r);
            assertThat(j.verifyOnline(n -> { })).isNull();
        }
    }

    @Test
    void aJournalLargerThanTheCacheKeepsMemoryFlat() throws IOException {
        // The bound in numbers: index bytes held stay within the budget however many segments there are.
        IndexCache cache = new IndexCache(16 << 10);
        Path dir = write(cache);
        try (RetentionJournal j = RetentionJournal.open(dir, SEGMENT, cache)) {
            byte[] buf = new byte[DISK];
            for (long p = 0; p < RECORDS; p += 100) {
                j.overlayAfter(p, 0, buf);
                assertThat(cache.bytes()).isLessThanOrEqualTo(16 << 10);
            }
        }
    }
}
