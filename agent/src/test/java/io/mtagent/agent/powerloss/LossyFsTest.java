package io.mtagent.agent.powerloss;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The test file system itself: what survives a cut and what does not (README next to lossyfs.c). */
class LossyFsTest {
    @TempDir
    Path work;
    private LossyFs fs;
    private Path root;

    @BeforeEach
    void mount() throws Exception {
        String why = LossyFs.unavailableReason();
        if (why != null) {
            System.err.println("*** SKIPPED LossyFsTest: " + why);
        }
        Assumptions.assumeTrue(why == null, why);
        fs = LossyFs.mount(work);
        root = fs.root();
    }

    @AfterEach
    void unmount() throws Exception {
        if (fs != null) {
            fs.close();
        }
    }

    private static void write(Path f, String s, boolean sync) throws Exception {
        try (FileChannel ch = FileChannel.open(f, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            ch.write(ByteBuffer.wrap(s.getBytes(StandardCharsets.UTF_8)));
            if (sync) {
                ch.force(false);
            }
        }
    }

    private static void fsyncDir(Path d) throws Exception {
        try (FileChannel ch = FileChannel.open(d, StandardOpenOption.READ)) {
            ch.force(true);
        }
    }

    @Test
    void deletedFilesDoNotStayInMemory() throws Exception {
        // The agent's pattern: create a segment, sync it and its name, delete it, sync the directory; over a long
        // run lossyfs must forget each deleted file (it once kept them all: 1.4 GB and a crawl after 300 cuts).
        long before = fs.counters().get("nodes");
        for (int round = 0; round < 3; round++) { // all alive at once, so the file system cannot reuse their inodes
            for (int i = 0; i < 100; i++) {
                write(root.resolve("segment-" + i), "x".repeat(4096), true);
            }
            fsyncDir(root);
            for (int i = 0; i < 100; i++) {
                Files.delete(root.resolve("segment-" + i));
            }
            fsyncDir(root);
        }
        assertThat(fs.counters().get("nodes")).as("nodes held after 300 created and deleted files")
                .isLessThanOrEqualTo(before + 2);
    }

    @Test
    void unsyncedWriteIsGoneSyncedStays() throws Exception {
        Path f = root.resolve("f");
        write(f, "synced", true);
        fsyncDir(root);
        try (FileChannel ch = FileChannel.open(f, StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.wrap("XX".getBytes(StandardCharsets.UTF_8)), 0);
            ch.write(ByteBuffer.wrap("-and-more".getBytes(StandardCharsets.UTF_8)), 6);
        }
        assertThat(Files.readString(f)).isEqualTo("XXnced-and-more");
        fs.cut();
        assertThat(Files.readString(f)).isEqualTo("synced");
        try (FileChannel ch = FileChannel.open(f, StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.wrap("YY".getBytes(StandardCharsets.UTF_8)), 0);
            ch.force(false); // fdatasync
        }
        fs.cut();
        assertThat(Files.readString(f)).isEqualTo("YYnced");
    }

    @Test
    void createAndRenameNeedTheDirectoryFsync() throws Exception {
        write(root.resolve("a"), "a", true); // file synced, name not
        fs.cut();
        assertThat(root.resolve("a")).doesNotExist();

        write(root.resolve("b"), "b", true);
        fsyncDir(root);
        Files.move(root.resolve("b"), root.resolve("c"), StandardCopyOption.ATOMIC_MOVE);
        fs.cut();
        assertThat(root.resolve("c")).doesNotExist();
        assertThat(Files.readString(root.resolve("b"))).isEqualTo("b");

        Files.move(root.resolve("b"), root.resolve("c"), StandardCopyOption.ATOMIC_MOVE);
        fsyncDir(root);
        fs.cut();
        assertThat(root.resolve("b")).doesNotExist();
        assertThat(Files.readString(root.resolve("c"))).isEqualTo("b");

        Files.delete(root.resolve("c"));
        fs.cut();
        assertThat(Files.readString(root.resolve("c"))).as("an unlink without the directory fsync").isEqualTo("b");

        // a name made durable by the directory fsync, data never synced: the file is there and empty
        write(root.resolve("d"), "data", false);
        fsyncDir(root);
        fs.cut();
        assertThat(Files.readString(root.resolve("d"))).isEmpty();

        // a new subdirectory needs its parent's fsync too
        Files.createDirectories(root.resolve("sub"));
        write(root.resolve("sub/e"), "e", true);
        fsyncDir(root.resolve("sub"));
        fs.cut();
        assertThat(root.resolve("sub")).doesNotExist();
    }

    @Test
    void truncateAndDirectWritesAreVolatileUntilFsync() throws Exception {
        Path f = root.resolve("t");
        write(f, "0123456789", true);
        fsyncDir(root);
        try (FileChannel ch = FileChannel.open(f, StandardOpenOption.WRITE)) {
            ch.truncate(3);
        }
        fs.cut();
        assertThat(Files.readString(f)).isEqualTo("0123456789");

        Path img = root.resolve("img");
        Files.write(img, new byte[8192]);
        try (FileChannel ch = FileChannel.open(img, StandardOpenOption.WRITE)) {
            ch.force(true);
        }
        fsyncDir(root);
        ByteBuffer aligned = ByteBuffer.allocateDirect(8192).alignedSlice(4096);
        aligned.limit(4096);
        while (aligned.hasRemaining()) {
            aligned.put((byte) 7);
        }
        aligned.flip();
        try (FileChannel ch = FileChannel.open(img, StandardOpenOption.WRITE,
                com.sun.nio.file.ExtendedOpenOption.DIRECT)) {
            ch.write(aligned, 4096);
        }
        assertThat(Files.readAllBytes(img)[5000]).isEqualTo((byte) 7);
        fs.cut();
        assertThat(Files.readAllBytes(img)[5000]).as("an O_DIRECT write is in the disk's cache until fsync").isZero();
    }

    @Test
    void afterPowerOffNothingChangesUntilTheCut() throws Exception {
        Path f = root.resolve("p");
        write(f, "before", true);
        fsyncDir(root);
        fs.powerOff();
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> write(f, "after", true))
                .isInstanceOf(java.io.IOException.class);
        fs.cut();
        assertThat(Files.readString(f)).isEqualTo("before");
        write(f, "again", true); // the power is back
        assertThat(Files.readString(f)).isEqualTo("again");
    }

    @Test
    void tornCutKeepsSomeUnsyncedSectorsOnly() throws Exception {
        Path f = root.resolve("torn");
        write(f, "", true);
        fsyncDir(root);
        byte[] data = new byte[64 * 512];
        java.util.Arrays.fill(data, (byte) 1);
        Files.write(f, data);
        fs.cutTorn(42);
        byte[] after = Files.readAllBytes(f);
        int kept = 0;
        for (int s = 0; s < after.length / 512; s++) {
            kept += after[s * 512] == 1 ? 1 : 0;
        }
        assertThat(kept).as("sectors kept of 64").isBetween(1, 63);
        assertThat(fs.counters().get("cuts")).isEqualTo(1);
    }
}
