package io.mtagent.nativeio;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link PageCache#dropClean}, checked with util-linux's {@code fincore} on a real file system. */
class PageCacheTest {
    @TempDir
    Path tmp;

    @Test
    void syncedPagesAreDroppedAndTheDataStays() throws Exception {
        Fincore.requirePageCacheControl();
        Path file = tmp.resolve("journal.seg");
        int size = 8 << 20;
        byte[] data = new byte[size];
        new java.util.SplittableRandom(3).nextBytes(data);
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
            ByteBuffer b = ByteBuffer.wrap(data);
            while (b.hasRemaining()) {
                ch.write(b);
            }
            ch.force(false);
        }
        long before = Fincore.residentBytes(file);
        Fincore.skipUnless(before >= size / 2, tmp + " does not keep written pages cached (tmpfs?): "
                + before + " bytes resident of " + size);

        // an unaligned start: dropped from the folio boundary before it (2 MiB), so the first 2 MiB stay at most
        long start = (3L << 20) + 100;
        assertThat(PageCache.dropClean(file, start, size - start)).isTrue();
        assertThat(Fincore.residentBytes(file)).as("resident after dropping from 3 MiB + 100").isLessThanOrEqualTo(2L << 20);
        assertThat(PageCache.dropClean(file, 0, size)).isTrue();
        assertThat(Fincore.residentBytes(file)).as("resident after dropping it all").isZero();

        assertThat(Files.readAllBytes(file)).as("advice never changes the data").isEqualTo(data);
        assertThat(PageCache.dropClean(tmp.resolve("missing"), 0, 4096)).as("a missing file: false, no throw")
                .isFalse();
        assertThat(PageCache.dropClean(file, 0, 0)).as("nothing to drop").isFalse();
    }
}
