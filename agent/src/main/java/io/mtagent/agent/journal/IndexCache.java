package io.mtagent.agent.journal;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The sealed segment indexes held in memory, least recently used first out, within a byte budget shared by every
 * journal of the agent ({@link #shared()}, 64 MiB unless {@link #setBudget} says otherwise). This is what bounds
 * the journal's memory however large the journal grows: a lookup that needs an index not held here reads its
 * {@code .idx} file again (slower, never wrong).
 *
 * <p>Thread-safe: all state is guarded by this; loads happen outside the lock (two threads may load the same
 * index at once; one copy wins).
 */
final class IndexCache {
    private static final IndexCache SHARED = new IndexCache(64L << 20);

    /** Loads an index from its file. */
    interface Loader {
        SegmentIndex load() throws IOException;
    }

    private record Key(Path dir, long segment) {
    }

    private final LinkedHashMap<Key, SegmentIndex> entries = new LinkedHashMap<>(64, 0.75f, true);
    private long budget;
    private long bytes;
    private long loads;

    IndexCache(long budgetBytes) {
        this.budget = budgetBytes;
    }

    static IndexCache shared() {
        return SHARED;
    }

    synchronized void setBudget(long budgetBytes) {
        this.budget = budgetBytes;
        evict();
    }

    /** The index of {@code segment} in {@code dir}, loaded with {@code loader} when not held. */
    SegmentIndex get(Path dir, long segment, Loader loader) throws IOException {
        Key k = new Key(dir, segment);
        synchronized (this) {
            SegmentIndex idx = entries.get(k);
            if (idx != null) {
                return idx;
            }
            loads++;
        }
        SegmentIndex idx = loader.load();
        put(dir, idx);
        return idx;
    }

    /** Holds a freshly sealed index (it is likely to be read soon: the newest points are the most used). */
    synchronized void put(Path dir, SegmentIndex idx) {
        SegmentIndex old = entries.put(new Key(dir, idx.segment), idx);
        if (old != null) {
            bytes -= old.memoryBytes();
        }
        bytes += idx.memoryBytes();
        evict();
    }

    synchronized void remove(Path dir, long segment) {
        SegmentIndex old = entries.remove(new Key(dir, segment));
        if (old != null) {
            bytes -= old.memoryBytes();
        }
    }

    /** Drops every index of one journal (it was closed). */
    synchronized void removeAll(Path dir) {
        for (Iterator<Map.Entry<Key, SegmentIndex>> it = entries.entrySet().iterator(); it.hasNext(); ) {
            Map.Entry<Key, SegmentIndex> e = it.next();
            if (e.getKey().dir().equals(dir)) {
                bytes -= e.getValue().memoryBytes();
                it.remove();
            }
        }
    }

    synchronized long bytes() {
        return bytes;
    }

    /** Index files read so far (a cache miss each). */
    synchronized long loads() {
        return loads;
    }

    private void evict() {
        Iterator<Map.Entry<Key, SegmentIndex>> it = entries.entrySet().iterator();
        // Keep at least the most recent entry even over budget: a lookup must be able to use what it loaded.
        while (bytes > budget && entries.size() > 1 && it.hasNext()) {
            SegmentIndex idx = it.next().getValue();
            bytes -= idx.memoryBytes();
            it.remove();
        }
    }
}
