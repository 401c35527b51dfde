package io.mtagent.agent.retention;

import io.mtagent.agent.apply.Applier.Hold;
import io.mtagent.agent.disk.ReplicatedDisk;
import io.mtagent.agent.ingest.FileTrees;
import io.mtagent.agent.journal.DiscardedHistory;
import io.mtagent.agent.journal.RetentionJournal;
import io.mtagent.agent.journal.RollbackState.Phase;
import io.mtagent.agent.journal.RollbackState;
import io.mtagent.agent.journal.RollbackWriter;
import io.mtagent.agent.log.AtomicFile;
import io.mtagent.nativeio.BlockDevice;
import io.mtagent.protocol.DiskState;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeoutException;
import java.util.function.BiConsumer;
import java.util.logging.Logger;

/**
 * Rollback ("recover") of a disk to a recovery point, and commit (docs/ARCHITECTURE.md, "Retention journal and recovery").
 *
 * <p>{@link #recover} stops replication on the disk (state {@code recovering}: streams fenced, writes refused),
 * lets the applier apply everything acknowledged, pauses it, then in two persisted phases:
 * <ol>
 *   <li>{@code capturing}: copies the target's current content of every range the rollback will overwrite into an
 *       <em>undo journal</em> next to the retention journal (one record per run of adjacent ranges), and syncs it. The target is untouched in this phase,
 *       so a crash here simply restarts the capture.</li>
 *   <li>{@code rolling}: writes onto the target, for every range changed after P, the earliest before-image with
 *       seq &gt; P (the content at P), each sector once, in large writes, several at once ({@link RollbackWriter}); flushes.
 *       Idempotent (the writes depend only on the journal), so a crash here re-runs this phase.</li>
 * </ol>
 * The disk is then {@code at-point}. Another {@code recover} (to another point, or {@code latest}) first restores
 * the undo journal ({@code restoring}, idempotent) and starts over. Without room for the undo journal the
 * rollback is refused up front with the bytes it needs, unless {@code irreversible}. {@link #commit} at latest
 * resumes replication; at an earlier point it leaves the disk {@code needs-resync}.
 *
 * <p>Phases are kept in {@code rollback.state} ({@link RollbackState}) in the disk's journal directory, and
 * {@link #resume} finishes an interrupted operation at start. Not thread-safe per disk: one operation at a time
 * (the control API serialises jobs per disk).
 */
public final class RollbackService {
    private static final Logger LOG = Logger.getLogger(RollbackService.class.getName());
    static final String STATE_FILE = RollbackState.FILE;
    static final String UNDO_DIR = "undo";
    /** Space kept free on the retention volume beyond the undo journal's size. */
    private static final long SPACE_MARGIN = 16L << 20;

    /** Progress: bytes done and bytes in all. */
    public interface Progress extends BiConsumer<Long, Long> {
        Progress NONE = (done, total) -> { };
    }

    /**
     * What a rollback would need: the before-images journaled after the point, their bytes, and at most how many
     * bytes it writes to the target and to the undo journal ({@code writeBytes}: each changed sector once, so no
     * more than the disk's size).
     */
    public record Plan(long point, long images, long bytes, long writeBytes) {
    }

    private RollbackService() {
    }

    /** Plans a rollback of {@code disk} to {@code point} without changing anything. */
    public static Plan plan(ReplicatedDisk disk, long point) throws IOException {
        long[] images = journal(disk).imagesAfter(point);
        return new Plan(point, images[0], images[1], Math.min(images[1], disk.sizeBytes()));
    }

