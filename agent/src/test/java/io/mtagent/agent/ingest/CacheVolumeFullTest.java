package io.mtagent.agent.ingest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.mtagent.agent.Agent;
import io.mtagent.agent.TestAgents;
import io.mtagent.agent.control.RateTracker;
import io.mtagent.agent.control.RuntimeSettings;
import io.mtagent.agent.control.StatusReport;
import io.mtagent.agent.disk.ReplicatedDisk;
import io.mtagent.agent.sim.DiskModel;
import io.mtagent.protocol.DiskState;
import io.mtagent.protocol.client.DiskStream;
import io.mtagent.protocol.client.ReplicationClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A cache volume that really fills (a 9 MiB tmpfs, ENOSPC from the kernel) is a temporary shortage: the ingest
 * log holds the writes and retries, the process server is held back (no ack, no credit), the health report says
 * MT-2006, and the disk never becomes failed; once space is freed (the applier applies and frees segments),
 * replication goes on and every acknowledged write reaches the target. Needs root (mount); skips loudly otherwise.
 */
class CacheVolumeFullTest {
    private static final int DISK = 16 << 20;
    private static final int WRITE = 64 << 10;

    @TempDir
    Path dir;

    @Test
    void aFullCacheVolumeHoldsTheWritesAndNeverFailsTheDisk() throws Exception {
        Path cache = Files.createDirectories(dir.resolve("cache"));
        assumeTrue(run("mount", "-t", "tmpfs", "-o", "size=9m,mode=0700", "tmpfs", cache.toString()),
                "SKIPPED LOUDLY: mounting a 9 MiB tmpfs for a real ENOSPC needs root (and mount); run as root");
        ExecutorService writer = Executors.newSingleThreadExecutor();
        try {
            Map<String, String> s = TestAgents.settings(dir, 1, DISK);
            s.put("cache.dir", cache.toString());
            s.put("cache.max.bytes", "64MiB"); // above the volume: the kernel's ENOSPC comes first
            s.put("ingest.segment.bytes", "2MiB");
            DiskModel model = new DiskModel(DISK);
            AtomicBoolean stop = new AtomicBoolean();
            AtomicLong acked = new AtomicLong();
            try (Agent agent = TestAgents.start(s);
                 ReplicationClient client = ReplicationClient.connect(TestAgents.client(agent).build())) {
                ReplicatedDisk disk = agent.disks().byId("disk-0");
                disk.setPaused(true, "test: let the backlog fill the cache volume");
                DiskStream d = client.openDisk("disk-0", 1);
                d.ackListener((before, now) -> acked.set(now));
                Future<?> pump = writer.submit(() -> {
                    SplittableRandom r = new SplittableRandom(1);
                    while (!stop.get()) {
                        byte[] data = new byte[WRITE];
                        r.nextBytes(data);
                        long off = (long) r.nextInt(DISK / WRITE) * WRITE;
                        d.write(off, data);
                        model.apply(off, data);
                    }
                    return null;
                });
                Awaitility.await("the ingest log meets ENOSPC").atMost(Duration.ofSeconds(60))
                        .until(() -> disk.ingestLog().stalled() != null || disk.state() == DiskState.FAILED);
                assertThat(disk.state()).as("a full cache volume is no disk failure: %s", disk.stateReason())
                        .isNotEqualTo(DiskState.FAILED);
                assertThat(disk.ingestLog().stalled()).contains("volume full");
                long held = disk.lastDurableSeq();
                Awaitility.await("the acks of what was durable before arrive").atMost(Duration.ofSeconds(10))
                        .until(() -> acked.get() == held);
                Awaitility.await("nothing more is durable or acknowledged while the volume is full")
                        .during(Duration.ofMillis(500)).atMost(Duration.ofSeconds(5))
                        .until(() -> acked.get() == held && disk.lastDurableSeq() == held);
                assertThat(disk.state()).as(disk.stateReason()).isEqualTo(DiskState.PAUSED);
                StatusReport.Health health = new StatusReport(agent, new RuntimeSettings(agent.config()),
                        new RateTracker(30)).health();
                assertThat(health.findings()).extracting(f -> f.code()).contains("MT-2006");

                disk.setPaused(false, "test: apply, which frees the cache volume");
                Awaitility.await("the writes go on").atMost(Duration.ofSeconds(60))
                        .until(() -> disk.ingestLog().stalled() == null && acked.get() > held + 20);
                stop.set(true);
                pump.get(60, TimeUnit.SECONDS);
                d.flush(Duration.ofSeconds(60));
                TestAgents.awaitApplied(agent, Duration.ofSeconds(60));
                assertThat(disk.state()).isEqualTo(DiskState.PROTECTED);
            }
            assertThat(model.firstDifference(TestAgents.target(dir, 0))).as("first byte differing from the model")
                    .isEqualTo(-1);
        } finally {
            writer.shutdownNow();
            run("umount", "-l", cache.toString());
        }
    }

    private static boolean run(String... command) {
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
            p.getInputStream().readAllBytes();
            return p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (Exception e) {
            return false;
        }
    }
}
