package io.mtagent.agent.ingest;

import static io.mtagent.agent.ingest.LogFixtures.offer;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.awaitility.Awaitility.await;

import io.mtagent.agent.apply.Applier;
import io.mtagent.agent.apply.ApplierOptions;
import io.mtagent.agent.apply.ApplyStage;
import io.mtagent.nativeio.FileBlockDevice;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The ingest log's group commit and the applier's loop run as tasks on pooled threads ({@link DiskTaskPool}), one
 * at a time per disk, started when there is work and ended when there is none. What must hold: a quiet disk holds
 * no thread, a task never misses work that arrives as it ends (no lost wake-up: every accepted record becomes
 * durable and applied), and stopping or failing ends the disk's work for good without a hang.
 */
class PooledDiskTasksTest {
    private static final int DISK = 1 << 20;
    private static final ApplierOptions OPTIONS = new ApplierOptions(256 * 1024, 16 << 20);

    @TempDir
    Path tmp;

    private static long liveThreads() {
        return Thread.getAllStackTraces().keySet().stream().filter(Thread::isAlive).count();
    }

    /** Polls (a flush has no deadline): a record stranded in the queue with no writer task fails here. */
    private static void awaitDurable(IngestLog log, long seq) {
        await("seq " + seq + " durable within 10 s: a lost wake-up fails here").atMost(Duration.ofSeconds(10))
                .pollInterval(Duration.ofNanos(20_000)).until(() -> log.lastDurableSeq() >= seq);
    }

    /**
     * 64 disks, each with its log and a started applier, add (almost) no threads while quiet; with a dedicated
     * writer and apply thread per disk they added 128. After a write to every disk lands, closing each ends its
     * loop.
     */
    @Test
    void quietDisksHoldNoThreadAndStoppedOnesEndTheirLoop() throws Exception {
        int disks = 64;
        List<IngestLog> logs = new ArrayList<>();
        List<FileBlockDevice> targets = new ArrayList<>();
        List<Applier> appliers = new ArrayList<>();
        SplittableRandom r = new SplittableRandom(3);
        try {
            long before = liveThreads();
            for (int i = 0; i < disks; i++) {
                IngestLog log = IngestLog.open(tmp.resolve("log-" + i), "d" + i, LogFixtures.mebibyteSegments());
                logs.add(log);
                FileBlockDevice target = FileBlockDevice.open(tmp.resolve("t-" + i + ".img"), 64 << 10, 512);
                targets.add(target);
                Applier applier = new Applier("d" + i, log, target, ApplyStage.NONE, OPTIONS);
                appliers.add(applier);
                applier.start();
            }
            assertThat(liveThreads() - before).as("threads added by %d quiet disks", disks).isLessThan(8);
            assertThat(appliers).allMatch(Applier::loopAlive);

            byte[][] written = new byte[disks][];
            for (int i = 0; i < disks; i++) {
                written[i] = LogFixtures.data(r, 4096);
                assertThat(offer(logs.get(i), LogFixtures.write(1, 8192, written[i], i % 2 == 0)))
                        .isEqualTo(OfferResult.ACCEPTED);
            }
            for (int i = 0; i < disks; i++) {
                appliers.get(i).awaitApplied(1, Duration.ofSeconds(20));
                byte[] onTarget = Arrays.copyOfRange(LogFixtures.readTarget(targets.get(i)), 8192, 8192 + 4096);
                assertThat(onTarget).as("disk %d's write on its target", i).isEqualTo(written[i]);
            }
            for (Applier a : appliers) {
                a.close();
                assertThat(a.loopAlive()).isFalse();
                assertThat(a.state()).isEqualTo(Applier.State.STOPPED);
            }
        } finally {
            for (Applier a : appliers) {
                a.close();
            }
            for (IngestLog l : logs) {
                l.close();
            }
            for (FileBlockDevice t : targets) {
                t.close();
            }
        }
    }

