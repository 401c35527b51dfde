package io.mtagent.agent.send;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.mtagent.agent.Agent;
import io.mtagent.agent.TestAgents;
import io.mtagent.agent.disk.ReplicatedDisk;
import io.mtagent.agent.journal.RecoveryPoint;
import io.mtagent.agent.retention.PointCatalog;
import io.mtagent.nativeio.nbd.NbdTestServers;
import io.mtagent.protocol.DiskState;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code mtagent send} from NBD exports with the real tools, as an operator runs it from a timer:
 * <ul>
 *   <li>a qcow2 image with a persistent dirty bitmap, written by qemu-io, exported read-only by qemu-nbd with the
 *       bitmap: a first (baseline) run, then three cycles of ~1 % scattered writes, each sending only the bitmap's
 *       extents, with the rotation the README documents (start the next bitmap at the frozen view, drop the old
 *       one after a successful send). Each cycle: bytes sent ≤ 1.2 × what {@code nbdinfo --map} reports dirty, the
 *       target equals {@code qemu-img convert -O raw}, and every cycle's point is listed and exports equal;</li>
 *   <li>nbdkit's file plugin over a sparse 256 MiB file with 16 MiB allocated: a full send moves ≤ 20 MiB, and a
 *       later re-baseline of a source whose data became holes zeroes the target there.</li>
 * </ul>
 */
class NbdBitmapSendTest {
    private static final long SIZE = 256L << 20;
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    @Test
    void bitmapCyclesSendOnlyTheChangesAndEveryPointEqualsTheImage() throws Exception {
        NbdTestServers.assumeTools("qemu-img", "qemu-io", "qemu-nbd", "nbdinfo");
        Path img = dir.resolve("vm.qcow2");
        qemu("qemu-img", "create", "-q", "-f", "qcow2", img.toString(), String.valueOf(SIZE));
        qemu("qemu-img", "bitmap", "--add", "--enable", img.toString(), "b0");
        SplittableRandom random = new SplittableRandom(26);
        writeScattered(img, random, 64, 128 << 10); // 8 MiB of initial data
        Map<String, String> s = TestAgents.settingsWithRetention(dir, 1, SIZE);
        List<Path> raws = new ArrayList<>();
        try (Agent agent = TestAgents.start(s)) {
            SendCli cli = new SendCli(agent, dir, s);
            ReplicatedDisk disk = agent.disks().byId("disk-0");
            for (int cycle = 0; cycle <= 3; cycle++) {
                if (cycle > 0) {
                    writeScattered(img, random, 36, 64 << 10); // ~1 % of the disk: 36 x 64 KiB ...
                    writeSmall(img, random, 6); // ... and 6 x 4 KiB inside other granules
                }
                String bitmap = "b" + cycle;
                // The frozen view: nothing writes the image until the next cycle. Start the next bitmap now.
                qemu("qemu-img", "bitmap", "--add", "--enable", img.toString(), "b" + (cycle + 1));
                Path raw = dir.resolve("c" + cycle + ".raw");
                qemu("qemu-img", "convert", "-O", "raw", img.toString(), raw.toString());
                raws.add(raw);
                JsonNode report;
                long dirty;
                try (NbdTestServers.Server nbd = NbdTestServers.qemuNbd(dir, "vm", img, "qcow2", bitmap)) {
                    dirty = dirtyBytes(nbd.uri(), bitmap);
                    SendCli.Run run = cli.send("--disk", "disk-0", "--source", nbd.uri(), "--bitmap", bitmap,
                            "--name", "c" + cycle, "--json");
                    assertThat(run.exit()).as(run.err()).isZero();
                    report = JSON.readTree(run.out()).path("disks").get(0);
                }
                qemu("qemu-img", "bitmap", "--remove", img.toString(), bitmap); // sent: the next run uses the next
                long sent = report.path("sentBytes").asLong();
                if (cycle == 0) {
                    assertThat(report.path("mode").asText()).isEqualTo("baseline");
                    assertThat(report.path("note").asText()).contains("first run");
                    assertThat(sent).isBetween(8L << 20, 9L << 20); // the allocated clusters, not 256 MiB
                } else {
                    assertThat(report.path("mode").asText()).isEqualTo("bitmap");
                    assertThat(report.path("dirtyBytes").asLong()).isEqualTo(dirty);
                    assertThat(dirty).isBetween(36L << 16, 42L << 16);
                    assertThat(sent).as("cycle %d: sent vs dirty %d", cycle, dirty).isLessThanOrEqualTo(dirty * 12 / 10);
                    assertThat(report.path("wireBytes").asLong()).isLessThanOrEqualTo(sent * 12 / 10);
                }
                TestAgents.awaitApplied(agent, Duration.ofSeconds(60));
                assertThat(Files.mismatch(TestAgents.target(dir, 0), raw)).as("cycle %d: target vs image", cycle)
                        .isEqualTo(-1);
                assertThat(PointCatalog.points(disk)).extracting(RecoveryPoint::name).contains("c" + cycle);
            }
            // Every cycle's point is still listed and exports equal to the image at that cycle.
            SendCli.Run points = cli.control("points", "--disk", "disk-0", "--json");
            assertThat(points.exit()).isZero();
            for (int cycle = 0; cycle <= 3; cycle++) {
                assertThat(points.out()).contains("\"c" + cycle + "\"");
                Path out = dir.resolve("out").resolve("export-c" + cycle + ".raw");
                SendCli.Run export = cli.control("export", "--disk", "disk-0", "--point", "tag:c" + cycle, "--out",
                        out.toString());
                assertThat(export.exit()).as(export.err()).isZero();
                assertThat(Files.mismatch(out, raws.get(cycle))).as("export of c%d", cycle).isEqualTo(-1);
                Files.delete(out);
            }
        }
    }

