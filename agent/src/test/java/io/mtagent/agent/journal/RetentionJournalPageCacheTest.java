package io.mtagent.agent.journal;

import static org.assertj.core.api.Assertions.assertThat;

import io.mtagent.nativeio.Fincore;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The journal drops the cached pages of what each sync made durable (it is written once and read rarely; see
 * {@link PageCache}), and its data still reads back and verifies.
 */
class RetentionJournalPageCacheTest {
    @TempDir
    Path tmp;

    @Test
    void syncedJournalPagesLeaveThePageCacheAndStillReadBack() throws Exception {
        Fincore.requirePageCacheControl();
        Path dir = tmp.resolve("journal");
        SplittableRandom r = new SplittableRandom(5);
        byte[][] images = new byte[64][];
        try (RetentionJournal j = RetentionJournal.open(dir, 64L << 20)) {
            for (int seq = 1; seq <= 64; seq++) {
                images[seq - 1] = new byte[128 << 10];
                r.nextBytes(images[seq - 1]);
                j.appendBeforeImage(seq, seq * 1000L, (seq - 1) * (128L << 10), ByteBuffer.wrap(images[seq - 1]));
                if (seq % 8 == 0) {
                    j.sync();
                }
            }
            Path segment;
            try (var files = java.nio.file.Files.list(dir)) {
                segment = files.filter(f -> f.getFileName().toString().endsWith(".jrn")).findFirst().orElseThrow();
            }
            long size = java.nio.file.Files.size(segment);
            assertThat(size).isGreaterThan(8L << 20);
            long resident = Fincore.residentBytes(segment);
            assertThat(resident).as("cached bytes of an %d-byte journal segment after its syncs", size)
                    .isLessThan(256 << 10);
            assertThat(j.verifyOnline(n -> { })).as("every record still verifies, read back from the disk").isNull();
        }
        try (RetentionJournal j = RetentionJournal.open(dir, 64L << 20)) {
            assertThat(j.lastSeq()).isEqualTo(64);
        }
    }
}
