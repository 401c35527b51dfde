package io.mtagent.nativeio;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Round trips on real files through libc, with and without O_DIRECT, plus faults injected through NativeIO. */
class LinuxBlockDeviceTest {
    private static final int SIZE = 4 << 20;

    @TempDir
    Path dir;

    @BeforeAll
    static void linuxOnly() {
        if (!NativeIOImpl.available()) {
            System.err.println("SKIPPED LinuxBlockDeviceTest: libc binding unavailable: " + NativeIOImpl.unavailableReason());
        }
        assumeTrue(NativeIOImpl.available(), "needs 64-bit Linux with JNA");
    }

    private LinuxBlockDevice open(Path p, BlockDeviceOptions o) throws IOException {
        return LinuxBlockDevice.open(p, o);
    }

    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void everyOperationRoundTripsOnAFile(boolean direct) throws IOException {
        Path f = dir.resolve("t.img");
        try (LinuxBlockDevice d = open(f, BlockDeviceOptions.defaults().withCreateSize(SIZE).withDirectIo(direct))) {
            assertThat(d.directIo()).isEqualTo(direct); // ext4/xfs under the temp dir allow O_DIRECT
            assertThat(d.size()).isEqualTo(SIZE);
            assertThat(d.logicalSectorSize()).isEqualTo(512);
            assertThat(d.isBlockDevice()).isFalse();
            SplittableRandom r = new SplittableRandom(direct ? 1 : 2);
            byte[] model = new byte[SIZE];
            for (int i = 0; i < 300; i++) {
                int len = 512 * (1 + r.nextInt(256));
                long off = 512L * r.nextInt((SIZE - len) / 512 + 1);
                byte[] data = new byte[len];
                r.nextBytes(data);
                // alternate aligned direct buffers, heap buffers and unaligned direct slices
                ByteBuffer src = switch (i % 3) {
                    case 0 -> AlignedBufferPool.allocate(len, 4096).put(data).flip();
                    case 1 -> ByteBuffer.wrap(data);
                    default -> ByteBuffer.allocateDirect(len + 7).position(7).slice().put(data).flip();
                };
                d.write(off, src);
                assertThat(src.hasRemaining()).isFalse();
                System.arraycopy(data, 0, model, (int) off, len);
            }
            d.flush();
            ByteBuffer all = AlignedBufferPool.allocate(SIZE, 4096);
            d.read(0, all);
            assertThat(Arrays.equals(bytes(all.flip()), model)).isTrue();
            // an unaligned read of any range works (through the bounce buffer)
            ByteBuffer odd = ByteBuffer.allocate(1000);
            d.read(12345, odd);
            assertThat(odd.array()).isEqualTo(Arrays.copyOfRange(model, 12345, 13345));
        }
        byte[] onDisk = Files.readAllBytes(f);
        assertThat(onDisk.length).isEqualTo(SIZE);
    }

    @Test
    void aFileSystemRefusingODirectGetsBufferedIo() throws IOException {
        AtomicInteger opens = new AtomicInteger();
        NativeIO noDirect = new NativeIOImpl() { // what tmpfs before Linux 6.6 and some FUSE file systems answer
            @Override
            public int open(String path, int flags, int mode) throws NativeIOException {
                opens.incrementAndGet();
                if ((flags & O_DIRECT) != 0) {
                    throw new NativeIOException("open", Errno.EINVAL, path);
                }
                return super.open(path, flags, mode);
            }
        };
        try (LinuxBlockDevice d = LinuxBlockDevice.open(dir.resolve("nd.img"),
                BlockDeviceOptions.defaults().withCreateSize(1 << 20), noDirect)) {
            assertThat(d.directIo()).isFalse();
            assertThat(opens.get()).isEqualTo(2);
            d.write(512, ByteBuffer.wrap(filled(512, (byte) 3)));
            ByteBuffer b = ByteBuffer.allocate(512);
            d.read(512, b);
            assertThat(b.array()).isEqualTo(filled(512, (byte) 3));
        }
    }

