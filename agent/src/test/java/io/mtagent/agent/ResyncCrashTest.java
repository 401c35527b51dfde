package io.mtagent.agent;

import static org.awaitility.Awaitility.await;
import static org.assertj.core.api.Assertions.assertThat;

import io.mtagent.protocol.DiskState;
import io.mtagent.protocol.ResyncFrames;
import io.mtagent.protocol.client.ClientOptions;
import io.mtagent.protocol.client.DiskStream;
import io.mtagent.protocol.client.ReplicationClient;
import io.mtagent.protocol.client.ReplicationException;
import io.mtagent.protocol.client.Resync;
import io.mtagent.protocol.client.SourceDevice;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * kill -9 of a real agent process in the middle of a resync: after the restart the agent reports the resync in
 * progress (RESYNC_STATE) with its durable progress, the process server resumes there instead of at 0, and the
 * target ends equal to the source.
 */
class ResyncCrashTest {
    private static final long SIZE = 8L << 20;
    private static final int CHUNK = ResyncFrames.MIN_CHUNK_SIZE;

    @TempDir
    Path dir;

    private ChildAgent agent;
    private Path config;

    @AfterEach
    void killAgent() throws InterruptedException {
        if (agent != null) {
            agent.close();
        }
    }

    @Test
    void aResyncInterruptedByKillNineResumesWhereItsDurableProgressWas() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        Map<String, String> settings = TestAgents.settings(dir, 1, SIZE);
        settings.put("data.listen", "127.0.0.1:" + port);
        settings.put("retention.dir", dir.resolve("retention").toString());
        config = TestAgents.writeConfig(dir.resolve("agent.properties"), settings);
        TestAgents.setPassphrase(dir.resolve("state"));
        agent = new ChildAgent(config, dir.resolve("agent.log"));
        Path source = dir.resolve("source.img");
        ResyncFixtures.random(source, SIZE, 21);
        ResyncFixtures.random(TestAgents.target(dir, 0), SIZE, 22); // every chunk differs

        agent.start();
        ClientOptions options = ClientOptions.builder("127.0.0.1", port).passphrase(TestAgents.PASSPHRASE.toCharArray())
                .handshakeTimeout(Duration.ofSeconds(10)).build();
        ReplicationClient client = agent.connect(options);
        try (SourceDevice src = SourceDevice.open(source)) {
            DiskStream stream = client.openDisk("disk-0", 1);
            AtomicLong killedAt = new AtomicLong(-1);
            // 4 MiB/s: the 8 MiB resync takes about 2 s; the agent dies once half of it was reported sent.
            Resync.Options o = Resync.Options.defaults().withChunkSize(CHUNK).withRate(4L << 20).withProgress(p -> {
                if (p.doneOffset() >= SIZE / 2 && killedAt.get() < 0) {
                    killedAt.set(p.doneOffset());
                    try {
                        agent.kill(0); // SIGKILL, from the progress callback: no waiting here
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }
            });
            try {
                stream.resync(src, o);
                throw new AssertionError("the resync finished although the agent was killed");
            } catch (ReplicationException expected) {
                // the connection died under the resync
            }
            assertThat(agent.kill(10)).as("the agent is gone").isTrue();
            agent.start();
            agent.reconnect(client, "restart after kill -9 mid-resync");
            assertThat(stream.state()).isEqualTo(DiskState.INITIAL_SYNC);
            ResyncFrames.ResyncState resume = stream.resyncState();
            assertThat(resume).as("RESYNC_STATE after the restart").isNotNull();
            assertThat(resume.doneOffset()).as("durable progress survived kill -9").isGreaterThan(0);
            Resync.Result r = stream.resync(src, Resync.Options.defaults().withChunkSize(CHUNK));
            System.out.printf("resync killed at %d B reported, resumed from %d B, %d chunks sent after restart%n",
                    killedAt.get(), r.resumedFrom(), r.chunksDiffering());
            assertThat(r.resumedFrom()).isEqualTo(resume.doneOffset());
            assertThat(r.chunksCompared()).isLessThan(SIZE / CHUNK);
            awaitAppliedThroughProtocol(client, stream);
            assertThat(stream.state()).isEqualTo(DiskState.PROTECTED);
        } finally {
            client.close();
        }
        agent.kill(10);
        assertThat(ResyncFixtures.firstDifference(source, TestAgents.target(dir, 0))).isEqualTo(-1);
    }





    private static void awaitAppliedThroughProtocol(ReplicationClient client, DiskStream s) throws Exception {
        await("applier catches up").atMost(60, TimeUnit.SECONDS).pollInSameThread().until(() -> {
            client.reopen(s);
            return s.info().appliedSeq() >= s.info().lastDurableSeq();
        });
    }

}
