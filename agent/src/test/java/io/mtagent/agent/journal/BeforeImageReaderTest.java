package io.mtagent.agent.journal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mtagent.agent.ingest.ForwardingBlockDevice;
import io.mtagent.agent.ingest.IngestRecord;
import io.mtagent.nativeio.FileBlockDevice;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The read-ahead of before-images on a real file-backed target: images come back in the order of the writes with
 * the target's bytes, never more than the depth ahead; a failed read reaches the caller as that failure at the
 * image it belongs to; closing early stops the reading thread (no read runs once close returns).
 */
@Timeout(60)
class BeforeImageReaderTest {
    private static final int DISK = 1 << 20;

    @TempDir
    Path tmp;

    /** Counts reads and the reads under way, can fail the n-th read, and can hold reads until released. */
    static final class CountingTarget extends ForwardingBlockDevice {
        final AtomicInteger reads = new AtomicInteger();
        final AtomicInteger inFlight = new AtomicInteger();
        final AtomicInteger maxInFlight = new AtomicInteger();
        volatile int failAt = -1;
        volatile long failOffset = -1;
        volatile CountDownLatch gate;

        CountingTarget(FileBlockDevice inner) {
            super(inner);
        }

        @Override
        public void read(long offset, ByteBuffer dst) throws IOException {
            int n = reads.incrementAndGet();
            maxInFlight.accumulateAndGet(inFlight.incrementAndGet(), Math::max);
            try {
                Thread.sleep(0, 200_000); // a device's latency, so two lanes' reads really overlap
                CountDownLatch g = gate;
                if (g != null) {
                    g.await(30, TimeUnit.SECONDS);
                }
                if (n == failAt || offset == failOffset) {
                    throw new IOException("injected read failure at read " + n + ", offset " + offset);
                }
                inner.read(offset, dst);
            } catch (InterruptedException e) {
                throw new IOException(e);
            } finally {
                inFlight.decrementAndGet();
            }
        }
    }

    private CountingTarget target(byte[] content) throws IOException {
        FileBlockDevice dev = FileBlockDevice.open(tmp.resolve("target.img"), DISK, 512);
        dev.write(0, ByteBuffer.wrap(content));
        return new CountingTarget(dev);
    }