    @Test
    void tmpfsWorksWithOrWithoutODirect() throws IOException {
        Path shm = Path.of("/dev/shm");
        assumeTrue(Files.isDirectory(shm) && Files.isWritable(shm), "needs a writable tmpfs at /dev/shm");
        Path f = Files.createTempFile(shm, "mtagent-test", ".img");
        Files.delete(f);
        try (LinuxBlockDevice d = open(f, BlockDeviceOptions.defaults().withCreateSize(1 << 20))) {
            // tmpfs supports O_DIRECT since Linux 6.6; before, the open falls back (logged).
            System.out.println("tmpfs O_DIRECT on " + System.getProperty("os.version") + ": " + d.directIo());
            d.write(4096, ByteBuffer.wrap(filled(4096, (byte) 7)));
            d.flush();
            ByteBuffer b = ByteBuffer.allocate(4096);
            d.read(4096, b);
            assertThat(b.array()).isEqualTo(filled(4096, (byte) 7));
        } finally {
            Files.deleteIfExists(f);
        }
    }

    @Test
    void alignmentAndRangeViolationsAreRefusedBeforeAnySystemCall() throws IOException {
        AtomicInteger calls = new AtomicInteger();
        NativeIO counting = new NativeIOImpl() {
            @Override
            public long pwrite(int fd, ByteBuffer buf, int count, long offset) throws NativeIOException {
                calls.incrementAndGet();
                return super.pwrite(fd, buf, count, offset);
            }

            @Override
            public long pread(int fd, ByteBuffer buf, int count, long offset) throws NativeIOException {
                calls.incrementAndGet();
                return super.pread(fd, buf, count, offset);
            }
        };
        try (LinuxBlockDevice d = LinuxBlockDevice.open(dir.resolve("a.img"),
                BlockDeviceOptions.defaults().withCreateSize(SIZE), counting)) {
            calls.set(0);
            assertFailure(() -> d.write(100, ByteBuffer.allocateDirect(512)), BlockDeviceException.Failure.ALIGNMENT);
            assertFailure(() -> d.write(512, ByteBuffer.allocateDirect(700)), BlockDeviceException.Failure.ALIGNMENT);
            assertFailure(() -> d.write(SIZE, ByteBuffer.allocateDirect(512)), BlockDeviceException.Failure.OUT_OF_RANGE);
            assertFailure(() -> d.write(-512, ByteBuffer.allocateDirect(512)), BlockDeviceException.Failure.OUT_OF_RANGE);
            assertFailure(() -> d.read(SIZE - 512, ByteBuffer.allocateDirect(1024)), BlockDeviceException.Failure.OUT_OF_RANGE);
            assertThat(calls.get()).as("system calls made for refused requests").isZero();
            d.close();
            assertFailure(() -> d.write(0, ByteBuffer.allocateDirect(512)), BlockDeviceException.Failure.CLOSED);
            assertFailure(d::flush, BlockDeviceException.Failure.CLOSED);
        }
    }

    @Test
    void fourKnReadModifyWriteKeepsTheRestOfEachSector() throws IOException {
        Path f = dir.resolve("4kn.img");
        try (LinuxBlockDevice d = open(f, BlockDeviceOptions.defaults().withCreateSize(SIZE).withSectorSize(4096))) {
            assertThat(d.logicalSectorSize()).isEqualTo(4096);
            assertThat(d.ioAlignment()).isEqualTo(4096);
            byte[] model = new byte[SIZE];
            SplittableRandom r = new SplittableRandom(3);
            byte[] base = new byte[SIZE];
            r.nextBytes(base);
            d.write(0, ByteBuffer.wrap(base));
            System.arraycopy(base, 0, model, 0, SIZE);
            for (int i = 0; i < 400; i++) {
                int len = 512 * (1 + r.nextInt(24)); // 512 .. 12 KiB: head, tail, both, inside one sector
                long off = 512L * r.nextInt((SIZE - len) / 512 + 1);
                byte[] data = new byte[len];
                r.nextBytes(data);
                d.write(off, ByteBuffer.wrap(data));
                System.arraycopy(data, 0, model, (int) off, len);
            }
            d.flush();
        }
        assertThat(Arrays.equals(Files.readAllBytes(f), model(f))).isTrue();
    }

