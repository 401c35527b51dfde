package io.mtagent.agent;

import io.mtagent.agent.sim.DiskModel;
import io.mtagent.protocol.TagType;
import io.mtagent.protocol.client.DiskStream;
import io.mtagent.protocol.client.ReplicationClient;
import io.netty.buffer.Unpooled;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * A replication group's workload for recovery tests: random overlapping writes on disk-0 and disk-1, a group tag
 * on both every 20 rounds, and per tag the model image of each disk. Not thread-safe.
 */
public final class GroupWorkload {
    private final int diskBytes;
    /** The current model of each disk. */
    public final List<DiskModel> models = new ArrayList<>();
    /** Group tag name → per disk the image at that tag, in the order the tags were sent. */
    public final Map<String, List<byte[]>> groupImages = new LinkedHashMap<>();

    public GroupWorkload(int diskBytes) {
        this.diskBytes = diskBytes;
    }

    /** Streams {@code rounds} rounds, waits until acknowledged and applied. */
    public void stream(Agent agent, ReplicationClient client, int rounds, long seed) throws Exception {
        List<DiskStream> streams = List.of(client.openDisk("disk-0", 1), client.openDisk("disk-1", 1));
        if (models.isEmpty()) {
            models.add(new DiskModel(diskBytes));
            models.add(new DiskModel(diskBytes));
        }
        SplittableRandom r = new SplittableRandom(seed);
        long ts = System.currentTimeMillis() * 1000;
        for (int i = 1; i <= rounds; i++) {
            for (int d = 0; d < 2; d++) {
                byte[] data = new byte[512 * (1 + r.nextInt(64))];
                r.nextBytes(data);
                long off = 512L * r.nextInt((diskBytes - data.length) / 512);
                streams.get(d).write(off, Unpooled.wrappedBuffer(data), ts + i);
                models.get(d).apply(off, data);
            }
            if (i % 20 == 0) {
                String name = "gp-" + seed + "-" + i;
                List<byte[]> images = new ArrayList<>();
                for (int d = 0; d < 2; d++) {
                    streams.get(d).tag(TagType.GROUP, name, ts + i);
                    images.add(models.get(d).snapshot());
                }
                groupImages.put(name, images);
            }
        }
        for (DiskStream s : streams) {
            s.flush(Duration.ofSeconds(30));
        }
        TestAgents.awaitApplied(agent, Duration.ofSeconds(30));
    }
}
