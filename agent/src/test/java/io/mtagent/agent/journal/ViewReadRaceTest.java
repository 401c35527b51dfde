package io.mtagent.agent.journal;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.mtagent.agent.Agent;
import io.mtagent.agent.TestAgents;
import io.mtagent.agent.config.AgentConfig;
import io.mtagent.agent.disk.ReplicatedDisk;
import io.mtagent.agent.disk.TargetOpener;
import io.mtagent.agent.ingest.ForwardingBlockDevice;
import io.mtagent.nativeio.BlockDevice;
import io.mtagent.protocol.TagType;
import io.mtagent.protocol.client.DiskStream;
import io.mtagent.protocol.client.ReplicationClient;
import io.netty.buffer.Unpooled;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A view reads the target only where the journal has no extent, so it resolves the extents <em>before</em> it
 * reads the target: a write that lands between the two (its before-image journaled after the resolution, its
 * bytes on the target before the read) must still not show through. The target here lets exactly that happen,
 * every time: on the view's read it has the agent apply a write over the range first.
 */
class ViewReadRaceTest {
    private static final int DISK_BYTES = 1 << 20;
    private static final Duration WAIT = Duration.ofSeconds(30);

    @TempDir
    Path dir;

    /** Runs {@link #beforeRead} once, on the next read by the thread that armed it. */
    static final class HookedTarget extends ForwardingBlockDevice {
        volatile Thread armedBy;
        volatile IoAction beforeRead;

        HookedTarget(BlockDevice inner) {
            super(inner);
        }

        @Override
        public void read(long offset, ByteBuffer dst) throws IOException {
            IoAction hook = beforeRead;
            if (hook != null && Thread.currentThread() == armedBy) {
                beforeRead = null;
                hook.run();
            }
            super.read(offset, dst);
        }
    }

    interface IoAction {
        void run() throws IOException;
    }

    /** Reads [0, length) of a view. */
    interface ViewReader {
        byte[] read(PointInTimeView view, int length) throws IOException;
    }

    @Test
    void aWriteLandingBetweenTheResolutionAndTheTargetReadDoesNotShowThrough() throws Exception {
        raceWith((view, length) -> view.read(0, length));
    }

    /**
     * The same race for a streamed view (an export): the target's piece holds B, so the write's before-image must
     * come after it, flagged as overwriting (an export writes it even where it holds zeros).
     */
    @Test
    void aStreamedViewHandsTheBeforeImageOfAWriteLandingDuringItsTargetReadAfterTheTargetBytes() throws Exception {
        int[] overwriting = {0};
        raceWith((view, length) -> {
            byte[] image = new byte[length];
            Arrays.fill(image, (byte) 'Z');
            view.stream(0, length, (offset, bytes, overwrites) -> {
                synchronized (image) {
                    bytes.duplicate().get(image, (int) offset, bytes.remaining());
                    overwriting[0] += overwrites ? bytes.remaining() : 0;
                }
            });
            return image;
        });
        assertThat(overwriting[0]).as("bytes handed over again after the race").isEqualTo(64 << 10);
    }

    private void raceWith(ViewReader reader) throws Exception {
        Map<String, String> settings = TestAgents.settingsWithRetention(dir, 1, DISK_BYTES);
        HookedTarget[] hooked = new HookedTarget[1];
        TargetOpener opener = d -> hooked[0] = new HookedTarget(TargetOpener.NATIVE.open(d));
        AgentConfig config = AgentConfig.of(settings);
        TestAgents.setPassphrase(config.stateDir());
        byte[] atTag = new byte[64 << 10];
        Arrays.fill(atTag, (byte) 'A');
        byte[] later = new byte[64 << 10];
        Arrays.fill(later, (byte) 'B');
        try (Agent agent = Agent.start(config, new SimpleMeterRegistry(), l -> { }, opener);
             ReplicationClient client = ReplicationClient.connect(TestAgents.client(agent).build())) {
            ReplicatedDisk disk = agent.disks().byId("disk-0");
            DiskStream s = client.openDisk("disk-0", 1);
            long ts = System.currentTimeMillis() * 1000;
            s.write(0, Unpooled.wrappedBuffer(atTag), ts++);
            long tag = s.tag(TagType.APP_CONSISTENT, "A", ts++);
            s.flush(WAIT);
            TestAgents.awaitApplied(agent, WAIT);
            long seqBefore = disk.journal().lastSeq();
            long[] landed = {0};
            try (PointInTimeView view = disk.view(tag, WAIT)) {
                hooked[0].armedBy = Thread.currentThread();
                hooked[0].beforeRead = () -> { // the extents are resolved by now; B lands before the target read
                    try {
                        s.write(0, Unpooled.wrappedBuffer(later), System.currentTimeMillis() * 1000);
                        s.flush(WAIT);
                        TestAgents.awaitApplied(agent, WAIT);
                        landed[0] = disk.journal().lastSeq();
                    } catch (Exception e) {
                        throw new IOException(e);
                    }
                };
                byte[] read = reader.read(view, atTag.length);
                assertThat(landed[0]).as("the write landed during the view's read").isGreaterThan(seqBefore);
                assertThat(Arrays.mismatch(read, atTag)).as("the view at the tag, read while B landed").isEqualTo(-1);
                assertThat(Arrays.mismatch(reader.read(view, atTag.length), atTag)).as("and read again").isEqualTo(-1);
            }
        }
    }
}