    // Re-derives the model by replaying the same random sequence with plain array writes.
    private static byte[] model(Path ignored) {
        SplittableRandom r = new SplittableRandom(3);
        byte[] model = new byte[SIZE];
        r.nextBytes(model);
        for (int i = 0; i < 400; i++) {
            int len = 512 * (1 + r.nextInt(24));
            long off = 512L * r.nextInt((SIZE - len) / 512 + 1);
            byte[] data = new byte[len];
            r.nextBytes(data);
            System.arraycopy(data, 0, model, (int) off, len);
        }
        return model;
    }

    @Test
    void concurrentSubSectorWritesIntoOneSectorAreNotLost() throws Exception {
        Path f = dir.resolve("race.img");
        try (LinuxBlockDevice d = open(f, BlockDeviceOptions.defaults().withCreateSize(1 << 20).withSectorSize(4096))) {
            Thread[] ts = new Thread[8];
            for (int t = 0; t < 8; t++) {
                int slot = t;
                ts[t] = new Thread(() -> {
                    try {
                        for (int round = 0; round < 200; round++) {
                            long sector = (round % 16) * 4096L;
                            d.write(sector + slot * 512L, ByteBuffer.wrap(filled(512, (byte) (slot + 1))));
                        }
                    } catch (IOException e) {
                        throw new RuntimeException(e);
                    }
                });
                ts[t].start();
            }
            for (Thread t : ts) {
                t.join();
            }
            ByteBuffer b = ByteBuffer.allocate(16 * 4096);
            d.read(0, b);
            for (int s = 0; s < 16; s++) {
                for (int slot = 0; slot < 8; slot++) {
                    assertThat(b.get(s * 4096 + slot * 512 + 100)).as("sector %d slot %d", s, slot).isEqualTo((byte) (slot + 1));
                }
            }
        }
    }

    @Test
    void eintrIsRetriedAndShortWritesAreContinued() throws IOException {
        AtomicInteger interrupts = new AtomicInteger(3);
        NativeIO flaky = new NativeIOImpl() {
            @Override
            public long pwrite(int fd, ByteBuffer buf, int count, long offset) throws NativeIOException {
                if (interrupts.getAndDecrement() > 0) {
                    throw new NativeIOException("pwrite", Errno.EINTR, "injected");
                }
                // a short write: at most 4 KiB at a time (aligned, so O_DIRECT can continue)
                return super.pwrite(fd, buf, Math.min(count, 4096), offset);
            }
        };
        Path f = dir.resolve("short.img");
        byte[] data = new byte[64 << 10];
        new SplittableRandom(4).nextBytes(data);
        try (LinuxBlockDevice d = LinuxBlockDevice.open(f, BlockDeviceOptions.defaults().withCreateSize(SIZE), flaky)) {
            d.write(8192, ByteBuffer.wrap(data));
            d.flush();
        }
        assertThat(Arrays.copyOfRange(Files.readAllBytes(f), 8192, 8192 + data.length)).isEqualTo(data);
    }

