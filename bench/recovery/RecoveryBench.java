import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.mtagent.agent.Agent;
import io.mtagent.agent.config.AgentConfig;
import io.mtagent.agent.disk.ReplicatedDisk;
import io.mtagent.agent.journal.PointInTimeView;
import io.mtagent.agent.recovery.ExportService;
import io.mtagent.agent.retention.RollbackService;
import io.mtagent.agent.security.PassphraseStore;
import io.mtagent.protocol.TagType;
import io.mtagent.protocol.client.ClientOptions;
import io.mtagent.protocol.client.DiskStream;
import io.mtagent.protocol.client.ReplicationClient;
import io.netty.buffer.Unpooled;
import java.nio.channels.FileChannel;
import java.nio.file.*;
import java.time.Duration;
import java.util.*;

/** Measurement for bench/recovery.sh: export and rollback MB/s vs a plain sequential copy; journal bytes per written byte. */
public class RecoveryBench {
    public static void main(String[] a) throws Exception {
        Path dir = Path.of(a[0]);
        long diskBytes = 64L << 20;
        Map<String, String> s = new LinkedHashMap<>();
        s.put("data.listen", "127.0.0.1:0"); s.put("control.listen", "127.0.0.1:0");
        s.put("state.dir", dir.resolve("state").toString()); s.put("cache.dir", dir.resolve("cache").toString());
        s.put("retention.dir", dir.resolve("retention").toString()); s.put("retention.allow.shared.volume", "true");
        s.put("auth.iterations", "10000");
        s.put("disk.d0.id", "d0"); s.put("disk.d0.path", dir.resolve("d0.img").toString()); s.put("disk.d0.size", "64MiB");
        AgentConfig cfg = AgentConfig.of(s);
        Files.createDirectories(cfg.stateDir());
        PassphraseStore.set(cfg.stateDir(), "benchmark passphrase".toCharArray(), 10000);
        try (Agent agent = Agent.start(cfg, new SimpleMeterRegistry(), l -> { });
             ReplicationClient c = ReplicationClient.connect(ClientOptions.builder("127.0.0.1", agent.dataAddress().getPort())
                     .passphrase("benchmark passphrase".toCharArray()).compress(false).build())) {
            DiskStream st = c.openDisk("d0", 1);
            SplittableRandom r = new SplittableRandom(1);
            byte[] data = new byte[64 << 10];
            long written = 0; long tag = 0;
            for (int i = 0; i < 4096; i++) { // 256 MiB of 64 KiB random writes over the 64 MiB disk
                r.nextBytes(data);
                st.write((64L << 10) * r.nextInt(1024), Unpooled.wrappedBuffer(data), System.currentTimeMillis() * 1000);
                written += data.length;
                if (i == 2047) tag = st.tag(TagType.APP_CONSISTENT, "half", System.currentTimeMillis() * 1000);
            }
            st.flush(Duration.ofMinutes(5));
            ReplicatedDisk d = agent.disks().byId("d0");
            while (d.appliedSeq() < d.lastDurableSeq()) Thread.sleep(20);
            long journal = d.journal().sizeBytes();
            System.out.printf("journal: %d bytes for %d bytes written = %.3f bytes per written byte%n", journal, written, journal / (double) written);

            Path copy = dir.resolve("plain-copy.img");
            long t0 = System.nanoTime();
            Files.copy(dir.resolve("d0.img"), copy, StandardCopyOption.REPLACE_EXISTING);
            try (FileChannel ch = FileChannel.open(copy, StandardOpenOption.WRITE)) { ch.force(true); }
            double copySecs = (System.nanoTime() - t0) / 1e9;
            System.out.printf("plain sequential copy of the 64 MiB target + fsync: %.1f MB/s%n", diskBytes / 1e6 / copySecs);

            t0 = System.nanoTime();
            new ExportService().export(d, tag, dir.resolve("export.img"), true, io.mtagent.agent.recovery.ProgressListener.NONE);
            double expSecs = (System.nanoTime() - t0) / 1e9;
            System.out.printf("export of the view at the half-way tag: %.1f MB/s (%.2f of the plain copy)%n",
                    diskBytes / 1e6 / expSecs, copySecs / expSecs);

            RollbackService.Plan plan = RollbackService.plan(d, tag);
            long writeBack; // what the rollback writes: each sector changed after the tag once, not every image
            try (PointInTimeView view = d.view(tag, Duration.ofSeconds(30))) {
                writeBack = view.extents(0, diskBytes).coveredBytes();
            }
            t0 = System.nanoTime();
            RollbackService.recover(d, tag, false, RollbackService.Progress.NONE);
            double rbSecs = (System.nanoTime() - t0) / 1e9;
            System.out.printf("rollback to the tag: %d before-images (%.1f MB) after it; %.1f MB written back, each changed"
                    + " sector once (+ the same captured for undo), in %.2f s = %.1f MB/s written back, %.2f s vs %.2f s"
                    + " for a plain copy of the whole disk%n",
                    plan.images(), plan.bytes() / 1e6, writeBack / 1e6, rbSecs, writeBack / 1e6 / rbSecs, rbSecs, copySecs);
            System.out.println("rollback target equals export: " + Arrays.equals(Files.readAllBytes(dir.resolve("d0.img")),
                    Files.readAllBytes(dir.resolve("export.img"))));
        }
    }
}
