package io.mtagent.nativeio;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FileBlockDeviceTest {
    private static final int SIZE = 1 << 20;

    @TempDir
    Path tmp;

    @Test
    void createsAtSizeAndReopens() throws Exception {
        Path f = tmp.resolve("disk.img");
        try (FileBlockDevice d = FileBlockDevice.open(f, SIZE, 4096)) {
            assertThat(d.size()).isEqualTo(SIZE);
            assertThat(d.logicalSectorSize()).isEqualTo(4096);
            assertThat(d.physicalSectorSize()).isEqualTo(4096);
            assertThat(d.path()).isEqualTo(f.toString());
            ByteBuffer b = ByteBuffer.allocate(SIZE);
            d.read(0, b);
            assertThat(b.array()).containsOnly(0);
        }
        assertThat(Files.size(f)).isEqualTo(SIZE);
        // An existing file keeps its size whatever size is asked for.
        try (FileBlockDevice d = FileBlockDevice.open(f, 2 * SIZE, 512)) {
            assertThat(d.size()).isEqualTo(SIZE);
        }
        try (FileBlockDevice d = FileBlockDevice.open(f)) {
            assertThat(d.size()).isEqualTo(SIZE);
            assertThat(d.logicalSectorSize()).isEqualTo(512);
        }
    }

    @Test
    void refusesBadOpenArguments() {
        Path missing = tmp.resolve("missing.img");
        assertThatThrownBy(() -> FileBlockDevice.open(missing)).isInstanceOf(NoSuchFileException.class);
        assertThatThrownBy(() -> FileBlockDevice.open(missing, 1000, 512)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> FileBlockDevice.open(missing, SIZE, 1024)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> FileBlockDevice.open(missing, -512, 512)).isInstanceOf(IllegalArgumentException.class);
        assertThat(missing).doesNotExist();
    }

    @Test
    void roundTripsAlignedWritesAndFlushes() throws Exception {
        Random r = new Random(41);
        byte[] model = new byte[SIZE];
        try (FileBlockDevice d = FileBlockDevice.open(tmp.resolve("disk.img"), SIZE, 512)) {
            for (int i = 0; i < 200; i++) {
                int len = 512 * (1 + r.nextInt(64));
                long off = 512L * r.nextInt((SIZE - len) / 512 + 1);
                byte[] data = new byte[len];
                r.nextBytes(data);
                ByteBuffer src = i % 2 == 0 ? ByteBuffer.wrap(data) : ByteBuffer.allocateDirect(len).put(data).flip();
                d.write(off, src);
                assertThat(src.hasRemaining()).isFalse();
                System.arraycopy(data, 0, model, (int) off, len);
            }
            // Last sector and whole device.
            byte[] tail = new byte[512];
            r.nextBytes(tail);
            d.write(SIZE - 512, ByteBuffer.wrap(tail));
            System.arraycopy(tail, 0, model, SIZE - 512, 512);
            d.flush();
            // Unaligned reads are fine.
            ByteBuffer part = ByteBuffer.allocate(1000);
            d.read(777, part);
            assertThat(part.array()).isEqualTo(java.util.Arrays.copyOfRange(model, 777, 1777));
            ByteBuffer empty = ByteBuffer.allocate(0);
            d.read(SIZE, empty);
        }
        try (FileBlockDevice d = FileBlockDevice.open(tmp.resolve("disk.img"))) {
            ByteBuffer all = ByteBuffer.allocateDirect(SIZE);
            d.read(0, all);
            byte[] got = new byte[SIZE];
            all.flip().get(got);
            assertThat(got).isEqualTo(model);
        }
    }

    @Test
    void refusesOutOfRangeAndUnalignedIo() throws Exception {
        try (FileBlockDevice d = FileBlockDevice.open(tmp.resolve("disk.img"), SIZE, 512)) {
            assertThatThrownBy(() -> d.read(SIZE - 100, ByteBuffer.allocate(101))).isInstanceOf(BlockDeviceException.class);
            assertThatThrownBy(() -> d.read(SIZE + 512, ByteBuffer.allocate(1))).isInstanceOf(BlockDeviceException.class);
            assertThatThrownBy(() -> d.read(-1, ByteBuffer.allocate(1))).isInstanceOf(BlockDeviceException.class);
            assertThatThrownBy(() -> d.read(Long.MAX_VALUE, ByteBuffer.allocate(512)))
                    .isInstanceOf(BlockDeviceException.class);
            assertThatThrownBy(() -> d.write(SIZE, ByteBuffer.allocate(512))).isInstanceOf(BlockDeviceException.class)
                    .hasMessageContaining("disk.img");
            assertThatThrownBy(() -> d.write(SIZE - 512, ByteBuffer.allocate(1024))).isInstanceOf(BlockDeviceException.class);
            assertThatThrownBy(() -> d.write(-512, ByteBuffer.allocate(512))).isInstanceOf(BlockDeviceException.class);
            assertThatThrownBy(() -> d.write(Long.MAX_VALUE - 511, ByteBuffer.allocate(512)))
                    .isInstanceOf(BlockDeviceException.class);
            assertThatThrownBy(() -> d.write(100, ByteBuffer.allocate(512))).isInstanceOf(BlockDeviceException.class);
            assertThatThrownBy(() -> d.write(512, ByteBuffer.allocate(100))).isInstanceOf(BlockDeviceException.class);
            d.flush();
        }
        assertThat(Files.size(tmp.resolve("disk.img"))).as("refused writes did not grow the file").isEqualTo(SIZE);
        byte[] content = Files.readAllBytes(tmp.resolve("disk.img"));
        assertThat(content).containsOnly(0);
    }
}
