package io.mtagent.agent.recovery;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mtagent.agent.Agent;
import io.mtagent.agent.TestAgents;
import io.mtagent.agent.disk.ReplicatedDisk;
import io.mtagent.agent.sim.DiskModel;
import io.mtagent.protocol.TagType;
import io.mtagent.protocol.client.DiskStream;
import io.mtagent.protocol.client.ReplicationClient;
import io.netty.buffer.Unpooled;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real agent with a retention journal streams random overlapping writes with tags; the view at a tag, read
 * while the agent keeps streaming, must equal the model's image at that tag — exported to a file by
 * {@link ExportService} and read over NBD by {@code qemu-img convert}. Also measures export speed next to a
 * plain copy of the same target file.
 */
class ExportAndNbdModelTest {
    private static final int DISK_BYTES = 16 << 20;
    private static final Duration WAIT = Duration.ofSeconds(30);

    @TempDir
    Path dir;

    @Test
    void viewAtATagExportsAndServesTheModelsImageWhileStreamingGoesOn() throws Exception {
        long seed = Long.getLong("mtagent.export.seed", System.nanoTime());
        SplittableRandom rnd = new SplittableRandom(seed);
        Map<String, String> settings = TestAgents.settingsWithRetention(dir, 1, DISK_BYTES);
        DiskModel model = new DiskModel(DISK_BYTES);

        try (Agent agent = TestAgents.start(settings);
             ReplicationClient client = ReplicationClient.connect(TestAgents.client(agent).build())) {
            ReplicatedDisk disk = agent.disks().byId("disk-0");
            DiskStream s = client.openDisk("disk-0", 1);
            long ts = 1_000_000;
            for (int n = 1; n <= 300; n++) {
                writeRandom(s, model, rnd, ts++);
            }
            long tag = s.tag(TagType.APP_CONSISTENT, "before-test-failover", ts);
            byte[] expected = model.snapshot();
            String expectedSha = sha256(expected);
            s.awaitAcked(tag, WAIT);

            // The agent keeps streaming (overwriting what the tag's image holds) while we read the view.
            AtomicBoolean stop = new AtomicBoolean();
            AtomicInteger laterWrites = new AtomicInteger();
            long seed2 = rnd.nextLong();
            Thread streamer = new Thread(() -> {
                SplittableRandom r2 = new SplittableRandom(seed2);
                DiskModel scratch = new DiskModel(DISK_BYTES);
                long t = 2_000_000;
                try {
                    while (!stop.get()) {
                        writeRandom(s, scratch, r2, t++);
                        laterWrites.incrementAndGet();
                    }
                    s.flush(WAIT);
                } catch (Exception e) {
                    throw new RuntimeException(e);
                }
            }, "streamer");
            streamer.start();
            try {
                // 1. Export to a file, with progress.
                List<ProgressListener.Progress> seen = new ArrayList<>();
                Path out = dir.resolve("export.raw");
                ExportService.Result r = new ExportService().export(disk, tag, out, seen::add);
                assertThat(sha256(Files.readAllBytes(out))).as("seed %d: exported image at tag", seed)
                        .isEqualTo(expectedSha);
                assertThat(seen.get(0).doneBytes()).isZero();
                assertThat(seen.get(seen.size() - 1).finished()).isTrue();
                assertThat(seen.get(seen.size() - 1).doneBytes()).isEqualTo(DISK_BYTES);
                assertThat(seen).extracting(ProgressListener.Progress::totalBytes).containsOnly((long) DISK_BYTES);
                // Refuses to overwrite a non-empty file unless asked.
                assertThatThrownBy(() -> new ExportService().export(disk, tag, out, ProgressListener.NONE))
                        .isInstanceOf(IllegalStateException.class).hasMessageContaining("--overwrite");
                new ExportService().export(disk, tag, out, true, ProgressListener.NONE);
                assertThat(sha256(Files.readAllBytes(out))).isEqualTo(expectedSha);

                // Speed next to a plain sequential copy of the same target file (same run, same disk).
                Path copy = dir.resolve("plain-copy.raw");
                long t0 = System.nanoTime();
                Files.copy(TestAgents.target(dir, 0), copy, StandardCopyOption.REPLACE_EXISTING);
                try (var ch = java.nio.channels.FileChannel.open(copy, java.nio.file.StandardOpenOption.WRITE)) {
                    ch.force(false);
                }
                double copyMbs = DISK_BYTES / 1e6 / ((System.nanoTime() - t0) / 1e9);
                System.err.printf("export speed: %.1f MB/s (view at seq %d, %d MiB, journal overlay, fdatasync);"
                        + " plain Files.copy + fdatasync of the target: %.1f MB/s%n", r.megabytesPerSecond(), tag,
                        DISK_BYTES >> 20, copyMbs);

                // 2. The same view over NBD, read by qemu-img.
                File qemuImg = findOnPath("qemu-img");
                if (qemuImg == null) {
                    System.err.println("SKIPPED: qemu-img is not installed, so the NBD export was not read by a real"
                            + " NBD client. Install it with: apt-get install qemu-utils");
                    Assumptions.assumeTrue(false, "qemu-img missing (apt-get install qemu-utils)");
                }
                Path socket = dir.resolve("nbd.sock");
                try (NbdServer nbd = new NbdServer(List.of(NbdListener.unix(socket, Optional.empty())),
                        NbdLimits.defaults()).start()) {
                    NbdExport export = NbdExport.of(disk, tag, WAIT);
                    nbd.addExport(export);
                    Path raw = dir.resolve("nbd.raw");
                    long q0 = System.nanoTime();
                    Process p = new ProcessBuilder(qemuImg.getPath(), "convert", "-f", "raw", "-O", "raw",
                            "nbd+unix:///" + export.name() + "?socket=" + socket, raw.toString())
                            .redirectErrorStream(true).start();
                    boolean exited = p.waitFor(60, TimeUnit.SECONDS);
                    String output = new String(p.getInputStream().readAllBytes());
                    if (!exited) {
                        p.destroyForcibly();
                    }
                    assertThat(exited).as("qemu-img finished").isTrue();
                    assertThat(p.exitValue()).as("qemu-img: %s", output).isZero();
                    double nbdMbs = DISK_BYTES / 1e6 / ((System.nanoTime() - q0) / 1e9);
                    assertThat(sha256(Files.readAllBytes(raw))).as("seed %d: qemu-img read of the view", seed)
                            .isEqualTo(expectedSha);
                    System.err.printf("qemu-img convert over NBD: %.1f MB/s (including process start)%n", nbdMbs);
                }
            } finally {
                stop.set(true);
                streamer.join(60_000);
            }
            assertThat(laterWrites.get()).as("the agent kept streaming during the reads").isPositive();
        }
    }