    /**
     * Rolls the disk back to {@code point} (a sequence number at or below the latest acknowledged one).
     *
     * @throws IllegalStateException with the bytes needed when the undo journal does not fit, or when the point
     *         is outside the retention window
     */
    public static void recover(ReplicatedDisk disk, long point, boolean irreversible, Progress progress)
            throws IOException, InterruptedException, TimeoutException {
        RetentionJournal journal = journal(disk);
        if (point < journal.earliestSeq() || point > disk.lastDurableSeq()) {
            throw new IllegalStateException("disk " + disk.id() + ": seq " + point + " is not a recoverable point (earliest "
                    + journal.earliestSeq() + ", latest " + disk.lastDurableSeq() + ")");
        }
        DiscardedHistory.Range gone = journal.discarded().rangeOf(point);
        if (gone != null) {
            throw new IllegalStateException(DiscardedHistory.refusal(disk.id(), point, gone));
        }
        Properties st = readState(disk);
        if (st != null && Phase.valueOf(st.getProperty("phase")) != Phase.AT_LATEST) {
            restoreLatest(disk, progress); // back to latest before going to another point
        }
        if (disk.state() != DiskState.RECOVERING) {
            disk.setRecoveryState(DiskState.RECOVERING, "rolling back to seq " + point);
        }
        // No write is accepted any more: make what was accepted durable, let the applier apply all of it, hold it.
        // (It may be paused here, by a restart that resumed a rollback, or by the restore above: the target is at
        // latest again, so let it run, or the wait below never ends.)
        // Before the target changes, the applied point is persisted too: a restart must find everything applied, or
        // it would re-apply the tail that was applied since the last periodic persist onto the rolled-back target
        // (found by the failback soak: after a commit at an earlier point and a kill -9, the discarded branch's last
        // writes came back).
        disk.applyControl().applyAllAndHold(Duration.ofMinutes(10));
        Plan plan = plan(disk, point);
        if (!irreversible) {
            requireRoom(disk, plan);
        }
        run(disk, point, irreversible, Phase.CAPTURING, progress);
    }

    /**
     * Refuses a reversible rollback whose undo journal would not fit on the retention volume (the control API
     * asks before it stops replication; {@link #recover} asks again).
     *
     * @throws IllegalStateException with the bytes needed and the bytes free
     */
    public static void requireRoom(ReplicatedDisk disk, Plan plan) throws IOException {
        long free = Files.getFileStore(journal(disk).directory()).getUsableSpace();
        long need = plan.writeBytes() + plan.images() * 64 + SPACE_MARGIN;
        if (need > free) {
            throw new IllegalStateException("rolling disk " + disk.id() + " back to seq " + plan.point() + " needs "
                    + need / (1 << 20) + " MiB on the retention volume to stay reversible, but only "
                    + free / (1 << 20) + " MiB are free; free space, or use --irreversible (no way back)");
        }
    }

    /** Finishes an operation a crash interrupted (called at start for every disk). */
    public static void resume(ReplicatedDisk disk) throws IOException {
        Properties st = readState(disk);
        if (st == null) {
            finishCommittedState(disk);
            return;
        }
        Phase phase = Phase.valueOf(st.getProperty("phase"));
        long point = Long.parseLong(st.getProperty("point"));
        boolean irreversible = Boolean.parseBoolean(st.getProperty("irreversible"));
        if (phase == Phase.AT_POINT && committedAt(disk, point)) {
            LOG.warning("disk " + disk.id() + ": finishing the commit at seq " + point + " a restart interrupted");
            commit(disk);
            return;
        }
        disk.applyControl().hold(Hold.ROLLBACK);
        switch (phase) {
            case CAPTURING, ROLLING -> {
                LOG.warning("disk " + disk.id() + ": finishing the rollback to seq " + point + " a restart interrupted ("
                        + phase.name().toLowerCase() + ")");
                run(disk, point, irreversible, phase, Progress.NONE);
            }
            case RESTORING -> {
                LOG.warning("disk " + disk.id() + ": finishing the return to latest a restart interrupted");
                restoreLatest(disk, Progress.NONE);
            }
            case AT_POINT -> {
                try {
                    holdPoint(journal(disk), point); // before the pruner's first pass (the agent starts it later)
                } catch (IllegalStateException e) {
                    LOG.warning("disk " + disk.id() + ": rolled back to seq " + point + ", which retention no longer"
                            + " holds (" + e.getMessage() + "); commit, or recover to latest");
                }
            }
            default -> { }
        }
    }

    /**
     * Per journal, the lease that keeps a rolled-back disk's point reachable from the start of its rollback until
     * the operator commits or returns to latest. Pruning runs on its own schedule (and the undo journal counts
     * against the same volume cap): without it the power-loss test saw a rollback fail on a segment pruned under
     * it, and a disk at a point lose that point after a restart, so "recover --to" it again was refused. The
     * journal does not grow meanwhile (replication is stopped), so holding costs no space. Thread-safe.
     */
    private static final Map<RetentionJournal, AutoCloseable> POINT_HOLDS = new ConcurrentHashMap<>();

    /** Holds {@code point} on the disk's journal (replacing an earlier hold); refuses a point already pruned. */
    private static void holdPoint(RetentionJournal journal, long point) {
        AutoCloseable hold = journal.lease(point);
        closeHold(POINT_HOLDS.put(journal, hold));
    }

    private static void releasePoint(RetentionJournal journal) {
        closeHold(POINT_HOLDS.remove(journal));
    }

