import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.mtagent.agent.Agent;
import io.mtagent.agent.config.AgentConfig;
import io.mtagent.agent.security.PassphraseStore;
import io.mtagent.protocol.ResyncFrames;
import io.mtagent.protocol.client.ClientOptions;
import io.mtagent.protocol.client.DiskStream;
import io.mtagent.protocol.client.ReplicationClient;
import io.mtagent.protocol.client.Resync;
import io.mtagent.protocol.client.SourceDevice;
import io.netty.buffer.Unpooled;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.*;
import java.time.Duration;
import java.util.*;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Measurement for bench/resync.sh (issue 10's note):
 *  1. hashing speed of CHECKSUM_REQUESTs over a whole disk next to a plain sequential read of the same file;
 *  2. a differential resync of the disk with 1 % of its chunks differing: bytes sent vs differing bytes;
 *  3. live-write throughput of one disk alone, then while another disk runs a rate-limited full resync, then
 *     while it runs an unlimited one (each on a fresh agent).
 */
public class ResyncBench {
    static final String PASS = "benchmark passphrase";

    public static void main(String[] a) throws Exception {
        Path dir = Path.of(a[0]);
        long size = a.length > 1 ? Long.parseLong(a[1]) : 256L << 20;
        int seconds = a.length > 2 ? Integer.parseInt(a[2]) : 8;
        long rate = a.length > 3 ? Long.parseLong(a[3]) : 32L << 20;
        Path source = dir.resolve("source.img");
        random(source, size, 1);

        // 1 + 2: hashing and a 1 % differential resync.
        Path run = dir.resolve("run1");
        Files.createDirectories(run);
        Path target = run.resolve("d0.img");
        Files.copy(source, target);
        int chunk = 1 << 20;
        int differing = (int) Math.max(1, size / chunk / 100);
        damage(target, chunk, differing, 2);
        try (Agent agent = start(run, size, 1, 0); ReplicationClient c = connect(agent);
             SourceDevice src = SourceDevice.open(source)) {
            DiskStream st = c.openDisk("d0", 1);
            for (int warm = 0; warm < 2; warm++) { // warm-up pass (JIT), then the measured one
                st.checksums(0, Math.min(64L * chunk, size), chunk).get();
            }
            long t0 = System.nanoTime();
            for (long off = 0; off < size; off += 1024L * chunk) {
                st.checksums(off, Math.min(1024L * chunk, size - off), chunk).get();
            }
            double hs = (System.nanoTime() - t0) / 1e9;
            // The same with 3 requests in flight (what Resync does): both hash workers busy.
            t0 = System.nanoTime();
            ArrayDeque<java.util.concurrent.CompletableFuture<DiskStream.Digests>> q = new ArrayDeque<>();
            for (long off = 0; off < size; off += 64L * chunk) {
                if (q.size() == 3) q.poll().get();
                q.add(st.checksums(off, Math.min(64L * chunk, size - off), chunk));
            }
            while (!q.isEmpty()) q.poll().get();
            double hs3 = (System.nanoTime() - t0) / 1e9;
            java.security.MessageDigest md = java.security.MessageDigest.getInstance("SHA-256");
            byte[] blk = new byte[1 << 20];
            for (int i = 0; i < 64; i++) md.digest(blk);
            t0 = System.nanoTime();
            for (int i = 0; i < 256; i++) md.digest(blk);
            double shaSecs = (System.nanoTime() - t0) / 1e9;
            System.out.printf("SHA-256 alone (JDK MessageDigest, one core): %.0f MB/s%n", 256 * 1.048576 / shaSecs);
            System.out.printf("hashing with 3 requests in flight (2 hash workers): %.0f MB/s%n", size / 1e6 / hs3);
            t0 = System.nanoTime();
            try (FileChannel ch = FileChannel.open(target)) {
                ByteBuffer b = ByteBuffer.allocateDirect(1 << 20);
                for (long off = 0; off < size; off += b.capacity()) { b.clear(); ch.read(b, off); }
            }
            double rs = (System.nanoTime() - t0) / 1e9;
            System.out.printf("hashing %d MiB through CHECKSUM_REQUEST (SHA-256, 1 MiB chunks): %.0f MB/s;"
                    + " plain sequential read of the same file (page cache as it is): %.0f MB/s%n",
                    size >> 20, size / 1e6 / hs, size / 1e6 / rs);
            t0 = System.nanoTime();
            Resync.Result r = st.resync(src, Resync.Options.defaults().withChunkSize(chunk));
            double secs = (System.nanoTime() - t0) / 1e9;
            System.out.printf("differential resync of %d MiB, %d of %d chunks (%.1f %%) differing: sent %.2f MiB on the"
                    + " wire for %.2f MiB differing (%.3fx) + %.1f KiB checksum traffic, %.2f s%n", size >> 20,
                    r.chunksDiffering(), size / chunk, 100.0 * differing / (size / chunk), r.wireBytesSent() / 1048576.0,
                    differing * (double) chunk / 1048576.0, r.wireBytesSent() / (double) (differing * (long) chunk),
                    r.checksumBytes() / 1024.0, secs);
        }

        // 3: isolation.
        liveThroughput(dir.resolve("warm"), size, seconds, -1, source); // warm-up (JIT), not reported
        int rounds = a.length > 4 ? Integer.parseInt(a[4]) : 3;
        double[] lim = new double[rounds];
        double[] unl = new double[rounds];
        for (int i = 0; i < rounds; i++) { // interleaved, so a noisy neighbour hits all three kinds alike
            double alone = liveThroughput(dir.resolve("alone"), size, seconds, -1, source);
            double limited = liveThroughput(dir.resolve("limited"), size, seconds, rate, source);
            double unlimited = liveThroughput(dir.resolve("unlimited"), size, seconds, 0, source);
            lim[i] = limited / alone;
            unl[i] = unlimited / alone;
            System.out.printf("round %d: disk A alone %.1f MB/s; with disk B resyncing at %d MiB/s: %.1f MB/s (%.2fx);"
                    + " with B resyncing unlimited: %.1f MB/s (%.2fx)%n", i + 1, alone, rate >> 20, limited, lim[i],
                    unlimited, unl[i]);
        }
        Arrays.sort(lim);
        Arrays.sort(unl);
        System.out.printf("median over %d rounds: rate-limited resync %.2fx, unlimited resync %.2fx of disk A alone%n",
                rounds, lim[rounds / 2], unl[rounds / 2]);
    }

    /** MB/s of acknowledged 64 KiB writes to disk 0 over {@code seconds}; resyncRate -1 = no resync on disk 1. */
    static double liveThroughput(Path run, long size, int seconds, long resyncRate, Path source) throws Exception {
        deleteTree(run); // disk B (d1) differs entirely from the source
        Files.createDirectories(run);
        random(run.resolve("d1.img"), size, 9);
        try (Agent agent = start(run, size, 2, Math.max(0, resyncRate)); ReplicationClient c = connect(agent);
             ReplicationClient c2 = connect(agent); SourceDevice src = SourceDevice.open(source)) {
            DiskStream a = c.openDisk("d0", 1);
            DiskStream b = c2.openDisk("d1", 1);
            AtomicBoolean stop = new AtomicBoolean();
            Thread resync = null;
            if (resyncRate >= 0) {
                resync = new Thread(() -> {
                    try {
                        b.resync(src, Resync.Options.defaults().withChunkSize(1 << 20).withRate(resyncRate)
                                .withProgress(p -> { if (stop.get()) throw new IllegalStateException("stop"); }));
                    } catch (Exception e) {
                        // stopped at the end of the measurement
                    }
                });
                resync.start();
                Thread.sleep(500);
            }
            long bBefore = b.wireBytesQueued();
            byte[] data = new byte[64 << 10];
            SplittableRandom r = new SplittableRandom(3);
            r.nextBytes(data);
            long bytes = 0;
            long t0 = System.nanoTime();
            long end = t0 + seconds * 1_000_000_000L;
            while (System.nanoTime() < end) {
                a.write((64L << 10) * r.nextInt((int) (size >> 16)), Unpooled.wrappedBuffer(data),
                        System.currentTimeMillis() * 1000);
                bytes += data.length;
            }
            a.flush(Duration.ofMinutes(2));
            double secs = (System.nanoTime() - t0) / 1e9;
            if (resyncRate >= 0) {
                System.out.printf("  (disk B resync sent %.1f MB/s during the window)%n",
                        (b.wireBytesQueued() - bBefore) / 1e6 / secs);
            }
            stop.set(true);
            if (resync != null) {
                c2.close();
                resync.join(30_000);
            }
            return bytes / 1e6 / secs;
        }
    }

    static void deleteTree(Path p) throws Exception {
        if (!Files.exists(p)) return;
        try (var w = Files.walk(p)) {
            for (Path x : w.sorted(Comparator.reverseOrder()).toList()) Files.delete(x);
        }
    }

    static Agent start(Path dir, long size, int disks, long hashRate) throws Exception {
        Map<String, String> s = new LinkedHashMap<>();
        s.put("data.listen", "127.0.0.1:0"); s.put("control.listen", "127.0.0.1:0");
        s.put("state.dir", dir.resolve("state").toString()); s.put("cache.dir", dir.resolve("cache").toString());
        s.put("retention.dir", dir.resolve("retention").toString()); s.put("retention.allow.shared.volume", "true");
        s.put("auth.iterations", "10000");
        s.put("resync.hash.rate", String.valueOf(hashRate));
        for (int i = 0; i < disks; i++) {
            s.put("disk.d" + i + ".id", "d" + i);
            s.put("disk.d" + i + ".path", dir.resolve("d" + i + ".img").toString());
            s.put("disk.d" + i + ".size", String.valueOf(size));
        }
        AgentConfig cfg = AgentConfig.of(s);
        Files.createDirectories(cfg.stateDir());
        PassphraseStore.set(cfg.stateDir(), PASS.toCharArray(), 10000);
        return Agent.start(cfg, new SimpleMeterRegistry(), l -> { });
    }

    static ReplicationClient connect(Agent agent) throws Exception {
        return ReplicationClient.connect(ClientOptions.builder("127.0.0.1", agent.dataAddress().getPort())
                .passphrase(PASS.toCharArray()).compress(false).build());
    }

    static void random(Path f, long size, long seed) throws Exception {
        Files.createDirectories(f.toAbsolutePath().getParent());
        SplittableRandom r = new SplittableRandom(seed);
        byte[] b = new byte[1 << 20];
        try (RandomAccessFile raf = new RandomAccessFile(f.toFile(), "rw")) {
            raf.setLength(size);
            for (long p = 0; p < size; p += b.length) { r.nextBytes(b); raf.write(b, 0, (int) Math.min(b.length, size - p)); }
        }
    }

    static void damage(Path f, int chunk, int count, long seed) throws Exception {
        SplittableRandom r = new SplittableRandom(seed);
        byte[] b = new byte[chunk];
        try (RandomAccessFile raf = new RandomAccessFile(f.toFile(), "rw")) {
            int[] picked = r.ints(0, (int) (raf.length() / chunk)).distinct().limit(count).toArray();
            for (int c : picked) { r.nextBytes(b); raf.seek((long) c * chunk); raf.write(b); }
        }
    }
}