    @Test
    void offlineExportCommandWritesTheImageAtATag() throws Exception {
        int diskBytes = 2 << 20;
        SplittableRandom rnd = new SplittableRandom(7);
        Map<String, String> settings = TestAgents.settingsWithRetention(dir, 1, diskBytes);
        DiskModel model = new DiskModel(diskBytes);
        byte[] atTag;
        long tagSeq;
        try (Agent agent = TestAgents.start(settings);
             ReplicationClient client = ReplicationClient.connect(TestAgents.client(agent).build())) {
            DiskStream s = client.openDisk("disk-0", 1);
            for (int n = 0; n < 50; n++) {
                byte[] data = new byte[4096];
                rnd.nextBytes(data);
                long offset = 4096L * rnd.nextInt(diskBytes / 4096);
                s.write(offset, Unpooled.wrappedBuffer(data), n);
                model.apply(offset, data);
            }
            tagSeq = s.tag(TagType.CRASH_CONSISTENT, "offline-tag", 100);
            atTag = model.snapshot();
            for (int n = 0; n < 50; n++) {
                byte[] data = new byte[8192];
                rnd.nextBytes(data);
                s.write(0, Unpooled.wrappedBuffer(data), 200 + n); // overwrite what the tag holds
            }
            s.flush(WAIT);
            TestAgents.awaitApplied(agent, WAIT);
        }
        Path conf = dir.resolve("agent.properties");
        java.util.Properties props = new java.util.Properties();
        props.putAll(settings);
        try (var w = Files.newBufferedWriter(conf)) {
            props.store(w, null);
        }
        Path out = dir.resolve("out").resolve("offline.raw");
        assertThat(io.mtagent.agent.cli.MtAgentCli.execute("export", "--config", conf.toString(), "--disk", "disk-0",
                "--point", "offline-tag", "--out", out.toString())).isZero();
        assertThat(sha256(Files.readAllBytes(out))).isEqualTo(sha256(atTag));
        assertThat(io.mtagent.agent.cli.MtAgentCli.execute("export", "--config", conf.toString(), "--disk", "disk-0",
                "--point", Long.toString(tagSeq), "--out", out.toString())).as("non-empty file, no --overwrite")
                .isEqualTo(2);
        assertThat(io.mtagent.agent.cli.MtAgentCli.execute("export", "--config", conf.toString(), "--disk", "disk-0",
                "--point", "999999", "--out", dir.resolve("out").resolve("x.raw").toString())).as("beyond the journal").isEqualTo(2);
        assertThat(io.mtagent.agent.cli.MtAgentCli.execute("export", "--config", conf.toString(), "--disk", "disk-0",
                "--point", "latest", "--out", out.toString(), "--overwrite")).isZero();
        byte[] target = Files.readAllBytes(TestAgents.target(dir, 0));
        assertThat(sha256(Files.readAllBytes(out))).as("latest = the target as applied").isEqualTo(sha256(target));
    }

    private static void writeRandom(DiskStream s, DiskModel model, SplittableRandom rnd, long ts) throws Exception {
        int length = 512 * (1 + rnd.nextInt(rnd.nextInt(10) == 0 ? 512 : 32));
        long offset = 512L * rnd.nextInt((DISK_BYTES - length) / 512 + 1);
        byte[] data = new byte[length];
        rnd.nextBytes(data);
        s.write(offset, Unpooled.wrappedBuffer(data), ts);
        model.apply(offset, data);
    }

    static String sha256(byte[] data) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data));
    }

    static File findOnPath(String tool) {
        for (String d : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
            File f = new File(d, tool);
            if (f.canExecute()) {
                return f;
            }
        }
        return null;
    }
}