    @Test
    void aShortWriteOffTheAlignmentOrOfNothingIsRaisedWithContext() throws IOException {
        NativeIO odd = new NativeIOImpl() {
            @Override
            public long pwrite(int fd, ByteBuffer buf, int count, long offset) throws NativeIOException {
                return offset == 0 ? 100 : 0;
            }
        };
        try (LinuxBlockDevice d = LinuxBlockDevice.open(dir.resolve("s.img"),
                BlockDeviceOptions.defaults().withCreateSize(SIZE), odd)) {
            assertThat(d.directIo()).isTrue();
            BlockDeviceException e = assertFailure(() -> d.write(0, AlignedBufferPool.allocate(4096, 4096)),
                    BlockDeviceException.Failure.SHORT_TRANSFER);
            assertThat(e.getMessage()).contains("s.img").contains("offset=0").contains("length=4096").contains("alignment");
            e = assertFailure(() -> d.write(8192, AlignedBufferPool.allocate(4096, 4096)),
                    BlockDeviceException.Failure.SHORT_TRANSFER);
            assertThat(e.getMessage()).contains("accepted 0 of 4096");
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {Errno.EIO, Errno.ENOSPC})
    void writeErrorsCarryErrnoAndTheirTypedFailure(int errno) throws IOException {
        NativeIO failing = new NativeIOImpl() {
            @Override
            public long pwrite(int fd, ByteBuffer buf, int count, long offset) throws NativeIOException {
                throw new NativeIOException("pwrite", errno, "injected");
            }
        };
        try (LinuxBlockDevice d = LinuxBlockDevice.open(dir.resolve("e.img"),
                BlockDeviceOptions.defaults().withCreateSize(SIZE), failing)) {
            BlockDeviceException e = assertFailure(() -> d.write(4096, ByteBuffer.allocate(4096)),
                    errno == Errno.EIO ? BlockDeviceException.Failure.MEDIA_ERROR : BlockDeviceException.Failure.NO_SPACE);
            assertThat(e.errno()).isEqualTo(errno);
            assertThat(e.operation()).isEqualTo("write");
            assertThat(e.offset()).isEqualTo(4096);
            assertThat(e.length()).isEqualTo(4096);
            assertThat(e.getMessage()).contains(errno == Errno.EIO ? "EIO" : "ENOSPC").contains("e.img");
        }
    }

    @Test
    void openErrorsNameTheFileAndTheFix() throws IOException {
        Path missing = dir.resolve("missing.img");
        assertThatThrownBy(() -> open(missing, BlockDeviceOptions.defaults()))
                .isInstanceOf(java.nio.file.NoSuchFileException.class).hasMessageContaining("missing.img");
        Path ro = dir.resolve("ro.img");
        Files.write(ro, new byte[8192]);
        NativeIO denied = new NativeIOImpl() {
            @Override
            public int open(String path, int flags, int mode) throws NativeIOException {
                throw new NativeIOException("open", Errno.EACCES, path);
            }
        };
        assertThatThrownBy(() -> LinuxBlockDevice.open(ro, BlockDeviceOptions.defaults(), denied))
                .isInstanceOfSatisfying(BlockDeviceException.class,
                        e -> assertThat(e.failure()).isEqualTo(BlockDeviceException.Failure.PERMISSION))
                .hasMessageContaining("EACCES");
    }

    @Test
    void blockDevicesFactoryPicksTheNativeDeviceOnLinux() throws IOException {
        try (BlockDevice d = BlockDevices.open(dir.resolve("f.img"), BlockDeviceOptions.defaults().withCreateSize(1 << 20))) {
            assertThat(d).isInstanceOf(LinuxBlockDevice.class);
        }
    }

    interface Call {
        void run() throws IOException;
    }

    static BlockDeviceException assertFailure(Call c, BlockDeviceException.Failure expected) {
        try {
            c.run();
        } catch (BlockDeviceException e) {
            assertThat(e.failure()).as(e.getMessage()).isEqualTo(expected);
            return e;
        } catch (IOException e) {
            throw new AssertionError("expected a BlockDeviceException, got " + e, e);
        }
        throw new AssertionError("expected " + expected + ", nothing was thrown");
    }

    static byte[] filled(int n, byte v) {
        byte[] b = new byte[n];
        Arrays.fill(b, v);
        return b;
    }

    static byte[] bytes(ByteBuffer b) {
        byte[] a = new byte[b.remaining()];
        b.duplicate().get(a);
        return a;
    }
}
