import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.mtagent.agent.Agent;
import io.mtagent.agent.cli.MtAgentCli;
import io.mtagent.agent.config.AgentConfig;
import io.mtagent.agent.disk.ReplicatedDisk;
import io.mtagent.agent.recovery.ExportService;
import io.mtagent.agent.recovery.ProgressListener;
import io.mtagent.agent.retention.RollbackService;
import io.mtagent.agent.security.PassphraseStore;
import io.mtagent.protocol.TagType;
import io.mtagent.protocol.client.ClientOptions;
import io.mtagent.protocol.client.DiskStream;
import io.mtagent.protocol.client.ReplicationClient;
import io.netty.buffer.Unpooled;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.*;
import java.time.Duration;
import java.util.*;
import java.util.concurrent.CompletableFuture;

/**
 * One run of bench/recovery-time.sh (issue 25): prints "name value" lines, each figure measured next to its
 * baseline in the same run. Compiled against whichever jar is benchmarked (only API both builds have); the test
 * failover figure is "n/a" for a build without the command.
 *   export_ratio     plain sequential copy + fsync time / export time, of the view at the half-way tag (64 MiB disk,
 *                    256 MiB of 64 KiB random writes)
 *   rollback_ratio   rollback to the half-way tag time / plain copy time of the whole disk
 *   hash_ratio       hashing (CHECKSUM_REQUEST, 3 requests of 8 MiB in flight as Resync sends them) MB/s / dd O_DIRECT
 *                    MB/s of the same 256 MiB target
 *   failover_ms      'mtagent test-failover' command (in-process CLI, after one warm-up test: no JVM start) →
 *                    first 4 KiB NBD read done (qemu-io, its process start included), point 8 segments back
 *   sparse_bytes     bytes allocated to the export of a 256 MiB disk holding 16 MiB of data
 */
public class RecoveryTimeBench {
    static final String PASS = "benchmark passphrase";

    public static void main(String[] a) throws Exception {
        Path dir = Path.of(a[0]);
        PrintStream out = System.out;
        System.setOut(new PrintStream(PrintStream.nullOutputStream())); // the CLI's own output
        exportAndRollback(dir.resolve("er"), out);
        hashing(dir.resolve("hash"), out);
        sparse(dir.resolve("sparse"), out);
        failover(dir.resolve("failover"), out);
    }

    static Map<String, String> settings(Path dir, String size) {
        Map<String, String> s = new LinkedHashMap<>();
        s.put("data.listen", "127.0.0.1:0"); s.put("control.listen", "127.0.0.1:0");
        s.put("state.dir", dir.resolve("state").toString()); s.put("cache.dir", dir.resolve("cache").toString());
        s.put("retention.dir", dir.resolve("retention").toString()); s.put("retention.allow.shared.volume", "true");
        s.put("auth.iterations", "10000");
        s.put("disk.d0.id", "d0"); s.put("disk.d0.path", dir.resolve("d0.img").toString()); s.put("disk.d0.size", size);
        return s;
    }

    static Agent start(Map<String, String> s) throws Exception {
        AgentConfig cfg = AgentConfig.of(s);
        Files.createDirectories(cfg.stateDir());
        PassphraseStore.set(cfg.stateDir(), PASS.toCharArray(), 10000);
        return Agent.start(cfg, new SimpleMeterRegistry(), l -> { });
    }

    static ReplicationClient connect(Agent agent) throws Exception {
        return ReplicationClient.connect(ClientOptions.builder("127.0.0.1", agent.dataAddress().getPort())
                .passphrase(PASS.toCharArray()).compress(false).build());
    }

    static void awaitApplied(ReplicatedDisk d) throws InterruptedException {
        while (d.appliedSeq() < d.lastDurableSeq()) Thread.sleep(10);
    }

    /** Copy + fsync of the target with its page cache dropped first (cold, as the export and rollback read it). */
    static double plainCopy(Path from, Path to) throws Exception {
        io.mtagent.nativeio.PageCache.dropClean(from, 0, Files.size(from));
        long t0 = System.nanoTime();
        Files.copy(from, to, StandardCopyOption.REPLACE_EXISTING);
        try (FileChannel ch = FileChannel.open(to, StandardOpenOption.WRITE)) { ch.force(true); }
        double s = (System.nanoTime() - t0) / 1e9;
        Files.delete(to);
        return s;
    }

