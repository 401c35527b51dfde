package io.mtagent.nativeio;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.io.TempDir;

/**
 * The real block-device path: a loop device over a file ({@code losetup}, needs root and a kernel with loop
 * devices), with 512-byte and 4096-byte logical sectors. Skips LOUDLY where the machine does not allow it.
 */
class LoopDeviceTest {
    private static final int SIZE = 8 << 20;

    @TempDir
    Path dir;

    @ParameterizedTest
    @ValueSource(ints = {512, 4096})
    void aLoopDeviceReportsItsGeometryAndRoundTrips(int sector) throws Exception {
        assumeTrue(NativeIOImpl.available(), "needs 64-bit Linux with JNA");
        Path backing = dir.resolve("loop-backing.img");
        try (var ch = java.nio.channels.FileChannel.open(backing, java.nio.file.StandardOpenOption.CREATE_NEW,
                java.nio.file.StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.allocate(1), SIZE - 1);
        }
        String loop = attach(backing, sector);
        try (LinuxBlockDevice d = LinuxBlockDevice.open(Path.of(loop), BlockDeviceOptions.defaults())) {
            assertThat(d.isBlockDevice()).isTrue();
            assertThat(d.directIo()).isTrue();
            assertThat(d.size()).as("BLKGETSIZE64").isEqualTo(SIZE);
            assertThat(d.logicalSectorSize()).as("BLKSSZGET").isEqualTo(sector);
            assertThat(d.physicalSectorSize()).as("BLKPBSZGET").isGreaterThanOrEqualTo(sector);
            byte[] model = new byte[SIZE];
            SplittableRandom r = new SplittableRandom(sector);
            for (int i = 0; i < 200; i++) {
                int len = 512 * (1 + r.nextInt(64)); // 512-aligned: read-modify-write on the 4Kn loop
                long off = 512L * r.nextInt((SIZE - len) / 512 + 1);
                byte[] data = new byte[len];
                r.nextBytes(data);
                d.write(off, ByteBuffer.wrap(data));
                System.arraycopy(data, 0, model, (int) off, len);
            }
            d.flush();
            ByteBuffer all = ByteBuffer.allocate(SIZE);
            d.read(0, all);
            assertThat(Arrays.equals(all.array(), model)).isTrue();
        } finally {
            run("losetup", "-d", loop);
        }
        assertThat(Arrays.equals(Files.readAllBytes(backing), expected(sector))).isTrue();
    }

    /** O_EXCL on a device: a second exclusive opener (another agent) is refused and told who holds it. */
    @org.junit.jupiter.api.Test
    void anExclusivelyOpenedDeviceRefusesASecondExclusiveOpener() throws Exception {
        assumeTrue(NativeIOImpl.available(), "needs 64-bit Linux with JNA");
        Path backing = dir.resolve("loop-backing.img");
        Files.write(backing, new byte[SIZE]);
        String loop = attach(backing, 512);
        BlockDeviceOptions exclusive = BlockDeviceOptions.defaults().withExclusive(true);
        try (LinuxBlockDevice first = LinuxBlockDevice.open(Path.of(loop), exclusive)) {
            assertThatThrownBy(() -> LinuxBlockDevice.open(Path.of(loop), exclusive))
                    .isInstanceOf(TargetLockedException.class)
                    .hasMessageContaining(loop + " is mounted or opened exclusively by another process")
                    .hasMessageContaining("pid " + ProcessHandle.current().pid());
            first.flush();
        } finally {
            run("losetup", "-d", loop);
        }
    }

    private static byte[] expected(int sector) {
        byte[] model = new byte[SIZE];
        SplittableRandom r = new SplittableRandom(sector);
        for (int i = 0; i < 200; i++) {
            int len = 512 * (1 + r.nextInt(64));
            long off = 512L * r.nextInt((SIZE - len) / 512 + 1);
            byte[] data = new byte[len];
            r.nextBytes(data);
            System.arraycopy(data, 0, model, (int) off, len);
        }
        return model;
    }

    /** Attaches a loop device or skips the test loudly, saying what is missing. */
    private static String attach(Path backing, int sector) throws Exception {
        String why = null;
        if (!"root".equals(System.getProperty("user.name"))) {
            why = "not running as root";
        } else if (!Files.exists(Path.of("/dev/loop-control"))) {
            why = "no /dev/loop-control (no loop devices in this container/kernel)";
        } else {
            Result r;
            try {
                r = run("losetup", "--find", "--show", "--direct-io=on", "--sector-size", String.valueOf(sector),
                        backing.toString());
            } catch (IOException e) {
                r = new Result(127, "losetup not found (" + e.getMessage() + ")");
            }
            if (r.code == 0) {
                return r.output.trim();
            }
            why = "losetup failed: " + r.output.trim();
        }
        System.err.println("SKIPPED LoopDeviceTest (real block device I/O): " + why
                + ". Run the tests as root on a machine with loop devices; losetup is in util-linux "
                + "(apt-get install util-linux). The file-based tests still ran.");
        assumeTrue(false, "loop device unavailable: " + why);
        return null;
    }

    private record Result(int code, String output) {
    }

    private static Result run(String... cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(30, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            return new Result(-1, "timed out: " + String.join(" ", cmd));
        }
        return new Result(p.exitValue(), out);
    }
}
