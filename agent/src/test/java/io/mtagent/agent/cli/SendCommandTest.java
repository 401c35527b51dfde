package io.mtagent.agent.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.mtagent.agent.Agent;
import io.mtagent.agent.TestAgents;
import io.mtagent.agent.disk.ReplicatedDisk;
import io.mtagent.agent.journal.RecoveryPoint;
import io.mtagent.agent.retention.PointCatalog;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code mtagent send} against a real agent: a first run copies the whole source, a second sends only what
 * changed and adds the app-consistent tag, a source that keeps changing ends NOT consistent (exit 1, no point),
 * and --verify / --verify --repair find and fix silent damage.
 */
class SendCommandTest {
    private static final long SIZE = 4L << 20;

    @TempDir
    Path dir;

    @Test
    void sendRunsAreRecoveryPointsAndOnlyChangesCrossTheWire() throws Exception {
        Map<String, String> s = TestAgents.settingsWithRetention(dir, 1, SIZE);
        Path source = dir.resolve("source.img");
        byte[] content = new byte[(int) SIZE];
        new SplittableRandom(31).nextBytes(content);
        Files.write(source, content);
        Path pass = dir.resolve("pass.txt");
        Files.writeString(pass, TestAgents.PASSPHRASE + "\n");
        Path target = TestAgents.target(dir, 0);
        try (Agent agent = TestAgents.start(s)) {
            String[] common = {"send", "--agent", "127.0.0.1:" + agent.dataAddress().getPort(), "--disk", "disk-0",
                "--source", source.toString(), "--passphrase-file", pass.toString(), "--fingerprint",
                agent.identity().fingerprintText(), "--chunk-size", "64KiB"};
            assertThat(MtAgentCli.execute(with(common, "--name", "first", "--epoch", "1"))).isZero();
            TestAgents.awaitApplied(agent, Duration.ofSeconds(30));
            assertThat(Files.readAllBytes(target)).isEqualTo(content);

            // One chunk changes; the frozen source gets an app-consistent tag.
            content[70_000] ^= 1;
            Files.write(source, content);
            assertThat(MtAgentCli.execute(with(common, "--name", "second", "--tag", "app-1", "--epoch", "2"))).isZero();
            TestAgents.awaitApplied(agent, Duration.ofSeconds(30));
            assertThat(Files.readAllBytes(target)).isEqualTo(content);
            ReplicatedDisk disk = agent.disks().byId("disk-0");
            assertThat(PointCatalog.points(disk)).extracting(RecoveryPoint::name).contains("first", "second", "app-1");
            assertThat(disk.resyncStats().resyncBytes()).isEqualTo(64 << 10); // the second run resent one chunk

            // Silent damage on the agent's side: --verify finds it (exit 1), --repair fixes it.
            try (RandomAccessFile f = new RandomAccessFile(target.toFile(), "rw")) {
                f.seek(3 << 20);
                f.write(new byte[] {1, 2, 3, 4});
            }
            assertThat(MtAgentCli.execute(with(common, "--verify", "--epoch", "3"))).isEqualTo(1);
            assertThat(MtAgentCli.execute(with(common, "--verify", "--repair", "--epoch", "4"))).isZero();
            TestAgents.awaitApplied(agent, Duration.ofSeconds(30));
            assertThat(Files.readAllBytes(target)).isEqualTo(content);

            // A source that never stops changing: after --passes 2 the run is marked not consistent.
            AtomicBoolean stop = new AtomicBoolean();
            Thread churn = new Thread(() -> {
                SplittableRandom r = new SplittableRandom(32);
                try (RandomAccessFile f = new RandomAccessFile(source.toFile(), "rw")) {
                    while (!stop.get()) {
                        f.seek(r.nextLong(SIZE - 4096));
                        byte[] b = new byte[4096];
                        r.nextBytes(b);
                        f.write(b);
                        Thread.yield(); // no pause: under load a 2 ms sleep let a whole pass run without a change
                    }
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            churn.start();
            int code;
            try {
                code = MtAgentCli.execute(with(common, "--name", "churning", "--passes", "2", "--rate", "8MiB",
                        "--epoch", "5"));
            } finally {
                stop.set(true);
                churn.join();
            }
            assertThat(code).isEqualTo(1);
            assertThat(PointCatalog.points(disk)).extracting(RecoveryPoint::name).doesNotContain("churning")
                    .contains("first", "second", "app-1");
        }
    }

    private static String[] with(String[] common, String... more) {
        String[] all = Arrays.copyOf(common, common.length + more.length);
        System.arraycopy(more, 0, all, common.length, more.length);
        return all;
    }
}