    private static void closeHold(AutoCloseable hold) {
        if (hold != null) {
            try {
                hold.close();
            } catch (Exception e) {
                throw new IllegalStateException(e); // a journal lease's release does not fail
            }
        }
    }

    private static void run(ReplicatedDisk disk, long point, boolean irreversible, Phase from, Progress progress)
            throws IOException {
        RetentionJournal journal = journal(disk);
        holdPoint(journal, point); // released by the return to latest or the commit
        rollTarget(disk, journal, point, irreversible, from, progress);
    }

    private static void rollTarget(ReplicatedDisk disk, RetentionJournal journal, long point, boolean irreversible,
                                   Phase from, Progress progress) throws IOException {
        BlockDevice target = disk.target();
        long size = target.size();
        Path undoDir = journal.directory().resolve(UNDO_DIR);
        if (from == Phase.CAPTURING) {
            writeState(disk, Phase.CAPTURING, point, irreversible);
            deleteTree(undoDir);
            // Before the target changes: every before-image the rollback will write is read and verified (a damaged
            // journal refuses here, with the target untouched), and unless irreversible, what the rollback
            // overwrites goes to the undo journal.
            try (RetentionJournal undo = irreversible ? null : RetentionJournal.openInside(journal, undoDir, 64L << 20)) {
                RollbackWriter.capture(journal, point, target, undo, (done, of) -> progress.accept(done, 2 * of));
            } catch (IOException e) {
                // The target was not touched: back to where the operator started (replication stays stopped).
                deleteTree(undoDir);
                writeState(disk, Phase.AT_LATEST, disk.lastDurableSeq(), false);
                releasePoint(journal);
                disk.setRecoveryState(DiskState.RECOVERING, "rollback to seq " + point + " refused, the target is"
                        + " unchanged at latest: " + e.getMessage());
                throw e;
            }
        }
        writeState(disk, Phase.ROLLING, point, irreversible);
        // Each changed sector once, with the earliest before-image after the point (the content at the point).
        RollbackWriter.roll(journal, point, target, (done, of) -> progress.accept(of + done, 2 * of));
        progress.accept(2 * size, 2 * size);
        writeState(disk, Phase.AT_POINT, point, irreversible);
        disk.setRecoveryState(DiskState.RECOVERING, "rolled back to seq " + point + (irreversible ? " (irreversible)" : "")
                + "; 'mtagent commit' to keep it, or recover to another point or latest");
    }

    /** Undoes a rollback: the target gets back the content it had at latest. */
    public static void restoreLatest(ReplicatedDisk disk, Progress progress) throws IOException {
        Properties st = readState(disk);
        if (st == null || Phase.valueOf(st.getProperty("phase")) == Phase.AT_LATEST) {
            return;
        }
        Phase phase = Phase.valueOf(st.getProperty("phase"));
        long point = Long.parseLong(st.getProperty("point"));
        boolean irreversible = Boolean.parseBoolean(st.getProperty("irreversible"));
        Path undoDir = journal(disk).directory().resolve(UNDO_DIR);
        if (phase == Phase.CAPTURING) {
            deleteTree(undoDir); // the target was not touched yet
        } else {
            if (irreversible) {
                throw new IllegalStateException("disk " + disk.id() + " was rolled back with --irreversible: there is no"
                        + " way back to latest; commit, then resync");
            }
            writeState(disk, Phase.RESTORING, point, false);
            try (RetentionJournal undo = RetentionJournal.openInside(journal(disk), undoDir, 64L << 20)) {
                long total = undo.imagesAfter(0)[1];
                long[] done = {0};
                undo.forEachImageAfter(0, false, r -> {
                    disk.target().write(r.offset(), ByteBuffer.wrap(undo.image(r)));
                    done[0] += r.length();
                    progress.accept(done[0], total);
                });
            }
            disk.target().flush();
            deleteTree(undoDir);
        }
        writeState(disk, Phase.AT_LATEST, disk.lastDurableSeq(), false);
        releasePoint(journal(disk));
        disk.setRecoveryState(DiskState.RECOVERING, "back at latest; 'mtagent commit' resumes replication");
    }