    static void exportAndRollback(Path dir, PrintStream out) throws Exception {
        deleteTree(dir);
        Files.createDirectories(dir);
        try (Agent agent = start(settings(dir, "64MiB")); ReplicationClient c = connect(agent)) {
            DiskStream st = c.openDisk("d0", 1);
            SplittableRandom r = new SplittableRandom(1);
            byte[] data = new byte[64 << 10];
            long tag = 0;
            for (int i = 0; i < 4096; i++) { // 256 MiB of 64 KiB random writes over the 64 MiB disk
                r.nextBytes(data);
                st.write((64L << 10) * r.nextInt(1024), Unpooled.wrappedBuffer(data), System.currentTimeMillis() * 1000);
                if (i == 2047) tag = st.tag(TagType.APP_CONSISTENT, "half", System.currentTimeMillis() * 1000);
            }
            st.flush(Duration.ofMinutes(5));
            ReplicatedDisk d = agent.disks().byId("d0");
            awaitApplied(d);
            double copy = plainCopy(dir.resolve("d0.img"), dir.resolve("plain-copy.img"));
            long t0 = System.nanoTime();
            new ExportService().export(d, tag, dir.resolve("export.img"), true, ProgressListener.NONE);
            double exp = (System.nanoTime() - t0) / 1e9;
            out.printf("export_ratio %.3f%n", copy / exp);
            out.printf("export_mbps %.1f%n", (64 << 20) / 1e6 / exp);
            out.printf("copy_mbps %.1f%n", (64 << 20) / 1e6 / copy);
            Files.delete(dir.resolve("export.img"));
            double copy2 = plainCopy(dir.resolve("d0.img"), dir.resolve("plain-copy.img"));
            io.mtagent.nativeio.PageCache.dropClean(dir.resolve("d0.img"), 0, 64 << 20);
            t0 = System.nanoTime();
            RollbackService.recover(d, tag, false, RollbackService.Progress.NONE);
            double rb = (System.nanoTime() - t0) / 1e9;
            out.printf("rollback_ratio %.3f%n", rb / copy2);
            out.printf("rollback_s %.3f%n", rb);
        }
        deleteTree(dir);
    }