    /**
     * Records arrive in bursts; after a burst the test waits until it is durable, or applied, or pauses briefly,
     * or goes on at once, so the writer task and the apply loop keep going idle and being restarted, often just
     * as they end; the applier is paused and resumed now and then. Every record must become durable and applied, and the target must equal the model.
     * A wake-up lost between "queue empty" and "task ended" shows as a flush or an apply that never completes.
     */
    @Test
    void burstsWithIdleGapsNeverLoseAWakeUp() {
        assertTimeoutPreemptively(Duration.ofSeconds(90), () -> {
            SplittableRandom r = new SplittableRandom(17);
            byte[] model = new byte[DISK];
            try (IngestLog log = IngestLog.open(tmp.resolve("log"), "d1", LogFixtures.mebibyteSegments());
                 FileBlockDevice target = FileBlockDevice.open(tmp.resolve("target.img"), DISK, 512)) {
                Applier applier = new Applier("d1", log, target, ApplyStage.NONE, OPTIONS);
                applier.start();
                try {
                    long seq = 0;
                    for (int burst = 0; burst < 600; burst++) {
                        int n = 1 + r.nextInt(4);
                        for (int i = 0; i < n; i++) {
                            int len = 512 * (1 + r.nextInt(16));
                            long offset = 512L * r.nextInt((DISK - len) / 512 + 1);
                            byte[] data = LogFixtures.data(r, len);
                            assertThat(offer(log, LogFixtures.write(++seq, offset, data, r.nextBoolean())))
                                    .isEqualTo(OfferResult.ACCEPTED);
                            System.arraycopy(data, 0, model, (int) offset, len);
                        }
                        if (burst % 50 == 25) {
                            applier.setPaused(true);
                        } else if (burst % 50 == 40) {
                            applier.setPaused(false);
                        }
                        // Wait for this burst before the next (so the next offer races with the task ending),
                        // or not (so offers arrive while it runs), or pause a little.
                        switch (r.nextInt(4)) {
                            case 0 -> awaitDurable(log, seq);
                            case 1 -> {
                                if (!applier.state().equals(Applier.State.PAUSED)) {
                                    applier.awaitApplied(seq, Duration.ofSeconds(10));
                                }
                            }
                            case 2 -> LockSupport.parkNanos(r.nextInt(300_000));
                            default -> { }
                        }
                    }
                    applier.setPaused(false);
                    log.flush();
                    assertThat(log.lastDurableSeq()).isEqualTo(seq);
                    applier.awaitApplied(seq, Duration.ofSeconds(30));
                    assertThat(log.appliedSeq()).isEqualTo(seq);
                    assertThat(Arrays.equals(LogFixtures.readTarget(target), model)).as("target equals the model").isTrue();
                } finally {
                    applier.close();
                }
                assertThat(applier.state()).isEqualTo(Applier.State.STOPPED);
            }
        });
    }

    /**
     * An Error in the group commit (here from the test seam before the sync) ends the log's writing as a failure
     * would have ended a dedicated thread: nothing is reported durable, new records are refused, a flush reports
     * the failure, and close returns instead of waiting for a writer that is gone.
     */
    @Test
    void anErrorInTheWriterFailsTheLogWithoutAHang() {
        assertTimeoutPreemptively(Duration.ofSeconds(30), () -> {
            SplittableRandom r = new SplittableRandom(5);
            IngestLog log = IngestLog.open(tmp.resolve("log"), "d1", LogFixtures.mebibyteSegments());
            try {
                log.setBeforeGroupSync(() -> {
                    throw new StackOverflowError("simulated error in the group commit");
                });
                assertThat(offer(log, LogFixtures.write(1, 0, LogFixtures.data(r, 4096), false)))
                        .isEqualTo(OfferResult.ACCEPTED);
                assertThatThrownBy(log::flush).isInstanceOf(IOException.class)
                        .hasMessageContaining("simulated error in the group commit");
                assertThat(log.lastDurableSeq()).isZero();
                assertThat(offer(log, LogFixtures.write(2, 0, LogFixtures.data(r, 4096), false)))
                        .isEqualTo(OfferResult.CLOSED);
            } finally {
                log.close();
            }
        });
    }
}
