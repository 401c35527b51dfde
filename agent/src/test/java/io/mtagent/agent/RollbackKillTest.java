package io.mtagent.agent;

import static org.assertj.core.api.Assertions.assertThat;

import io.mtagent.protocol.TagType;
import io.mtagent.protocol.client.DiskStream;
import io.mtagent.protocol.client.ReplicationClient;
import io.netty.buffer.Unpooled;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A kill -9 after a rollback and its commit at an earlier point must not bring back the writes the rollback undid:
 * the applied point is persisted before the target changes, so the restart does not re-apply the tail applied
 * since the last periodic persist onto the rolled-back target (found by the failback soak).
 */
class RollbackKillTest {
    private static final int DISK = 1 << 20;

    @TempDir
    Path dir;

    @Test
    void aKillAfterACommitAtAnEarlierPointKeepsTheTargetAtThePoint() throws Exception {
        try (Site site = new Site("X", dir.resolve("x"), DISK)) {
            site.start();
            byte[] model = new byte[DISK];
            byte[] atPoint;
            try (ReplicationClient client = site.connect()) {
                DiskStream d = client.openDisk("disk-0", 1);
                SplittableRandom r = new SplittableRandom(3);
                long ts = System.currentTimeMillis() * 1000;
                for (int i = 0; i < 20; i++) {
                    write(d, model, r, ts + i);
                }
                d.awaitAcked(d.tag(TagType.CRASH_CONSISTENT, "point", ts + 20), Duration.ofSeconds(30));
                atPoint = model.clone();
                // Many writes right before the rollback: applied, but within the applied point's persist interval.
                long seq = 0;
                for (int i = 0; i < 200; i++) {
                    seq = write(d, model, r, ts + 21 + i);
                }
                d.awaitAcked(seq, Duration.ofSeconds(30));
            }
            site.job("/v1/recover", Map.of("disk", "disk-0", "to", "tag:point"), "recover to the point");
            site.post("/v1/commit", Map.of("disk", "disk-0")).expect(200, "commit");
            assertThat(Files.readAllBytes(site.target(0))).as("at the point after the commit").isEqualTo(atPoint);
            site.killAndRestart();
            assertThat(site.disk("disk-0").path("state").asText()).isEqualTo("needs-resync");
            assertThat(site.disk("disk-0").path("appliedSeq").asLong())
                    .isEqualTo(site.disk("disk-0").path("lastDurableSeq").asLong());
            assertThat(Files.readAllBytes(site.target(0))).as("at the point after a kill -9 and a restart")
                    .isEqualTo(atPoint);
        }
    }

    private static long write(DiskStream d, byte[] model, SplittableRandom r, long ts) throws Exception {
        byte[] data = new byte[4096];
        r.nextBytes(data);
        long off = 4096L * r.nextInt(DISK / 4096);
        System.arraycopy(data, 0, model, (int) off, data.length);
        return d.write(off, Unpooled.wrappedBuffer(data), ts);
    }
}