    @Test
    void sparseSourceSendsItsAllocatedBytesAndARebaselineZeroesWhatBecameHoles() throws Exception {
        NbdTestServers.assumeTools("nbdkit");
        Path file = dir.resolve("sparse.img");
        SplittableRandom random = new SplittableRandom(27);
        List<Long> blocks = new ArrayList<>();
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
            f.setLength(SIZE);
            byte[] block = new byte[256 << 10];
            for (int i = 0; i < 64; i++) { // 64 x 256 KiB = 16 MiB, one block per 4 MiB
                random.nextBytes(block);
                long at = i * (4L << 20) + random.nextInt(15) * (256L << 10);
                blocks.add(at);
                f.seek(at);
                f.write(block);
            }
        }
        long punched = blocks.get(5);
        Map<String, String> s = TestAgents.settingsWithRetention(dir, 1, SIZE);
        try (Agent agent = TestAgents.start(s);
             NbdTestServers.Server nbd = NbdTestServers.nbdkit(dir, "file", "file", "file=" + file)) {
            SendCli cli = new SendCli(agent, dir, s);
            SendCli.Run run = cli.send("--disk", "disk-0", "--source", nbd.uri(), "--name", "full", "--json");
            assertThat(run.exit()).as(run.err()).isZero();
            JsonNode r = JSON.readTree(run.out()).path("disks").get(0);
            assertThat(r.path("mode").asText()).isEqualTo("baseline");
            assertThat(r.path("dirtyBytes").asLong()).isEqualTo(16L << 20);
            assertThat(r.path("sentBytes").asLong()).isLessThanOrEqualTo(20L << 20);
            assertThat(r.path("wireBytes").asLong()).isLessThanOrEqualTo(21L << 20);
            TestAgents.awaitApplied(agent, Duration.ofSeconds(60));
            assertThat(Files.mismatch(TestAgents.target(dir, 0), file)).isEqualTo(-1);

            // Data on the target that the source no longer holds (it became a hole): a baseline checks the holes
            // by digest and sends zeros exactly there, without reading them from the source.
            qemu("fallocate", "--punch-hole", "--offset", String.valueOf(punched), "--length",
                    String.valueOf(256L << 10), file.toString());
            run = cli.send("--disk", "disk-0", "--source", nbd.uri(), "--name", "again", "--json");
            assertThat(run.exit()).as(run.err()).isZero();
            TestAgents.awaitApplied(agent, Duration.ofSeconds(60));
            assertThat(Files.mismatch(TestAgents.target(dir, 0), file)).isEqualTo(-1);
            r = JSON.readTree(run.out()).path("disks").get(0);
            assertThat(r.path("dirtyBytes").asLong()).isEqualTo((16L << 20) - (256L << 10));
            assertThat(r.path("sentBytes").asLong()).as("only the chunks that became zero").isEqualTo(256L << 10);
            assertThat(r.path("wireBytes").asLong()).as("zeros compress").isLessThan(16L << 10);
            assertThat(r.path("note").asText()).contains("4 zero chunk(s)");
        }
    }

    @Test
    void afterACommitToAnEarlierPointABitmapRunSendsABaselineInstead() throws Exception {
        NbdTestServers.assumeTools("qemu-img", "qemu-io", "qemu-nbd");
        long size = 32L << 20;
        Path img = dir.resolve("vm.qcow2");
        qemu("qemu-img", "create", "-q", "-f", "qcow2", img.toString(), String.valueOf(size));
        qemu("qemu-img", "bitmap", "--add", "--enable", img.toString(), "b0");
        SplittableRandom random = new SplittableRandom(29);
        writeScattered(img, random, 16, 64 << 10, size);
        Map<String, String> s = TestAgents.settingsWithRetention(dir, 1, size);
        try (Agent agent = TestAgents.start(s)) {
            SendCli cli = new SendCli(agent, dir, s);
            for (int cycle = 0; cycle <= 2; cycle++) {
                if (cycle > 0) {
                    writeScattered(img, random, 8, 64 << 10, size);
                }
                qemu("qemu-img", "bitmap", "--add", "--enable", img.toString(), "b" + (cycle + 1));
                Path raw = dir.resolve("c" + cycle + ".raw");
                qemu("qemu-img", "convert", "-O", "raw", img.toString(), raw.toString());
                SendCli.Run run;
                try (NbdTestServers.Server nbd = NbdTestServers.qemuNbd(dir, "vm", img, "qcow2", "b" + cycle)) {
                    run = cli.send("--disk", "disk-0", "--source", nbd.uri(), "--bitmap", "b" + cycle, "--name",
                            "c" + cycle, "--json");
                }
                assertThat(run.exit()).as(run.err()).isZero();
                qemu("qemu-img", "bitmap", "--remove", img.toString(), "b" + cycle);
                TestAgents.awaitApplied(agent, Duration.ofSeconds(30));
                assertThat(Files.mismatch(TestAgents.target(dir, 0), raw)).as("cycle %d", cycle).isEqualTo(-1);
                JsonNode r = JSON.readTree(run.out()).path("disks").get(0);
                if (cycle == 2) {
                    // The agent's disk went back to c0 and needs a resync: b2 (changes since c1) is no base.
                    assertThat(r.path("mode").asText()).isEqualTo("baseline");
                    assertThat(r.path("note").asText()).contains("needs a resync");
                }
                if (cycle == 1) {
                    // The operator goes back to c0 and keeps it (a failover test that became real).
                    assertThat(cli.control("recover", "--disk", "disk-0", "--to", "tag:c0", "--yes").exit()).isZero();
                    assertThat(cli.control("commit", "--disk", "disk-0").exit()).isZero();
                    assertThat(agent.disks().byId("disk-0").state()).isEqualTo(DiskState.NEEDS_RESYNC);
                }
            }
        }
    }

    @Test
    void aCutOffBitmapRunIsCoveredByTheNextRunWithTheSameBitmap() throws Exception {
        NbdTestServers.assumeTools("qemu-img", "qemu-io", "qemu-nbd");
        long size = 64L << 20;
        Path img = dir.resolve("vm.qcow2");
        qemu("qemu-img", "create", "-q", "-f", "qcow2", img.toString(), String.valueOf(size));
        qemu("qemu-img", "bitmap", "--add", "--enable", img.toString(), "b0");
        SplittableRandom random = new SplittableRandom(30);
        writeScattered(img, random, 16, 64 << 10, size);
        Map<String, String> s = TestAgents.settingsWithRetention(dir, 1, size);
        try (Agent agent = TestAgents.start(s)) {
            SendCli cli = new SendCli(agent, dir, s);
            ReplicatedDisk disk = agent.disks().byId("disk-0");
            qemu("qemu-img", "bitmap", "--add", "--enable", img.toString(), "b1");
            try (NbdTestServers.Server nbd = NbdTestServers.qemuNbd(dir, "vm", img, "qcow2", "b0")) {
                assertThat(cli.send("--disk", "disk-0", "--source", nbd.uri(), "--bitmap", "b0", "--name", "c0").exit())
                        .isZero();
            }
            qemu("qemu-img", "bitmap", "--remove", img.toString(), "b0");

            // Cycle 1 is cut off (kill -9 of the sender) halfway: per the rotation, its new bitmap b2 is dropped
            // and b1 stays the base.
            writeScattered(img, random, 128, 64 << 10, size); // 8 MiB
            qemu("qemu-img", "bitmap", "--add", "--enable", img.toString(), "b2");
            try (NbdTestServers.Server nbd = NbdTestServers.qemuNbd(dir, "vm", img, "qcow2", "b1")) {
                Process child = sendInChildJvm(agent, nbd.uri(), "b1", "--rate", "1MiB", "--name", "cut");
                try {
                    await().atMost(Duration.ofSeconds(60)).until(() -> disk.resyncStats().resyncBytes() >= 2L << 20);
                } finally {
                    child.destroyForcibly().waitFor();
                }
            }
            assertThat(disk.state()).isEqualTo(DiskState.RESYNCING);
            qemu("qemu-img", "bitmap", "--remove", img.toString(), "b2");

            // The guest went on writing; the next cycle sends b1 (everything since c0) again.
            writeScattered(img, random, 32, 64 << 10, size);
            qemu("qemu-img", "bitmap", "--add", "--enable", img.toString(), "b2");
            Path raw = dir.resolve("c1.raw");
            qemu("qemu-img", "convert", "-O", "raw", img.toString(), raw.toString());
            try (NbdTestServers.Server nbd = NbdTestServers.qemuNbd(dir, "vm", img, "qcow2", "b1")) {
                SendCli.Run run = cli.send("--disk", "disk-0", "--source", nbd.uri(), "--bitmap", "b1", "--name", "c1",
                        "--json");
                assertThat(run.exit()).as(run.err()).isZero();
                assertThat(JSON.readTree(run.out()).path("disks").get(0).path("mode").asText()).isEqualTo("bitmap");
            }
            TestAgents.awaitApplied(agent, Duration.ofSeconds(30));
            assertThat(Files.mismatch(TestAgents.target(dir, 0), raw)).isEqualTo(-1);
            assertThat(disk.state()).isEqualTo(DiskState.PROTECTED);
            assertThat(PointCatalog.points(disk)).extracting(RecoveryPoint::name).contains("c0", "c1")
                    .doesNotContain("cut");
        }
    }

    /** {@code mtagent send --bitmap} in a child JVM (so it can be killed -9 mid-way). */
    private Process sendInChildJvm(Agent agent, String uri, String bitmap, String... more) throws Exception {
        Path pass = dir.resolve("child-pass.txt");
        Files.writeString(pass, TestAgents.PASSPHRASE + "\n");
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), "-Xmx128m", "io.mtagent.agent.cli.MtAgentCli", "send",
                "--agent", "127.0.0.1:" + agent.dataAddress().getPort(), "--passphrase-file", pass.toString(),
                "--fingerprint", agent.identity().fingerprintText(), "--disk", "disk-0", "--source", uri, "--bitmap",
                bitmap));
        cmd.addAll(List.of(more));
        return new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(dir.resolve("child.log").toFile())
                .start();
    }

    /** Dirty bytes as {@code nbdinfo --map=qemu:dirty-bitmap:NAME} reports them (its granularity included). */
    private static long dirtyBytes(String uri, String bitmap) throws Exception {
        long dirty = 0;
        for (String line : NbdTestServers.run("nbdinfo", "--map=qemu:dirty-bitmap:" + bitmap, uri).split("\n")) {
            String[] f = line.trim().split("\\s+");
            if (f.length >= 3 && (Long.parseLong(f[2]) & 1) != 0) {
                dirty += Long.parseLong(f[1]);
            }
        }
        return dirty;
    }

    private static void writeScattered(Path img, SplittableRandom r, int writes, int bytes) throws Exception {
        writeScattered(img, r, writes, bytes, SIZE);
    }

    private static void writeScattered(Path img, SplittableRandom r, int writes, int bytes, long size)
            throws Exception {
        List<String> cmd = new ArrayList<>(List.of("qemu-io", "-f", "qcow2"));
        for (int i = 0; i < writes; i++) {
            long slot = size / writes;
            long off = (i * slot / bytes + r.nextLong((slot - bytes) / bytes)) * bytes; // aligned: one granule
            cmd.addAll(List.of("-c", "write -P " + (1 + r.nextInt(250)) + " " + off + " " + bytes));
        }
        cmd.add(img.toString());
        qemu(cmd.toArray(String[]::new));
    }

    private static void writeSmall(Path img, SplittableRandom r, int writes) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("qemu-io", "-f", "qcow2"));
        for (int i = 0; i < writes; i++) {
            long off = r.nextLong(SIZE / 4096) * 4096;
            cmd.addAll(List.of("-c", "write -P " + (1 + r.nextInt(250)) + " " + off + " 4k"));
        }
        cmd.add(img.toString());
        qemu(cmd.toArray(String[]::new));
    }

    private static void qemu(String... cmd) throws Exception {
        NbdTestServers.run(cmd);
    }
}
