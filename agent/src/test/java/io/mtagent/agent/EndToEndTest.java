package io.mtagent.agent;

import static org.assertj.core.api.Assertions.assertThat;

import io.mtagent.agent.sim.DiskModel;
import io.mtagent.agent.sim.ProcessServerSimulator;
import io.mtagent.protocol.client.DiskStream;
import io.mtagent.protocol.client.ReplicationClient;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The whole write path through the real TLS server on loopback: 4 disks on 2 connections, random overlapping
 * writes of 4 KiB–1 MiB with tags, then each target must equal an independent model.
 */
class EndToEndTest {
    private static final int DISK_BYTES = 16 << 20;

    @TempDir
    Path dir;

    @Test
    void fourDisksOnTwoConnectionsEndEqualToTheModel() throws Exception {
        try (Agent agent = TestAgents.start(TestAgents.settings(dir, 4, DISK_BYTES))) {
            List<ReplicationClient> clients = new ArrayList<>();
            List<ProcessServerSimulator> sims = new ArrayList<>();
            List<DiskModel> models = new ArrayList<>();
            long started = System.nanoTime();
            try {
                for (int c = 0; c < 2; c++) {
                    ReplicationClient client = ReplicationClient.connect(TestAgents.client(agent)
                            .pinnedFingerprint(agent.identity().fingerprintText()).build());
                    clients.add(client);
                    List<DiskStream> streams = new ArrayList<>();
                    List<DiskModel> ms = new ArrayList<>();
                    for (int d = 2 * c; d < 2 * c + 2; d++) {
                        streams.add(client.openDisk("disk-" + d, 7));
                        ms.add(new DiskModel(DISK_BYTES));
                    }
                    models.addAll(ms);
                    ProcessServerSimulator sim = new ProcessServerSimulator(streams, ms, 1000 + c);
                    sim.start(client.maxWriteBytes(), 120);
                    sims.add(sim);
                }
                long bytes = 0;
                for (ProcessServerSimulator sim : sims) {
                    sim.join(Duration.ofSeconds(120));
                    sim.stopAndFlush(Duration.ofSeconds(60));
                    bytes += sim.bytesSent();
                }
                double secs = (System.nanoTime() - started) / 1e9;
                System.out.printf("end-to-end: %.1f MB acknowledged in %.2f s = %.1f MB/s%n", bytes / 1e6, secs, bytes / 1e6 / secs);
                assertThat(agent.dataStats().authFailures()).isZero();
            } finally {
                clients.forEach(ReplicationClient::close);
            }
            TestAgents.awaitApplied(agent, Duration.ofSeconds(60));
            for (int d = 0; d < 4; d++) {
                assertThat(models.get(d).firstDifference(TestAgents.target(dir, d)))
                        .as("first differing byte of disk-%d", d).isEqualTo(-1);
            }
            assertThat(sims.stream().mapToLong(ProcessServerSimulator::tagsSent).sum()).isGreaterThan(0);
        }
    }
}
