package io.mtagent.agent.ingest;

import static org.awaitility.Awaitility.await;
import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.Unpooled;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The durability promise at its source: while a group commit's fdatasync has not returned, nothing of that
 * batch is durable — no listener (which sends the ACKs) runs, {@code lastDurableSeq} does not move, and
 * {@code flush()} does not return. kill -9 tests cannot catch an ack sent one step too early; this can.
 */
class AckAfterSyncTest {
    @TempDir
    Path dir;

    @Test
    void nothingIsDurableWhileTheSyncIsHeld() throws Exception {
        try (IngestLog log = IngestLog.open(dir, "d", IngestLogOptions.builder().segmentBytes(1 << 20).build())) {
            CountDownLatch inSync = new CountDownLatch(1);
            CountDownLatch release = new CountDownLatch(1);
            log.setBeforeGroupSync(() -> {
                inSync.countDown();
                try {
                    release.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
            AtomicLong acked = new AtomicLong();
            log.addListener(new IngestLog.Listener() {
                @Override
                public void onDurable(long durableSeq) {
                    acked.set(durableSeq);
                }
            });
            byte[] data = new byte[4096];
            CRC32C c = new CRC32C();
            c.update(data);
            assertThat(log.offer(IngestRecord.write(1, 1, 1, 0, 4096, (int) c.getValue(), false),
                    Unpooled.wrappedBuffer(data))).isEqualTo(OfferResult.ACCEPTED);
            assertThat(inSync.await(10, TimeUnit.SECONDS)).as("the writer reached the sync").isTrue();

            Thread flusher = new Thread(() -> {
                try {
                    log.flush();
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            flusher.start();
            await("flush() parks until the sync completes").atMost(Duration.ofSeconds(10))
                    .until(() -> flusher.getState() == Thread.State.TIMED_WAITING || flusher.getState() == Thread.State.WAITING);
            assertThat(acked.get()).as("no ACK before the fdatasync").isZero();
            assertThat(log.lastDurableSeq()).isZero();
            assertThat(flusher.isAlive()).as("flush() waits for the sync").isTrue();

            release.countDown();
            flusher.join(10_000);
            assertThat(flusher.isAlive()).isFalse();
            assertThat(acked.get()).isEqualTo(1);
            assertThat(log.lastDurableSeq()).isEqualTo(1);
        }
    }
}