    /**
     * Keeps the current state: at latest, replication resumes (protected); at an earlier point the disk is
     * needs-resync (the source must resync before it is protected again).
     */
    public static DiskState commit(ReplicatedDisk disk) throws IOException {
        Properties st = readState(disk);
        if (st == null) {
            throw new IllegalStateException("disk " + disk.id() + " is not being recovered: nothing to commit");
        }
        Phase phase = Phase.valueOf(st.getProperty("phase"));
        if (phase != Phase.AT_POINT && phase != Phase.AT_LATEST) {
            throw new IllegalStateException("disk " + disk.id() + " is in the middle of a rollback (" + phase + ")");
        }
        long point = Long.parseLong(st.getProperty("point"));
        if (phase == Phase.AT_POINT && point >= disk.lastDurableSeq()) {
            // "recover --to latest" on a disk already back at latest rolls back to the latest seq: nothing was
            // rolled back, so this is a commit at latest (the power-loss test left disks needs-resync this way).
            phase = Phase.AT_LATEST;
        }
        if (phase == Phase.AT_POINT) {
            // The decision: the branch (point, latest] is gone, durably, before anything else changes. A restart
            // that finds this range and a state file still at this point finishes the commit (resume).
            journal(disk).discard(new DiscardedHistory.Range(point + 1, disk.lastDurableSeq(), point,
                    DiscardedHistory.Cause.COMMIT));
        }
        deleteTree(journal(disk).directory().resolve(UNDO_DIR));
        releasePoint(journal(disk));
        Files.deleteIfExists(journal(disk).directory().resolve(STATE_FILE));
        // Durable before the new state is: else a power cut brings the state file back and the next start pauses
        // the applier of a disk it reports protected (found by the power-loss test).
        AtomicFile.fsyncDirectory(journal(disk).directory());
        DiskState next = phase == Phase.AT_LATEST ? DiskState.PROTECTED : DiskState.NEEDS_RESYNC;
        disk.setRecoveryState(next, next == DiskState.PROTECTED ? "recovery committed at latest; replicating"
                : "recovery committed at seq " + point + ": the target no longer matches the source; resync it");
        disk.applyControl().resume(Hold.ROLLBACK);
        return next;
    }

    /** True when the discarded history records the commit at {@code point} of everything the disk received. */
    private static boolean committedAt(ReplicatedDisk disk, long point) {
        DiscardedHistory.Range r = journal(disk).discarded().rangeOf(point + 1);
        return r != null && r.cause() == DiscardedHistory.Cause.COMMIT && r.at() == point
                && r.last() >= disk.lastDurableSeq();
    }

    /**
     * A disk persisted as recovering without a rollback state: the commit deleted the state file but a restart
     * came before the disk's new state was persisted. The discarded history says where it committed.
     */
    private static void finishCommittedState(ReplicatedDisk disk) {
        if (disk.state() != DiskState.RECOVERING) {
            return;
        }
        long latest = disk.lastDurableSeq();
        DiscardedHistory.Range r = journal(disk).discarded().rangeOf(latest);
        boolean atPoint = r != null && r.cause() == DiscardedHistory.Cause.COMMIT && r.last() == latest;
        LOG.warning("disk " + disk.id() + ": finishing the commit" + (atPoint ? " at seq " + r.at() : " at latest")
                + " a restart interrupted");
        disk.setRecoveryState(atPoint ? DiskState.NEEDS_RESYNC : DiskState.PROTECTED, atPoint
                ? "recovery committed at seq " + r.at() + ": the target no longer matches the source; resync it"
                : "recovery committed at latest; replicating");
        disk.applyControl().resume(Hold.ROLLBACK);
    }

    /** "at-point seq N", "at-latest", "rolling" … for status; null when no recovery is in progress. */
    public static String describe(ReplicatedDisk disk) throws IOException {
        Properties st = readState(disk);
        return st == null ? null : st.getProperty("phase").toLowerCase().replace('_', '-') + " seq " + st.getProperty("point");
    }

    private static RetentionJournal journal(ReplicatedDisk disk) {
        RetentionJournal j = disk.journal();
        if (j == null) {
            throw new IllegalStateException("disk " + disk.id() + " keeps no retention journal: set retention.dir");
        }
        return j;
    }

    private static Properties readState(ReplicatedDisk disk) throws IOException {
        return RollbackState.read(journal(disk).directory());
    }

    private static void writeState(ReplicatedDisk disk, Phase phase, long point, boolean irreversible) throws IOException {
        RollbackState.write(journal(disk).directory(), phase, point, irreversible);
    }

    private static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        FileTrees.deleteRecursively(dir);
        AtomicFile.fsyncDirectory(dir.getParent());
    }

    /** Convenience for group operations: the disks' plans. */
    public static List<Plan> plans(List<ReplicatedDisk> disks, List<Long> points) throws IOException {
        List<Plan> out = new ArrayList<>();
        for (int i = 0; i < disks.size(); i++) {
            out.add(plan(disks.get(i), points.get(i)));
        }
        return out;
    }
}
