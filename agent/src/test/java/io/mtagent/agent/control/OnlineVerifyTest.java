package io.mtagent.agent.control;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.mtagent.agent.Agent;
import io.mtagent.agent.TestAgents;
import io.mtagent.agent.apply.Applier.Hold;
import io.mtagent.agent.cli.MtAgentCli;
import io.mtagent.agent.config.AgentConfig;
import io.mtagent.agent.disk.ReplicatedDisk;
import io.mtagent.protocol.TagType;
import io.mtagent.protocol.client.DiskStream;
import io.mtagent.protocol.client.ReplicationClient;
import io.netty.buffer.Unpooled;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code mtagent verify} while the agent runs: a read-only job over the ingest log and the journal. */
class OnlineVerifyTest {
    @TempDir
    Path dir;

    @Test
    void verifyFindsDamageInTheIngestLogAndTheJournalWhileTheAgentRuns() throws Exception {
        Map<String, String> settings = TestAgents.settingsWithRetention(dir, 1, 1 << 20);
        Path file = ControlHttp.writeProperties(dir.resolve("mtagent.properties"), settings);
        try (Agent agent = TestAgents.start(AgentConfig.load(file, Map.of()), new SimpleMeterRegistry());
             ReplicationClient client = ReplicationClient.connect(TestAgents.client(agent).compress(false).build())) {
            String[] verify = {"verify", "--config", file.toString(), "--set",
                "control.listen=127.0.0.1:" + agent.controlAddress().getPort()};
            DiskStream s = client.openDisk("disk-0", 1);
            ReplicatedDisk d = agent.disks().byId("disk-0");
            SplittableRandom r = new SplittableRandom(9);
            for (int i = 0; i < 40; i++) { // applied: into the journal
                byte[] data = new byte[8192];
                r.nextBytes(data);
                s.write(8192L * i, Unpooled.wrappedBuffer(data), 1);
            }
            s.tag(TagType.CRASH_CONSISTENT, "t", 1);
            s.flush(Duration.ofSeconds(10));
            TestAgents.awaitApplied(agent, Duration.ofSeconds(10));
            d.applyControl().hold(Hold.OPERATOR); // these stay unapplied in the ingest log
            for (int i = 0; i < 10; i++) {
                byte[] data = new byte[8192];
                r.nextBytes(data);
                s.write(8192L * i, Unpooled.wrappedBuffer(data), 2);
            }
            s.flush(Duration.ofSeconds(10));

            assertThat(MtAgentCli.execute(verify)).as("clean logs verify").isZero();

            flipLastRecordByte(dir.resolve("cache").resolve("d0"), ".seg");
            assertThat(MtAgentCli.execute(verify)).as("a damaged unapplied ingest record is found").isEqualTo(1);
        }
    }

    @Test
    void verifyFindsDamageInTheJournal() throws Exception {
        Map<String, String> settings = TestAgents.settingsWithRetention(dir, 1, 1 << 20);
        Path file = ControlHttp.writeProperties(dir.resolve("mtagent.properties"), settings);
        try (Agent agent = TestAgents.start(AgentConfig.load(file, Map.of()), new SimpleMeterRegistry());
             ReplicationClient client = ReplicationClient.connect(TestAgents.client(agent).build())) {
            String[] verify = {"verify", "--config", file.toString(), "--set",
                "control.listen=127.0.0.1:" + agent.controlAddress().getPort()};
            DiskStream s = client.openDisk("disk-0", 1);
            for (int i = 0; i < 20; i++) {
                s.write(4096L * i, new byte[4096]);
            }
            s.flush(Duration.ofSeconds(10));
            TestAgents.awaitApplied(agent, Duration.ofSeconds(10));
            assertThat(MtAgentCli.execute(verify)).isZero();
            flipLastRecordByte(dir.resolve("retention").resolve("d0"), ".jrn");
            assertThat(MtAgentCli.execute(verify)).as("a damaged journal record is found").isEqualTo(1);
        }
    }

    /** Flips a byte near the end of the newest segment: inside its last (unapplied, for the ingest log) record. */
    private static void flipLastRecordByte(Path logDir, String suffix) throws Exception {
        Path seg;
        try (Stream<Path> files = Files.list(logDir)) {
            List<Path> segs = files.filter(p -> p.getFileName().toString().endsWith(suffix)).sorted().toList();
            seg = segs.get(segs.size() - 1);
        }
        long at = Files.size(seg) - 2000;
        try (FileChannel ch = FileChannel.open(seg, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            ByteBuffer b = ByteBuffer.allocate(1);
            ch.read(b, at);
            b.put(0, (byte) (b.get(0) ^ 0x40));
            ch.write(b.rewind(), at);
        }
    }
}
