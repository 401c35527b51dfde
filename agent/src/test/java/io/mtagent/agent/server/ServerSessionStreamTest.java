package io.mtagent.agent.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.mtagent.agent.Agent;
import io.mtagent.agent.TestAgents;
import io.mtagent.agent.disk.ReplicatedDisk;
import io.mtagent.agent.ingest.IngestLogSeams;
import io.mtagent.protocol.DiskState;
import io.mtagent.protocol.ErrorCode;
import io.mtagent.protocol.Frame;
import io.mtagent.protocol.Frames;
import io.mtagent.protocol.Protocol;
import io.mtagent.protocol.WriteFrame;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Disk streams of the session on in-memory channels over a real agent: fencing by epoch (SPEC.md §6.1), acks after
 * durability (§6.6), per-disk credit granted, withheld at the disk's quota and at the cache-volume cap, and
 * returned as the backlog drains (§7).
 */
class ServerSessionStreamTest {
    private static final int WINDOW = 256 * 1024;
    private static final int WRITE = 64 * 1024;
    private static final long DISK_BYTES = 8L << 20;

    @TempDir
    Path dir;
    Agent agent;

    private Agent start(Map<String, String> extra) throws Exception {
        Map<String, String> s = TestAgents.settings(dir, 2, DISK_BYTES);
        s.put("data.max.write.bytes", "128KiB");
        s.put("data.credit.window.bytes", String.valueOf(WINDOW));
        s.putAll(extra);
        agent = TestAgents.start(s);
        return agent;
    }

    @AfterEach
    void stop() {
        if (agent != null) {
            agent.close();
        }
    }

    @Test
    void aNewerEpochFencesTheOlderStreamWhichThenDiscardsSilentlyUntilClosed() throws Exception {
        start(Map.of());
        try (EmbeddedSession older = new EmbeddedSession(agent); EmbeddedSession newer = new EmbeddedSession(agent)) {
            older.authenticate(Protocol.VERSION_1);
            newer.authenticate(Protocol.VERSION_1);
            older.open(1, "disk-0", 1);
            older.send(EmbeddedSession.write(1, 1, 0, 4096));
            assertThat(older.expectSkippingAcks(Frames.Ack.class).ackedSeq()).isEqualTo(1);

            Frames.DiskOpened taken = newer.open(7, "disk-0", 2);
            assertThat(taken.lastDurableSeq()).as("the newer stream resumes where the older one left").isEqualTo(1);
            Frames.Error fenced = older.expectError(ErrorCode.FENCED);
            assertThat(fenced.handle()).isEqualTo(1);
            assertThat(fenced.message()).contains("epoch 2");
            assertThat(agent.disks().byId("disk-0").epoch()).isEqualTo(2);

            // The fenced handle discards silently: no error, no ack, nothing reaches the disk.
            older.send(EmbeddedSession.write(1, 2, 0, 4096));
            assertThat(older.untilPong()).isEmpty();
            assertThat(agent.disks().byId("disk-0").lastAcceptedSeq()).isEqualTo(1);
            // The newer one streams on; CLOSE_DISK frees the fenced handle.
            newer.send(EmbeddedSession.write(7, 2, 4096, 4096));
            assertThat(newer.expectSkippingAcks(Frames.Ack.class).ackedSeq()).isEqualTo(2);
            older.send(new Frames.CloseDisk(1));
            assertThat(older.expectSkippingAcks(Frames.DiskClosed.class).handle()).isEqualTo(1);
        }
    }

    @Test
    void anEqualEpochTakesOverSoAReconnectingProcessServerReplacesItsHalfDeadConnection() throws Exception {
        start(Map.of());
        try (EmbeddedSession halfDead = new EmbeddedSession(agent); EmbeddedSession fresh = new EmbeddedSession(agent)) {
            halfDead.authenticate(Protocol.VERSION_1);
            fresh.authenticate(Protocol.VERSION_1);
            halfDead.open(1, "disk-0", 5);
            assertThat(fresh.open(1, "disk-0", 5).state()).isEqualTo(DiskState.PROTECTED);
            halfDead.expectError(ErrorCode.FENCED);
        }
    }

