package io.mtagent.agent.journal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mtagent.agent.log.CorruptLogException;
import io.mtagent.agent.log.LogFileNames;
import io.mtagent.agent.log.SegmentHeader;
import io.mtagent.agent.log.SegmentKind;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Journal damage in the etcd/BookKeeper style: a truncated length word, a torn last record, a junk tail and a
 * stale record after the tail are all cut off at open (after the checkpoint: a crash), and the journal goes on;
 * a flipped byte before the checkpoint is corruption, refused until repaired.
 */
class RetentionJournalRecoveryTest {
    private static final long SEGMENT = 64 << 10;
    private static final int N = 120;

    @TempDir
    Path tmp;

    /** Writes N records (before-images and a point every 10th), closes, returns the directory. */
    private Path journal(String name) throws IOException {
        Path dir = tmp.resolve(name);
        SplittableRandom r = new SplittableRandom(name.hashCode());
        try (RetentionJournal j = RetentionJournal.open(dir, SEGMENT)) {
            for (long seq = 1; seq <= N; seq++) {
                if (seq % 10 == 0) {
                    j.appendPoint(seq, seq * 1000, 1, "p" + seq);
                } else {
                    byte[] image = new byte[512 * (1 + r.nextInt(8))];
                    r.nextBytes(image);
                    j.appendBeforeImage(seq, seq * 1000, 512L * r.nextInt(64), ByteBuffer.wrap(image));
                }
                if (seq % 7 == 0) {
                    j.sync();
                }
            }
            j.sync();
        }
        return dir;
    }

