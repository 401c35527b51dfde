package io.mtagent.agent.disk;

import static org.assertj.core.api.Assertions.assertThat;

import io.mtagent.agent.Agent;
import io.mtagent.agent.TestAgents;
import io.mtagent.protocol.DiskState;
import io.mtagent.protocol.client.DiskStream;
import io.mtagent.protocol.client.ReplicationClient;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The cache-volume cap holds across reconnects: once the ingest logs reach it, a process server that reconnects
 * (as one does on time-outs) gets no credit, so the agent reads no write the cap cannot take; the credit comes when
 * the backlog drains, and the disk never fails.
 */
class CacheCapReconnectTest {
    private static final int WRITE = 256 << 10;

    @TempDir
    Path dir;

    /** Incompressible, so each write costs its size in the ingest log. */
    private static byte[] random(long seed) {
        byte[] b = new byte[WRITE];
        new java.util.SplittableRandom(seed).nextBytes(b);
        return b;
    }

    @Test
    void reconnectsAtTheCapAdmitNothingMoreAndResumeWhenItDrains() throws Exception {
        Map<String, String> s = TestAgents.settings(dir, 1, 16L << 20);
        s.put("cache.max.bytes", "1MiB");
        s.put("data.credit.window.bytes", "2MiB");
        ExecutorService writers = Executors.newCachedThreadPool();
        try (Agent agent = TestAgents.start(s)) {
            ReplicatedDisk disk = agent.disks().byId("disk-0");
            disk.setPaused(true, "test: hold the backlog");
            ReplicationClient first = ReplicationClient.connect(TestAgents.client(agent).build());
            DiskStream d = first.openDisk("disk-0", 1);
            long cap = agent.cacheBudget().capBytes();
            // One write at a time, each acknowledged, until the backlog reaches the cap: nothing is left in flight.
            for (int i = 0; disk.backlogBytes() < cap; i++) {
                d.awaitAcked(d.write((long) i * WRITE, random(i)), Duration.ofSeconds(10));
            }
            long atCap = disk.backlogBytes();
            first.close();

            Future<Long> last = null;
            for (int epoch = 2; epoch <= 9; epoch++) {
                ReplicationClient again = ReplicationClient.connect(TestAgents.client(agent).build());
                DiskStream r = again.openDisk("disk-0", epoch);
                last = writers.submit(() -> {
                    long seq = r.write(0, random(100));
                    r.awaitAcked(seq, Duration.ofSeconds(60));
                    return seq;
                });
                Awaitility.await("no write read after reconnect " + epoch).during(Duration.ofMillis(300))
                        .atMost(Duration.ofSeconds(5)).until(() -> disk.backlogBytes() == atCap);
                assertThat(r.info().credit()).as("credit of a reopen at the cap").isZero();
                if (epoch < 9) {
                    again.close();
                }
            }
            assertThat(disk.backlogBytes()).as("backlog after 8 reconnects at the cap").isEqualTo(atCap);
            assertThat(disk.state()).isEqualTo(DiskState.PAUSED);

            disk.setPaused(false, "test: drain");
            assertThat(last.get()).as("the waiting write is accepted once the backlog drained").isPositive();
            assertThat(disk.state()).isEqualTo(DiskState.PROTECTED);
        } finally {
            writers.shutdownNow();
        }
    }
}
