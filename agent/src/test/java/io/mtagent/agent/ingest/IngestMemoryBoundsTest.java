package io.mtagent.agent.ingest;

import static org.awaitility.Awaitility.await;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import io.netty.buffer.Unpooled;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What bounds the memory of many disks whose device stalls: the payload bytes held before their group commit are
 * counted in one {@link IngestMemory} shared by all logs (the data server's back-pressure gate reads it), and the
 * group commits under way at once are at most {@link IngestLog#WRITER_THREADS}, however many disks wait.
 */
class IngestMemoryBoundsTest {
    @TempDir
    Path tmp;

    private static IngestRecord write(long seq, byte[] data) {
        CRC32C c = new CRC32C();
        c.update(data);
        return IngestRecord.write(seq, 1, seq, 4096L * seq, data.length, (int) c.getValue(), false);
    }

    /**
     * Three logs share one account. While their syncs are held the account holds every accepted payload byte
     * (a refused duplicate and a gap add nothing); once written it is back to zero and the release listener ran;
     * a log that fails gives back what it had queued.
     */
    @Test
    void heldBytesCountAcceptedPayloadsUntilWrittenOrDropped() throws Exception {
        IngestMemory memory = new IngestMemory();
        AtomicInteger releases = new AtomicInteger();
        memory.onRelease(releases::incrementAndGet);
        IngestLogOptions options = IngestLogOptions.builder().segmentBytes(1 << 20).memory(memory).build();
        CountDownLatch release = new CountDownLatch(1);
        List<IngestLog> logs = new ArrayList<>();
        try {
            for (int i = 0; i < 3; i++) {
                IngestLog log = IngestLog.open(tmp.resolve("log-" + i), "d" + i, options);
                logs.add(log);
                log.setBeforeGroupSync(() -> awaitQuietly(release));
            }
            long expected = 0;
            for (int i = 0; i < 3; i++) {
                for (int seq = 1; seq <= 5; seq++) {
                    byte[] data = new byte[4096 * seq];
                    assertThat(logs.get(i).offer(write(seq, data), Unpooled.wrappedBuffer(data)))
                            .isEqualTo(OfferResult.ACCEPTED);
                    expected += data.length;
                }
            }
            byte[] first = new byte[4096];
            assertThat(logs.get(0).offer(write(1, first), Unpooled.wrappedBuffer(first)))
                    .isEqualTo(OfferResult.DUPLICATE);
            assertThat(logs.get(0).offer(write(9, first), Unpooled.wrappedBuffer(first))).isEqualTo(OfferResult.GAP);
            assertThat(memory.held()).as("accepted payload bytes, syncs held").isEqualTo(expected);

            release.countDown();
            for (IngestLog log : logs) {
                log.flush();
            }
            awaitNothingHeld(memory, "everything written"); // given back right after the ack, so poll a moment
            assertThat(releases.get()).as("the gate was told").isPositive();

            // A failing log: its writer throws before the sync; what it had taken and what was queued comes back.
            IngestLog failing = logs.get(1);
            failing.setBeforeGroupSync(() -> {
                throw new IllegalStateException("simulated sync failure");
            });
            byte[] data = new byte[8192];
            failing.offer(write(6, data), Unpooled.wrappedBuffer(data));
            failing.offer(write(7, data), Unpooled.wrappedBuffer(data));
            assertThatThrownBy(failing::flush).isInstanceOf(IOException.class)
                    .hasStackTraceContaining("simulated sync failure");
            awaitNothingHeld(memory, "a failed log holds nothing");
        } finally {
            release.countDown();
            for (IngestLog log : logs) {
                log.close();
            }
        }
    }

    /**
     * More logs with work than writer threads, every one's sync held: at most {@link IngestLog#WRITER_THREADS}
     * reach their sync at once (the others wait for a thread, not one thread per log), and once the syncs are let
     * go every log's record becomes durable: a waiting log is never forgotten.
     */
    @Test
    void groupCommitsUnderWayAreBoundedAndEveryLogGetsItsTurn() {
        assertTimeoutPreemptively(Duration.ofSeconds(60), () -> {
            int logsCount = GroupCommitWriter.WRITER_THREADS + 8;
            AtomicInteger inSync = new AtomicInteger();
            AtomicInteger mostInSync = new AtomicInteger();
            CountDownLatch release = new CountDownLatch(1);
            CountDownLatch bounded = new CountDownLatch(GroupCommitWriter.WRITER_THREADS);
            List<IngestLog> logs = new ArrayList<>();
            try {
                for (int i = 0; i < logsCount; i++) {
                    IngestLog log = IngestLog.open(tmp.resolve("log-" + i), "d" + i,
                            IngestLogOptions.builder().segmentBytes(1 << 20).build());
                    logs.add(log);
                    log.setBeforeGroupSync(() -> {
                        mostInSync.accumulateAndGet(inSync.incrementAndGet(), Math::max);
                        bounded.countDown();
                        awaitQuietly(release);
                        inSync.decrementAndGet();
                    });
                }
                byte[] data = new byte[4096];
                for (IngestLog log : logs) {
                    assertThat(log.offer(write(1, data), Unpooled.wrappedBuffer(data))).isEqualTo(OfferResult.ACCEPTED);
                }
                assertThat(bounded.await(20, TimeUnit.SECONDS)).as("the first %d commits reached their sync",
                        GroupCommitWriter.WRITER_THREADS).isTrue();
                // The rest wait for a thread rather than commit beside the first ones.
                await().atMost(Duration.ofSeconds(20))
                        .until(() -> GroupCommitWriter.waitingWriters() >= logsCount - GroupCommitWriter.WRITER_THREADS);
                assertThat(mostInSync.get()).as("group commits under way at once").isEqualTo(GroupCommitWriter.WRITER_THREADS);
                release.countDown();
                for (IngestLog log : logs) {
                    log.flush();
                    assertThat(log.lastDurableSeq()).isEqualTo(1);
                }
            } finally {
                release.countDown();
                for (IngestLog log : logs) {
                    log.close();
                }
            }
        });
    }

    /**
     * Every writer thread busy with a log that never runs dry (each of {@link IngestLog#WRITER_THREADS} logs gets
     * its next record during each of its group commits, so its queue is never empty when a commit ends), and more
     * logs waiting: the busy logs hand their threads over after a commit, so the waiting logs' records become
     * durable while the busy ones keep going. Without the hand-over the waiting logs would never get a thread.
     */
    @Test
    void busyLogsHandTheirThreadsToWaitingOnes() {
        assertTimeoutPreemptively(Duration.ofSeconds(60), () -> {
            int busy = GroupCommitWriter.WRITER_THREADS;
            List<IngestLog> logs = new ArrayList<>();
            java.util.concurrent.atomic.AtomicBoolean feeding = new java.util.concurrent.atomic.AtomicBoolean(true);
            byte[] data = new byte[512];
            try {
                for (int i = 0; i < busy + 4; i++) {
                    logs.add(IngestLog.open(tmp.resolve("log-" + i), "d" + i,
                            IngestLogOptions.builder().segmentBytes(4 << 20).build()));
                }
                for (int i = 0; i < busy; i++) {
                    IngestLog log = logs.get(i);
                    log.setBeforeGroupSync(() -> { // on the log's writer, during its commit: refill its queue
                        if (feeding.get()) {
                            log.offer(write(log.lastAcceptedSeq() + 1, data), Unpooled.wrappedBuffer(data));
                        }
                    });
                    assertThat(log.offer(write(1, data), Unpooled.wrappedBuffer(data))).isEqualTo(OfferResult.ACCEPTED);
                }
                await("every writer thread taken by a busy log").atMost(Duration.ofSeconds(20))
                        .until(() -> GroupCommitWriter.runningWriters() == busy);
                for (int i = busy; i < logs.size(); i++) {
                    assertThat(logs.get(i).offer(write(1, data), Unpooled.wrappedBuffer(data)))
                            .isEqualTo(OfferResult.ACCEPTED);
                }
                for (int i = busy; i < logs.size(); i++) {
                    IngestLog waiting = logs.get(i);
                    await("waiting log d" + i + " durable while the others stay busy").atMost(Duration.ofSeconds(20))
                            .until(() -> waiting.lastDurableSeq() >= 1);
                }
                assertThat(logs.get(0).lastDurableSeq()).as("the busy logs kept committing").isGreaterThan(10);
            } finally {
                feeding.set(false);
                for (IngestLog log : logs) {
                    log.close();
                }
            }
        });
    }

    private static void awaitNothingHeld(IngestMemory memory, String what) throws InterruptedException {
        await(what).atMost(Duration.ofSeconds(10)).until(() -> memory.held() == 0);
    }

    private static void awaitQuietly(CountDownLatch latch) {
        try {
            latch.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