    private static Path lastSegment(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            List<Path> segs = s.filter(p -> LogFileNames.isSegment(SegmentKind.JOURNAL, p.getFileName().toString())).sorted().toList();
            return segs.get(segs.size() - 1);
        }
    }

    /** Moves the checkpoint back to the start of the last segment: what follows it is an unsynced tail. */
    private static void checkpointAtStartOfLastSegment(Path dir) throws IOException {
        long index = LogFileNames.indexOf(lastSegment(dir).getFileName().toString());
        ByteBuffer b = ByteBuffer.allocate(28).putLong(index).putLong(SegmentHeader.LENGTH).putLong(0);
        CRC32C c = new CRC32C();
        c.update(b.array(), 0, 24);
        b.putInt((int) c.getValue());
        Files.write(dir.resolve(LogFileNames.CHECKPOINT), b.array());
    }

    /** Record start offsets in a segment. */
    private static long[] recordStarts(Path seg) throws IOException {
        try (FileChannel ch = FileChannel.open(seg, StandardOpenOption.READ)) {
            long[] out = new long[4096];
            int n = 0;
            long pos = SegmentHeader.LENGTH;
            ByteBuffer prefix = ByteBuffer.allocate(4);
            while (pos + 8 <= ch.size()) {
                prefix.clear();
                ch.read(prefix, pos);
                int body = prefix.getInt(0);
                out[n++] = pos;
                pos += (8 + body + 7) & ~7;
            }
            return java.util.Arrays.copyOf(out, n);
        }
    }

    private static void truncate(Path f, long size) throws IOException {
        try (FileChannel ch = FileChannel.open(f, StandardOpenOption.WRITE)) {
            ch.truncate(size);
        }
    }

    private static void assertRecoversTo(Path dir, long expectedLast) throws IOException {
        try (RetentionJournal j = RetentionJournal.open(dir, SEGMENT)) {
            assertThat(j.lastSeq()).isEqualTo(expectedLast);
            // and it goes on: more records, then a reopen keeps all of them
            for (long seq = expectedLast + 1; seq <= expectedLast + 5; seq++) {
                j.appendBeforeImage(seq, seq * 1000, 0, ByteBuffer.wrap(new byte[512]));
            }
            j.sync();
        }
        try (RetentionJournal j = RetentionJournal.open(dir, SEGMENT)) {
            assertThat(j.lastSeq()).isEqualTo(expectedLast + 5);
        }
    }

    @Test
    void truncatedLengthWord() throws IOException {
        Path dir = journal("len");
        Path seg = lastSegment(dir);
        long[] starts = recordStarts(seg);
        truncate(seg, starts[starts.length - 1] + 3);
        checkpointAtStartOfLastSegment(dir);
        assertRecoversTo(dir, N - 1);
    }

    @Test
    void tornLastRecord() throws IOException {
        Path dir = journal("torn");
        Path seg = lastSegment(dir);
        long[] starts = recordStarts(seg);
        truncate(seg, starts[starts.length - 1] + 8 + 30);
        checkpointAtStartOfLastSegment(dir);
        assertRecoversTo(dir, N - 1);
    }

    @Test
    void junkTail() throws IOException {
        Path dir = journal("junk");
        byte[] junk = new byte[777];
        new SplittableRandom(5).nextBytes(junk);
        Files.write(lastSegment(dir), junk, StandardOpenOption.APPEND);
        checkpointAtStartOfLastSegment(dir);
        assertRecoversTo(dir, N);
    }

    @Test
    void staleRecordAfterTheTail() throws IOException {
        Path dir = journal("stale");
        Path seg = lastSegment(dir);
        long[] starts = recordStarts(seg);
        // A well-formed old record appended after the end, as a reused file would hold: its chained CRC and
        // sequence number do not follow, so it must not be taken for a new record.
        byte[] all = Files.readAllBytes(seg);
        byte[] old = java.util.Arrays.copyOfRange(all, (int) starts[0], (int) starts[1]);
        Files.write(seg, old, StandardOpenOption.APPEND);
        checkpointAtStartOfLastSegment(dir);
        assertRecoversTo(dir, N);
    }

    @Test
    void aFlippedByteBeforeTheCheckpointIsRefusedUntilRepaired() throws IOException {
        Path dir = journal("flip");
        Path first;
        try (Stream<Path> s = Files.list(dir)) {
            first = s.filter(p -> LogFileNames.isSegment(SegmentKind.JOURNAL, p.getFileName().toString())).sorted().findFirst().orElseThrow();
        }
        long[] starts = recordStarts(first);
        try (FileChannel ch = FileChannel.open(first, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            ByteBuffer b = ByteBuffer.allocate(1);
            ch.read(b, starts[2] + 40);
            b.put(0, (byte) (b.get(0) ^ 0x10));
            ch.write(b.rewind(), starts[2] + 40);
        }
        // A sealed segment with its index is not re-read at open (restart time must not grow with the journal):
        // the damage is found by verify, and by any read of that record.
        try (RetentionJournal j = RetentionJournal.open(dir, SEGMENT)) {
            assertThat(j.verifyOnline(n -> { })).contains(first.getFileName().toString()).contains(" at " + starts[2]);
            long seq3 = 3;
            assertThatThrownBy(() -> j.forEachImageAfter(seq3 - 1, false, r -> {
                if (r.seq() == seq3) {
                    j.image(r);
                }
            })).isInstanceOf(CorruptLogException.class).hasMessageContaining("seq 3 does not verify");
        }
        // Without the index, open scans the segment and refuses it.
        Files.delete(SegmentIndex.fileOf(dir, LogFileNames.indexOf(first.getFileName().toString())));
        assertThatThrownBy(() -> RetentionJournal.open(dir, SEGMENT).close())
                .isInstanceOf(CorruptLogException.class)
                .hasMessageContaining(first.getFileName().toString())
                .hasMessageContaining("mtagent verify --repair");
        Path aside = RetentionJournal.resetAfterDamage(dir, N);
        assertThat(aside).exists();
        try (RetentionJournal j = RetentionJournal.open(dir, SEGMENT)) {
            assertThat(j.earliestSeq()).as("points before the repair are gone").isEqualTo(N);
            j.appendBeforeImage(N + 1, 0, 0, ByteBuffer.wrap(new byte[512]));
            j.sync();
            assertThat(j.lastSeq()).isEqualTo(N + 1);
        }
    }
}
