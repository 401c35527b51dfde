package io.mtagent.nativeio.nbd;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The libnbd binding against real servers: nbdkit's file plugin (holes reported from the file system) and
 * qemu-nbd with a dirty bitmap; pipelined reads equal the file; refusals carry libnbd's reason.
 */
class NbdClientTest {
    private static final long SIZE = 64L << 20;

    @TempDir
    Path dir;

    @Test
    void extentsOfASparseFileAndPipelinedReadsMatchIt() throws Exception {
        NbdTestServers.assumeTools("nbdkit");
        Path file = dir.resolve("sparse.img");
        byte[] a = bytes(1 << 20, 1);
        byte[] b = bytes(64 << 10, 2);
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
            f.setLength(SIZE);
            f.seek(8L << 20);
            f.write(a);
            f.seek(40L << 20);
            f.write(b);
        }
        try (NbdTestServers.Server s = NbdTestServers.nbdkit(dir, "file", "file", "file=" + file);
             NbdClient c = NbdClient.connect(s.uri(), List.of(NbdClient.BASE_ALLOCATION))) {
            assertThat(c.size()).isEqualTo(SIZE);
            assertThat(c.hasMetaContext(NbdClient.BASE_ALLOCATION)).isTrue();
            assertThat(c.hasMetaContext(NbdClient.DIRTY_BITMAP_PREFIX + "b0")).isFalse();
            List<ByteRange> data = new ArrayList<>();
            long[] covered = {0};
            c.extents(0, SIZE, NbdClient.BASE_ALLOCATION, (off, len, flags) -> {
                assertThat(off).isEqualTo(covered[0]);
                covered[0] += len;
                if ((flags & NbdClient.STATE_ZERO) == 0) {
                    data.add(new ByteRange(off, len));
                }
            });
            assertThat(covered[0]).isEqualTo(SIZE);
            assertThat(data).containsExactly(new ByteRange(8L << 20, 1 << 20), new ByteRange(40L << 20, 64 << 10));

            ByteArrayOutputStream got = new ByteArrayOutputStream();
            long[] expectNext = {8L << 20};
            c.readRanges(data, 4, 128 << 10, (off, buf) -> {
                if (off == 40L << 20) {
                    expectNext[0] = off;
                }
                assertThat(off).isEqualTo(expectNext[0]);
                expectNext[0] += buf.remaining();
                byte[] chunk = new byte[buf.remaining()];
                buf.get(chunk);
                got.write(chunk);
            });
            byte[] both = Arrays.copyOf(a, a.length + b.length);
            System.arraycopy(b, 0, both, a.length, b.length);
            assertThat(got.toByteArray()).isEqualTo(both);

            ByteBuffer direct = ByteBuffer.allocateDirect(4096);
            c.read((8L << 20) + 4096, direct);
            direct.flip();
            byte[] four = new byte[4096];
            direct.get(four);
            assertThat(four).isEqualTo(Arrays.copyOfRange(a, 4096, 8192));
        }
    }

    @Test
    void dirtyBitmapOfQemuNbdIsListedAndReported() throws Exception {
        NbdTestServers.assumeTools("qemu-img", "qemu-io", "qemu-nbd");
        Path img = dir.resolve("disk.qcow2");
        NbdTestServers.run("qemu-img", "create", "-q", "-f", "qcow2", img.toString(), "16M");
        NbdTestServers.run("qemu-img", "bitmap", "--add", "--enable", img.toString(), "b0");
        NbdTestServers.run("qemu-io", "-f", "qcow2", "-c", "write -P 7 1M 64k", "-c", "write -P 8 5M 4k",
                img.toString());
        try (NbdTestServers.Server s = NbdTestServers.qemuNbd(dir, "q", img, "qcow2", "b0")) {
            assertThat(NbdClient.listMetaContexts(s.uri(), NbdClient.DIRTY_BITMAP_PREFIX))
                    .containsExactly(NbdClient.DIRTY_BITMAP_PREFIX + "b0");
            String ctx = NbdClient.DIRTY_BITMAP_PREFIX + "b0";
            try (NbdClient c = NbdClient.connect(s.uri(), List.of(ctx))) {
                assertThat(c.hasMetaContext(ctx)).isTrue();
                List<ByteRange> dirty = new ArrayList<>();
                c.extents(0, c.size(), ctx, (off, len, flags) -> {
                    if ((flags & NbdClient.STATE_DIRTY) != 0) {
                        dirty.add(new ByteRange(off, len));
                    }
                });
                // The bitmap's granularity is the cluster size, 64 KiB: the 4 KiB write dirties one granule.
                assertThat(dirty).containsExactly(new ByteRange(1L << 20, 64 << 10), new ByteRange(5L << 20, 64 << 10));
            }
        }
    }

    @Test
    void refusalsCarryLibnbdsReason() throws Exception {
        NbdTestServers.assumeTools("nbdkit");
        assertThatThrownBy(() -> NbdClient.connect("nbd+unix:///?socket=" + dir.resolve("none.sock"), List.of()))
                .isInstanceOf(NbdException.class).hasMessageContaining("cannot connect to nbd+unix:///?socket=")
                .hasMessageContaining("No such file");
        try (NbdTestServers.Server s = NbdTestServers.nbdkit(dir, "mem", "memory", "1M")) {
            // nbds: TLS required, but this server has none.
            assertThatThrownBy(() -> NbdClient.connect("nbds+unix:///?socket=" + s.socket(), List.of()))
                    .isInstanceOf(NbdException.class).hasMessageContaining("TLS");
        }
    }

    @Test
    void aMissingLibnbdIsNamedWithItsPackage() {
        assertThatThrownBy(() -> LibNbd.load("nbd-not-installed-here"))
                .isInstanceOf(NbdUnavailableException.class)
                .hasMessage("libnbd is not installed (nbd-not-installed-here cannot be loaded); install the Debian/Ubuntu"
                        + " package libnbd0 (Fedora/RHEL: libnbd) to read NBD sources")
                .hasCauseInstanceOf(UnsatisfiedLinkError.class);
    }

    private static byte[] bytes(int n, long seed) {
        byte[] b = new byte[n];
        new SplittableRandom(seed).nextBytes(b);
        return b;
    }
}
