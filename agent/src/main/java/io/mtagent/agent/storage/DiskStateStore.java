package io.mtagent.agent.storage;

import io.mtagent.protocol.DiskState;
import java.io.IOException;
import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;

/**
 * A disk's persisted replication facts: the stream epoch it is held under (so fencing survives restarts), its
 * state and the reason. Text file, key=value:
 * <pre>
 *   format=1
 *   epoch=&lt;u64&gt;
 *   state=protected|needs-resync|failed
 *   reason=&lt;text&gt;
 * </pre>
 * Written with {@link AtomicFile}: a completed {@link #save} is durable and a crash leaves the old or the new
 * content. Thread-safe (synchronized).
 */
public final class DiskStateStore {
    /** One version of the state. */
    public record Snapshot(long epoch, DiskState state, String reason) {
    }

    private final Path path;
    private Snapshot current;

    private DiskStateStore(Path path, Snapshot current) {
        this.path = path;
        this.current = current;
    }

    /** Loads the file, or starts at epoch 0, protected, when there is none yet. */
    public static DiskStateStore load(Path path) throws IOException {
        if (!Files.exists(path)) {
            return new DiskStateStore(path, new Snapshot(0, DiskState.PROTECTED, ""));
        }
        Properties p = new Properties();
        try {
            p.load(new StringReader(Files.readString(path, StandardCharsets.UTF_8)));
            if (!"1".equals(p.getProperty("format"))) {
                throw new IllegalArgumentException("unknown format " + p.getProperty("format"));
            }
            return new DiskStateStore(path, new Snapshot(Long.parseLong(p.getProperty("epoch")),
                    DiskState.ofLabel(p.getProperty("state")), p.getProperty("reason", "")));
        } catch (RuntimeException | java.nio.charset.CharacterCodingException e) {
            throw new IOException("disk state file " + path + " is damaged (" + e.getMessage() + "); restore it or"
                    + " delete it (the disk then starts at epoch 0 as protected)", e);
        }
    }

    public synchronized Snapshot current() {
        return current;
    }

    public synchronized void save(Snapshot s) throws IOException {
        Properties p = new Properties();
        p.setProperty("format", "1");
        p.setProperty("epoch", Long.toString(s.epoch()));
        p.setProperty("state", s.state().label());
        p.setProperty("reason", s.reason() == null ? "" : s.reason());
        java.io.StringWriter w = new java.io.StringWriter();
        p.store(w, "mtagent disk state; written atomically by the agent, do not edit while it runs");
        AtomicFile.createDirectories(path.toAbsolutePath().getParent());
        AtomicFile.write(path, w.toString().getBytes(StandardCharsets.UTF_8));
        current = s;
    }

    public Path path() {
        return path;
    }
}