    static void hashing(Path dir, PrintStream out) throws Exception {
        deleteTree(dir);
        Files.createDirectories(dir);
        long size = 256L << 20;
        Path target = dir.resolve("d0.img");
        byte[] buf = new byte[1 << 20];
        SplittableRandom r = new SplittableRandom(2);
        try (FileChannel ch = FileChannel.open(target, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
            for (long off = 0; off < size; off += buf.length) { r.nextBytes(buf); ch.write(ByteBuffer.wrap(buf), off); }
            ch.force(true);
        }
        try (Agent agent = start(settings(dir, "256MiB")); ReplicationClient c = connect(agent)) {
            DiskStream st = c.openDisk("d0", 1);
            int chunk = 1 << 20;
            long range = 8L << 20;
            for (int warm = 0; warm < 2; warm++) st.checksums(0, 64L * chunk, chunk).get();
            long t0 = System.nanoTime();
            ArrayDeque<CompletableFuture<DiskStream.Digests>> q = new ArrayDeque<>();
            for (long off = 0; off < size; off += range) {
                if (q.size() == 3) q.poll().get();
                q.add(st.checksums(off, Math.min(range, size - off), chunk));
            }
            while (!q.isEmpty()) q.poll().get();
            double hs = (System.nanoTime() - t0) / 1e9;
            long d0 = System.nanoTime();
            Process dd = new ProcessBuilder("dd", "if=" + target, "of=/dev/null", "bs=1M", "iflag=direct")
                    .redirectErrorStream(true).start();
            dd.getInputStream().readAllBytes();
            dd.waitFor();
            double ds = (System.nanoTime() - d0) / 1e9;
            out.printf("hash_ratio %.3f%n", ds / hs);
            out.printf("hash_mbps %.0f%n", size / 1e6 / hs);
            out.printf("dd_mbps %.0f%n", size / 1e6 / ds);
        }
        deleteTree(dir);
    }

    static void sparse(Path dir, PrintStream out) throws Exception {
        deleteTree(dir);
        Files.createDirectories(dir);
        try (Agent agent = start(settings(dir, "256MiB")); ReplicationClient c = connect(agent)) {
            DiskStream st = c.openDisk("d0", 1);
            byte[] data = new byte[64 << 10];
            SplittableRandom r = new SplittableRandom(3);
            for (int i = 0; i < 256; i++) { // 16 MiB of data: every 16th 64 KiB slot
                r.nextBytes(data);
                st.write((1L << 20) * i, Unpooled.wrappedBuffer(data), System.currentTimeMillis() * 1000);
            }
            long tag = st.tag(TagType.APP_CONSISTENT, "data", System.currentTimeMillis() * 1000);
            st.flush(Duration.ofMinutes(1));
            ReplicatedDisk d = agent.disks().byId("d0");
            awaitApplied(d);
            Path exp = dir.resolve("export.img");
            new ExportService().export(d, tag, exp, true, ProgressListener.NONE);
            Process p = new ProcessBuilder("stat", "-c", "%b %B", exp.toString()).start();
            String[] s = new String(p.getInputStream().readAllBytes()).trim().split(" ");
            out.printf("sparse_bytes %d%n", Long.parseLong(s[0]) * Long.parseLong(s[1]));
        }
        deleteTree(dir);
    }

    static void failover(Path dir, PrintStream out) throws Exception {
        deleteTree(dir);
        Files.createDirectories(dir);
        Map<String, String> s = settings(dir, "64MiB");
        s.put("retention.segment.bytes", "4MiB");
        Path conf = dir.resolve("mtagent.properties");
        try (Agent agent = start(s); ReplicationClient c = connect(agent)) {
            DiskStream st = c.openDisk("d0", 1);
            byte[] data = new byte[64 << 10];
            SplittableRandom r = new SplittableRandom(4);
            long tag = st.tag(TagType.APP_CONSISTENT, "old", System.currentTimeMillis() * 1000);
            for (int i = 0; i < 512; i++) { // 32 MiB after the point: 8 journal segments
                r.nextBytes(data);
                st.write((64L << 10) * r.nextInt(1024), Unpooled.wrappedBuffer(data), System.currentTimeMillis() * 1000);
            }
            st.flush(Duration.ofMinutes(1));
            awaitApplied(agent.disks().byId("d0"));
            StringBuilder text = new StringBuilder();
            s.put("control.listen", "127.0.0.1:" + agent.controlAddress().getPort());
            s.forEach((k, v) -> text.append(k).append('=').append(v).append('\n'));
            Files.writeString(conf, text);
            // A warm-up test first (the in-process CLI's classes, TLS), ended at once; then the measured one.
            if (MtAgentCli.execute("test-failover", "--config", conf.toString(), "--disk", "d0", "--point", "tag:old",
                    "--scratch-cap", "64MiB") != 0) {
                out.println("failover_ms n/a");
                return;
            }
            MtAgentCli.execute("test-failover", "--config", conf.toString(), "--end", "test-1");
            long t0 = System.nanoTime();
            MtAgentCli.execute("test-failover", "--config", conf.toString(), "--disk", "d0", "--point", "tag:old",
                    "--scratch-cap", "64MiB");
            String url = "nbd+unix:///d0@seq:" + tag + "+test-2?socket=" + agent.config().nbdSocket().toAbsolutePath();
            Process q = new ProcessBuilder("qemu-io", "-f", "raw", "-r", "-c", "read 0 4k", url)
                    .redirectErrorStream(true).start();
            q.getInputStream().readAllBytes();
            int qrc = q.waitFor();
            double ms = (System.nanoTime() - t0) / 1e6;
            out.println(qrc == 0 ? String.format("failover_ms %.0f", ms) : "failover_ms failed");
            MtAgentCli.execute("test-failover", "--config", conf.toString(), "--end", "test-2");
        }
        deleteTree(dir);
    }

    static void deleteTree(Path p) throws Exception {
        if (!Files.exists(p)) return;
        try (var w = Files.walk(p)) {
            for (Path x : w.sorted(Comparator.reverseOrder()).toList()) Files.delete(x);
        }
    }
}
