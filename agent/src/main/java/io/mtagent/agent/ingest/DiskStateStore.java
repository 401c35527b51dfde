package io.mtagent.agent.ingest;

import io.mtagent.agent.log.AtomicFile;
import io.mtagent.protocol.DiskState;
import java.io.IOException;
import java.io.StringReader;
import java.io.StringWriter;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Properties;

/**
 * A disk's persisted replication facts: the stream epoch it is held under (so fencing survives restarts), its
 * state and the reason. Text file, key=value:
 * <pre>
 *   format=1
 *   epoch=&lt;u64&gt;
 *   state=protected|needs-resync|failed|recovering|initial-sync|resyncing|paused
 *   reason=&lt;text&gt;
 *   # only while a resync is in progress (SPEC.md §12.6); older agents ignore these keys:
 *   resync.id=&lt;u64&gt;  resync.mode=full|differential|ranges  resync.chunk=&lt;bytes&gt;
 *   resync.offset=&lt;u64&gt;  resync.length=&lt;u64&gt;  resync.startSeq=&lt;u64&gt;  resync.done=&lt;u64&gt;
 * </pre>
 * The format number stays 1: the resync keys are additions an older reader skips, and the states it does not
 * know are only ever written by an agent that has them.
 * Written with {@link AtomicFile}: a completed {@link #save} is durable and a crash leaves the old or the new
 * content. Thread-safe (synchronized).
 */
public final class DiskStateStore {
    /**
     * One version of the state.
     *
     * @param resync the resync in progress, or null
     */
    public record Snapshot(long epoch, DiskState state, String reason, Resync resync) {
        public Snapshot(long epoch, DiskState state, String reason) {
            this(epoch, state, reason, null);
        }
    }

    /**
     * A resync in progress (SPEC.md §12.6): what RESYNC_START said, the seq it got, and the highest durable
     * RESYNC_PROGRESS offset (where it resumes).
     */
    public record Resync(long id, String mode, int chunkSize, long offset, long length, long startSeq, long doneOffset) {
        public Resync withDone(long done) {
            return new Resync(id, mode, chunkSize, offset, length, startSeq, done);
        }
    }

    private final Path path;
    private Snapshot current;
    /** The directory was made (and made durable) by this store. */
    private boolean directoryMade;

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
            Resync resync = null;
            if (p.getProperty("resync.id") != null) {
                resync = new Resync(Long.parseLong(p.getProperty("resync.id")), p.getProperty("resync.mode"),
                        Integer.parseInt(p.getProperty("resync.chunk")), Long.parseLong(p.getProperty("resync.offset")),
                        Long.parseLong(p.getProperty("resync.length")), Long.parseLong(p.getProperty("resync.startSeq")),
                        Long.parseLong(p.getProperty("resync.done")));
            }
            return new DiskStateStore(path, new Snapshot(Long.parseLong(p.getProperty("epoch")),
                    DiskState.ofLabel(p.getProperty("state")), p.getProperty("reason", ""), resync));
        } catch (RuntimeException | CharacterCodingException e) {
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
        Resync r = s.resync();
        if (r != null) {
            p.setProperty("resync.id", Long.toString(r.id()));
            p.setProperty("resync.mode", r.mode());
            p.setProperty("resync.chunk", Integer.toString(r.chunkSize()));
            p.setProperty("resync.offset", Long.toString(r.offset()));
            p.setProperty("resync.length", Long.toString(r.length()));
            p.setProperty("resync.startSeq", Long.toString(r.startSeq()));
            p.setProperty("resync.done", Long.toString(r.doneOffset()));
        }
        StringWriter w = new StringWriter();
        p.store(w, "mtagent disk state; written atomically by the agent, do not edit while it runs");
        byte[] content = w.toString().getBytes(StandardCharsets.UTF_8);
        if (!directoryMade) {
            // Once per store, not on every state change: it fsyncs every directory up to the root, and a rollback
            // changes the state twice while the operator waits.
            AtomicFile.createDirectories(path.toAbsolutePath().getParent());
            directoryMade = true;
        }
        try {
            AtomicFile.write(path, content);
        } catch (NoSuchFileException gone) { // the directory was removed meanwhile: make it again, durably
            AtomicFile.createDirectories(path.toAbsolutePath().getParent());
            AtomicFile.write(path, content);
        }
        current = s;
    }

    public Path path() {
        return path;
    }
}
