package io.mtagent.agent;

import static org.assertj.core.api.Assertions.assertThat;

import io.mtagent.agent.disk.ReplicatedDisk;
import io.mtagent.protocol.DiskState;
import io.mtagent.protocol.client.DiskStream;
import io.mtagent.protocol.client.ReplicationClient;
import io.netty.buffer.Unpooled;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.Arrays;
import java.util.Map;
import java.util.SplittableRandom;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two agents where the real mistake has two: each with its own state and cache directories, both configured with
 * the same target file. The first (in this JVM) replicates; the second (a child JVM, {@code mtagent run}) refuses
 * to start, naming the target, the setting and the process holding it; the first keeps replicating and applying.
 */
class TargetLockTest {
    private static final long DISK_BYTES = 16 << 20;

    @TempDir
    Path dir;

    @Test
    void aSecondAgentOnTheSameTargetRefusesItAndTheFirstKeepsReplicating() throws Exception {
        Path first = dir.resolve("first");
        Path target = TestAgents.target(first, 0);
        SplittableRandom random = new SplittableRandom(21);
        try (Agent agent = TestAgents.start(TestAgents.settings(first, 1, DISK_BYTES));
             ReplicationClient client = ReplicationClient.connect(TestAgents.client(agent).build())) {
            DiskStream stream = client.openDisk("disk-0", 1);
            write(stream, random, 0, 16);

            Map<String, String> second = TestAgents.settings(dir.resolve("second"), 1, DISK_BYTES);
            second.put("disk.d0.path", target.toString());
            Path config = TestAgents.writeConfig(dir.resolve("second.properties"), second);
            TestAgents.setPassphrase(dir.resolve("second").resolve("state"));
            try (ChildAgent other = new ChildAgent(config, dir.resolve("second.log"))) {
                other.start();
                int exit = other.waitForExit(60);
                String log = other.log();
                assertThat(exit).as("the second agent refused to start:\n" + log).isNotIn(0, -1);
                log.lines().filter(l -> l.contains("disk.d0.path")).findFirst().ifPresent(System.out::println);
                assertThat(log).contains("disk disk-0: its target (disk.d0.path) " + target
                                + " is locked by another process")
                        .contains("held by pid " + ProcessHandle.current().pid())
                        .contains("stop the other one, or point disk.d0.path at another target");
            }

            byte[] last = write(stream, random, 16, 16);
            ReplicatedDisk disk = agent.disks().byId("disk-0");
            Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> disk.appliedSeq() >= stream.ackedSeq());
            assertThat(stream.ackedSeq()).isEqualTo(32);
            assertThat(disk.state()).isEqualTo(DiskState.PROTECTED);
            byte[] onTarget = new byte[last.length];
            try (FileChannel ch = FileChannel.open(target, StandardOpenOption.READ)) {
                ch.read(ByteBuffer.wrap(onTarget), 31L * last.length);
            }
            assertThat(Arrays.equals(onTarget, last)).as("the first agent applied its last write").isTrue();
        }
    }

    /** Writes {@code count} 64 KiB blocks at block {@code from} onwards and waits for their ACKs; returns the last. */
    private static byte[] write(DiskStream stream, SplittableRandom random, int from, int count) throws Exception {
        byte[] data = new byte[64 << 10];
        for (int i = from; i < from + count; i++) {
            data = new byte[64 << 10];
            random.nextBytes(data);
            stream.write((long) i * data.length, Unpooled.wrappedBuffer(data), System.currentTimeMillis() * 1000);
        }
        stream.flush(Duration.ofSeconds(30));
        return data;
    }
}