    private static List<IngestRecord> writes(SplittableRandom r, int n) {
        List<IngestRecord> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            int len = 512 * (1 + r.nextInt(128));
            long offset = 512L * r.nextInt((DISK - len) / 512 + 1);
            out.add(IngestRecord.write(i + 1, 1, 0, offset, len, 0, false));
        }
        return out;
    }

    @org.junit.jupiter.params.ParameterizedTest(name = "{0} lane(s)")
    @org.junit.jupiter.params.provider.ValueSource(ints = {1, 2, 3})
    void imagesComeInOrderWithTheTargetsBytesAndNeverMoreThanTheDepthAhead(int lanes) throws Exception {
        SplittableRandom r = new SplittableRandom(3);
        byte[] content = new byte[DISK];
        r.nextBytes(content);
        List<IngestRecord> writes = writes(r, 200);
        try (CountingTarget t = target(content); BeforeImageReader images = new BeforeImageReader(t, writes, 3, lanes)) {
            for (int i = 0; i < writes.size(); i++) {
                IngestRecord w = writes.get(i);
                if (i % 50 == 0) {
                    Thread.sleep(50); // a slow consumer: the readers must wait for buffers, not run ahead
                    assertThat(t.reads.get()).as("reads started after %d images taken", i)
                            .isLessThanOrEqualTo(i + 3 * lanes + lanes);
                }
                ByteBuffer b = images.next();
                assertThat(b.isDirect()).isTrue();
                assertThat(b.position()).isZero();
                assertThat(b.remaining()).isEqualTo(w.length());
                byte[] got = new byte[w.length()];
                b.duplicate().get(got);
                byte[] want = java.util.Arrays.copyOfRange(content, (int) w.offset(), (int) w.offset() + w.length());
                assertThat(got).as("image %d at %d+%d", i, w.offset(), w.length()).isEqualTo(want);
                images.done(b);
            }
            assertThat(t.reads.get()).isEqualTo(writes.size());
            assertThat(t.maxInFlight.get()).as("reads under way at once").isLessThanOrEqualTo(lanes);
            if (lanes > 1) {
                assertThat(t.maxInFlight.get()).as("the lanes really read side by side").isGreaterThan(1);
            }
        }
    }

    /** With two lanes the failure still comes at the image it belongs to, after every earlier image, in order. */
    @Test
    void withTwoLanesAFailedReadReachesTheCallerAtItsImage() throws Exception {
        SplittableRandom r = new SplittableRandom(6);
        byte[] content = new byte[DISK];
        r.nextBytes(content);
        List<IngestRecord> writes = new ArrayList<>();
        for (int i = 0; i < 30; i++) {
            writes.add(IngestRecord.write(i + 1, 1, 0, 4096L * i, 4096, 0, false)); // distinct offsets
        }
        try (CountingTarget t = target(content)) {
            t.failOffset = 4096L * 13;
            BeforeImageReader images = new BeforeImageReader(t, writes, 2, 2);
            for (int i = 0; i < 13; i++) {
                ByteBuffer b = images.next();
                byte[] got = new byte[4096];
                b.duplicate().get(got);
                assertThat(got).as("image %d", i).isEqualTo(java.util.Arrays.copyOfRange(content, 4096 * i, 4096 * (i + 1)));
                images.done(b);
            }
            assertThatThrownBy(images::next).isInstanceOf(IOException.class).hasMessageContaining("offset " + 4096L * 13);
            images.close();
            assertThat(t.inFlight.get()).isZero();
        }
    }

    @Test
    void aFailedReadReachesTheCallerAtItsImageAndCloseStillReturns() throws Exception {
        SplittableRandom r = new SplittableRandom(4);
        byte[] content = new byte[DISK];
        List<IngestRecord> writes = writes(r, 20);
        try (CountingTarget t = target(content)) {
            t.failAt = 6;
            BeforeImageReader images = new BeforeImageReader(t, writes, 4, 1);
            for (int i = 0; i < 5; i++) {
                images.done(images.next());
            }
            assertThatThrownBy(images::next).isInstanceOf(IOException.class)
                    .hasMessageContaining("injected read failure at read 6");
            images.close();
            assertThat(t.reads.get()).as("no read after the failure").isEqualTo(6);
        }
    }

    @Test
    void closingEarlyStopsTheReaderBeforeItReturns() throws Exception {
        SplittableRandom r = new SplittableRandom(5);
        List<IngestRecord> writes = writes(r, 100);
        try (CountingTarget t = target(new byte[DISK])) {
            t.gate = new CountDownLatch(1);
            BeforeImageReader images = new BeforeImageReader(t, writes, 2, 1);
            Thread opener = new Thread(() -> {
                try {
                    Thread.sleep(200); // the stimulus: the gate opens only after close() returned
                } catch (InterruptedException ignored) {
                    // just open sooner
                }
                t.gate.countDown(); // the read under way at close time finishes only now
            });
            opener.start();
            images.close(); // a caller that failed before taking any image
            assertThat(t.inFlight.get()).as("no read under way once close returned").isZero();
            int after = t.reads.get();
            assertThat(after).as("it stopped at the depth, not after all 100").isLessThanOrEqualTo(3);
            opener.join(); // the gate is open: a lane that did not stop would read again now
            Thread.sleep(100); // a negative check: the window in which such a lane would show
            assertThat(t.reads.get()).as("and nothing more is read later").isEqualTo(after);
            opener.join();
        }
    }

    /**
     * The capture's lanes: four for small writes (what measured faster), two for megabyte writes, and never more
     * read-ahead memory than two lanes of the batch's largest write or {@code READ_AHEAD_BYTES}, whichever is more.
     */
    @Test
    void smallWritesGetMoreReadLanesButNoMoreReadAheadMemory() {
        assertThat(JournalingApplyStage.readLanes(List.of(IngestRecord.write(1, 1, 0, 0, 4096, 0, false))))
                .isEqualTo(JournalingApplyStage.MAX_READ_LANES);
        assertThat(JournalingApplyStage.readLanes(List.of(IngestRecord.write(1, 1, 0, 0, 65536, 0, false),
                IngestRecord.write(2, 1, 0, 0, 4096, 0, false)))).isEqualTo(4);
        assertThat(JournalingApplyStage.readLanes(List.of(IngestRecord.write(1, 1, 0, 0, 4096, 0, false),
                IngestRecord.write(2, 1, 0, 0, 1 << 20, 0, false)))).isEqualTo(2); // the largest decides
        for (int len = 512; len <= 8 << 20; len *= 2) {
            int lanes = JournalingApplyStage.readLanes(List.of(IngestRecord.write(1, 1, 0, 0, len, 0, false)));
            long held = (long) lanes * JournalingApplyStage.READ_AHEAD * len;
            assertThat(lanes).as("lanes for %d-byte writes", len).isBetween(2, 4);
            assertThat(held).as("read-ahead bytes for %d-byte writes", len).isLessThanOrEqualTo(Math.max(
                    JournalingApplyStage.READ_AHEAD_BYTES, 2L * JournalingApplyStage.READ_AHEAD * len));
        }
    }
}
