package io.mtagent.agent.ingest;

import io.mtagent.agent.log.AppliedPoint;
import io.mtagent.agent.log.AtomicFile;
import io.mtagent.agent.log.LogFileNames;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.logging.Logger;

/**
 * The applier's side of an ingest log: records applied to the target free their backlog, the applied point is
 * persisted ({@link AppliedPoint}), and segments holding nothing newer go ({@link SegmentFiles#retire}).
 *
 * <h2>Promises</h2>
 * <ul>
 *   <li>The applied point is persisted <b>before</b> a segment is deleted: a restart must never need a deleted
 *       record.</li>
 *   <li>Otherwise at most once a second ({@link #PERSIST_INTERVAL_NANOS}): persisting costs two fsyncs and a
 *       rename. A crash can then lose up to that much progress of the applied point, which only means re-applying
 *       those records: applying is idempotent in order, and their before-images are already journaled, so they
 *       are not captured again.</li>
 *   <li>A full cache volume (or no descriptor) never fails the disk here: the {@code reserve} file is given up so
 *       the point can be persisted; failing that, the segments stay until a later batch persists it.</li>
 * </ul>
 *
 * <p>Thread-safety: the applier thread only (and close, once the applier stopped).
 */
final class AppliedProgress {
    static final long PERSIST_INTERVAL_NANOS = 1_000_000_000L;
    private static final Logger LOG = Logger.getLogger(AppliedProgress.class.getName());

    private final Path dir;
    private final String name;
    private final IngestIndex index;
    private final IngestSegments segments;
    private final SegmentFiles files;
    private final IngestReader reader;
    private final List<IngestLog.Listener> listeners;
    private long persistedApplied;
    private long persistedAtNanos;

    AppliedProgress(Path dir, String name, IngestIndex index, IngestSegments segments, SegmentFiles files,
                    IngestReader reader, List<IngestLog.Listener> listeners) {
        this.dir = dir;
        this.name = name;
        this.index = index;
        this.segments = segments;
        this.files = files;
        this.reader = reader;
        this.listeners = listeners;
    }

    /** At open: the point read from the file is the one persisted. */
    void recovered(long appliedSeq) {
        persistedApplied = appliedSeq;
    }

    /** See {@link IngestLog#markApplied}. */
    void markApplied(long seq) throws IOException {
        List<IngestIndex.Segment> deletable = index.applied(seq);
        AppliedPoint point = index.appliedPoint();
        if (!deletable.isEmpty() || System.nanoTime() - persistedAtNanos >= PERSIST_INTERVAL_NANOS) {
            if (!persistOrKeep(point)) {
                index.restore(deletable);
                deletable.clear();
            }
        }
        List<Path> kept = new ArrayList<>();
        boolean closing = index.closing();
        for (IngestIndex.Segment s : deletable) {
            reader.forget(s.index);
            Path spare = files.retire(s, kept.size(), closing);
            if (spare != null) {
                kept.add(spare);
            }
        }
        if (!deletable.isEmpty()) {
            AtomicFile.fsyncDirectory(dir);
            segments.keepReserve();
        }
        if (!kept.isEmpty()) {
            files.offerSpares(kept);
        }
        for (IngestLog.Listener l : listeners) {
            l.onApplied(seq);
        }
    }

    /**
     * Persists {@code point}, giving up the reserve when the volume is full; false when it still cannot (a
     * shortage), so the segments it would free must stay.
     */
    private boolean persistOrKeep(AppliedPoint point) throws IOException {
        try {
            persist(point);
            return true;
        } catch (IOException first) {
            if (Shortage.of(first) == null) {
                throw first;
            }
            if (segments.releaseReserve()) {
                // The space kept for this: the applied point must be persisted before segments can go, and
                // persisting it needs a little space; without the reserve a full volume could never drain.
                LOG.warning("ingest log " + name + ": cache volume full; used its reserve to free applied segments");
            }
        }
        try {
            persist(point);
            return true;
        } catch (IOException e) {
            if (Shortage.of(e) == null) {
                throw e;
            }
            // The applied point stays where it was persisted (a restart re-applies a little, which is idempotent).
            LOG.fine(() -> "ingest log " + name + ": applied point not persisted yet (" + Shortage.of(e) + ")");
            return false;
        }
    }

    /** See {@link IngestLog#persistAppliedNow}. */
    void persistNow() throws IOException {
        persist(index.appliedPoint());
    }

    /** Writes the applied-point file ({@link AppliedPoint}: seq and its source time; atomically and durably). */
    private void persist(AppliedPoint point) throws IOException {
        if (point.seq() == persistedApplied) {
            return;
        }
        point.write(dir.resolve(LogFileNames.APPLIED));
        persistedApplied = point.seq();
        persistedAtNanos = System.nanoTime();
    }
}