    @Test
    void anOlderEpochIsStaleEpochAndLeavesTheHandleFree() throws Exception {
        start(Map.of());
        try (EmbeddedSession owner = new EmbeddedSession(agent); EmbeddedSession stale = new EmbeddedSession(agent)) {
            owner.authenticate(Protocol.VERSION_1);
            stale.authenticate(Protocol.VERSION_1);
            owner.open(1, "disk-0", 3);
            stale.send(new Frames.OpenDisk(1, 2, 0, "disk-0"));
            Frames.Error e = stale.expectError(ErrorCode.STALE_EPOCH);
            assertThat(e.handle()).isEqualTo(1);
            assertThat(owner.untilPong()).as("the owner is not fenced by an older epoch").isEmpty();
            // The handle stayed free: a WRITE on it is DISK_NOT_OPEN, and the owner's stream goes on.
            stale.send(EmbeddedSession.write(1, 1, 0, 4096));
            stale.expectError(ErrorCode.DISK_NOT_OPEN);
            owner.send(EmbeddedSession.write(1, 1, 0, 4096));
            assertThat(owner.expectSkippingAcks(Frames.Ack.class).ackedSeq()).isEqualTo(1);
        }
    }

    @Test
    void noAckWhileTheIngestLogsFsyncIsHeld() throws Exception {
        start(Map.of());
        ReplicatedDisk disk = agent.disks().byId("disk-0");
        CountDownLatch inSync = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        IngestLogSeams.beforeGroupSync(disk.ingestLog(), () -> {
            inSync.countDown();
            try {
                release.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        try (EmbeddedSession s = new EmbeddedSession(agent)) {
            s.authenticate(Protocol.VERSION_1);
            s.open(1, "disk-0", 1);
            s.send(EmbeddedSession.write(1, 1, 0, 4096));
            assertThat(inSync.await(10, TimeUnit.SECONDS)).as("the ingest log reached the fdatasync").isTrue();
            assertThat(s.untilPong()).as("the WRITE was handled, and nothing acknowledged before its fdatasync")
                    .isEmpty();
            assertThat(disk.lastDurableSeq()).isZero();

            release.countDown();
            assertThat(s.expectSkippingAcks(Frames.Ack.class).ackedSeq()).isEqualTo(1);
            assertThat(disk.lastDurableSeq()).isEqualTo(1);
        } finally {
            release.countDown();
        }
    }

    @Test
    void creditIsTheWindowAtOpenAndEachDurableFrameEarnsItsCostBack() throws Exception {
        start(Map.of());
        try (EmbeddedSession s = new EmbeddedSession(agent)) {
            s.authenticate(Protocol.VERSION_1);
            assertThat(s.open(1, "disk-0", 1).credit()).isEqualTo(WINDOW);
            long cost = 0;
            for (int seq = 1; seq <= 3; seq++) {
                WriteFrame w = EmbeddedSession.write(1, seq, (long) seq * WRITE, WRITE);
                cost += EmbeddedSession.cost(w);
                s.send(w);
            }
            long returned = 0;
            long acked = 0;
            while (returned < cost || acked < 3) {
                Frame f = s.next();
                if (f instanceof Frames.Credit c) {
                    assertThat(acked).as("credit only for durable frames").isPositive();
                    returned += c.bytes();
                } else {
                    acked = ((Frames.Ack) f).ackedSeq();
                    assertThat(agent.disks().byId("disk-0").lastDurableSeq()).as("ACK only after fdatasync")
                            .isGreaterThanOrEqualTo(acked);
                }
            }
            assertThat(returned).as("every byte of credit comes back, and no more").isEqualTo(cost);
            assertThat(s.untilPong()).isEmpty();
        }
    }

    @Test
    void creditIsWithheldAtTheDisksQuotaWhileTheOtherDiskStreamsAndReturnedAsTheBacklogDrains() throws Exception {
        start(Map.of("disk.quota.bytes", "1MiB"));
        ReplicatedDisk slow = agent.disks().byId("disk-0");
        slow.setPaused(true, "test: a slow target");
        try (EmbeddedSession s = new EmbeddedSession(agent)) {
            s.authenticate(Protocol.VERSION_1);
            long credit = s.open(1, "disk-0", 1).credit();
            long sent = 0;
            long returned = 0;
            long seq = 0;
            // Stream until the quota holds the credit back: every write acked, the window spent.
            while (true) {
                while (credit >= WRITE + 64) {
                    WriteFrame w = EmbeddedSession.write(1, ++seq, (seq % 64) * WRITE, WRITE);
                    credit -= EmbeddedSession.cost(w);
                    sent += EmbeddedSession.cost(w);
                    s.send(w);
                }
                long acked = 0;
                while (acked < seq) {
                    Frame f = s.next();
                    if (f instanceof Frames.Credit c) {
                        credit += c.bytes();
                        returned += c.bytes();
                    } else {
                        acked = ((Frames.Ack) f).ackedSeq();
                    }
                }
                for (Frame f : s.drain()) {
                    credit += ((Frames.Credit) f).bytes();
                    returned += ((Frames.Credit) f).bytes();
                }
                if (credit < WRITE + 64) {
                    break;
                }
                assertThat(seq).as("the quota stops the stream").isLessThan(200);
            }
            assertThat(slow.overQuota()).isTrue();
            assertThat(slow.backlogBytes()).isGreaterThanOrEqualTo(1 << 20);

            // The other disk on the same connection is not held back.
            assertThat(s.open(2, "disk-1", 1).credit()).isEqualTo(WINDOW);
            s.send(EmbeddedSession.write(2, 1, 0, WRITE));
            assertThat(s.expectSkippingAcks(Frames.Ack.class)).isEqualTo(new Frames.Ack(2, 1));
            assertThat(s.expectSkippingAcks(Frames.Credit.class).handle()).as("disk-1 gets its credit back").isEqualTo(2);
            assertThat(s.untilPong()).as("still no credit for the disk over quota").isEmpty();

            slow.setPaused(false, "test: resumed");
            while (returned < sent) {
                Frames.Credit c = s.expectSkippingAcks(Frames.Credit.class);
                assertThat(c.handle()).isEqualTo(1);
                returned += c.bytes();
            }
            assertThat(returned).as("the withheld credit, exactly").isEqualTo(sent);
            s.send(EmbeddedSession.write(1, ++seq, 0, WRITE));
            assertThat(s.expectSkippingAcks(Frames.Ack.class).ackedSeq()).isEqualTo(seq);
        }
    }

    @Test
    void atTheCacheVolumeCapDiskOpenedCarriesNoCreditAndTheWindowFollowsOnceTheLogsDrain() throws Exception {
        start(Map.of("cache.max.bytes", "1MiB", "disk.quota.bytes", "64MiB", "data.credit.window.bytes", "2MiB",
                "data.max.write.bytes", "1MiB"));
        ReplicatedDisk slow = agent.disks().byId("disk-0");
        slow.setPaused(true, "test: a slow target");
        try (EmbeddedSession s = new EmbeddedSession(agent)) {
            s.authenticate(Protocol.VERSION_1);
            s.open(1, "disk-0", 1);
            for (int seq = 1; seq <= 5; seq++) {
                s.send(EmbeddedSession.write(1, seq, (long) seq * WRITE * 4, WRITE * 4 - 1024));
            }
            await().atMost(Duration.ofSeconds(10)).until(() -> {
                s.pump();
                return slow.lastDurableSeq() == 5;
            });
            assertThat(agent.disks().totalBacklog()).isGreaterThanOrEqualTo(1 << 20);

            Frames.DiskOpened other = s.open(2, "disk-1", 1);
            assertThat(other.state()).isEqualTo(DiskState.PROTECTED);
            assertThat(other.credit()).as("withheld at the cap (SPEC.md §7)").isZero();
            assertThat(s.untilPong().stream().filter(f -> f instanceof Frames.Credit c && c.handle() == 2)).isEmpty();

            slow.setPaused(false, "test: resumed");
            Frames.Credit window;
            do {
                window = s.expectSkippingAcks(Frames.Credit.class);
            } while (window.handle() != 2);
            assertThat(window.bytes()).as("the whole window, once below 90% of the cap").isEqualTo(2 << 20);
        }
    }
}
