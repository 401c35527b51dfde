package io.mtagent.agent.disk;

import io.micrometer.core.instrument.MeterRegistry;
import io.mtagent.agent.apply.Applier.Hold;
import io.mtagent.agent.apply.Applier;
import io.mtagent.agent.apply.ApplierOptions;
import io.mtagent.agent.apply.ApplyStage;
import io.mtagent.agent.config.DiskConfig;
import io.mtagent.agent.ingest.DiskStateStore;
import io.mtagent.agent.ingest.IngestLog;
import io.mtagent.agent.ingest.IngestLogOptions;
import io.mtagent.agent.journal.DiscardedHistory;
import io.mtagent.agent.journal.JournalingApplyStage;
import io.mtagent.agent.journal.RetentionJournal;
import io.mtagent.agent.journal.RollbackState;
import io.mtagent.agent.log.AtomicFile;
import io.mtagent.agent.resync.ResyncApplyStage;
import io.mtagent.nativeio.BlockDevice;
import io.mtagent.nativeio.BlockDeviceException;
import io.mtagent.nativeio.DiskDiscovery;
import io.mtagent.protocol.DiskState;
import java.io.Closeable;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;
import java.util.logging.Logger;

/**
 * The target disks of the agent: for each declared disk its configuration and, unless it is released, the open
 * disk (target device, recovered ingest log, persisted state, running applier). Disks are opened at start and can
 * be added, released (quiesced and closed so the hypervisor can detach the device) and re-attached at run time
 * through the control API.
 *
 * <p>Thread-safety: lookups ({@link #byId}, {@link #all}) are lock-free reads of concurrent maps and may run on
 * event loops; mutations (add, release, attach, close) are serialized on one lock and may block on I/O, so they
 * must not run on an event loop.
 */
public final class DiskRegistry implements Closeable {
    private static final Logger LOG = Logger.getLogger(DiskRegistry.class.getName());
    private final Map<String, ReplicatedDisk> byId = new ConcurrentHashMap<>();
    private final Map<String, DiskConfig> declared = new ConcurrentHashMap<>();
    private final Map<String, DiskStats> stats = new ConcurrentHashMap<>();
    private final Object mutation = new Object();
    private final Path cacheDir;
    private final Path stateDir;
    private final IngestLogOptions logOptions;
    private final ApplierOptions applierOptions;
    private final long quotaBytes;
    private final MeterRegistry registry;
    private final Optional<Path> retentionDir;
    private final long journalSegmentBytes;
    private final TargetOpener opener;
    /** Disk discovery needs sysfs (Linux); elsewhere device targets are not checked against the mount table. */
    private static final boolean DISCOVERY_USABLE = Files.isDirectory(Path.of("/sys/block"));
    private volatile CacheBudget budget;

    private DiskRegistry(Path cacheDir, Path stateDir, Optional<Path> retentionDir, long journalSegmentBytes,
                         IngestLogOptions logOptions, ApplierOptions applierOptions, long quotaBytes,
                         MeterRegistry registry, TargetOpener opener) {
        this.opener = opener;
        this.retentionDir = retentionDir;
        this.journalSegmentBytes = journalSegmentBytes;
        this.cacheDir = cacheDir;
        this.stateDir = stateDir;
        this.logOptions = logOptions;
        this.applierOptions = applierOptions;
        this.quotaBytes = quotaBytes;
        this.registry = registry;
    }

    /**
     * Opens every disk; on failure closes what was opened and rethrows.
     *
     * @param progress receives one line per recovered disk (systemd STATUS=, terminal)
     */
    public static DiskRegistry open(Collection<DiskConfig> disks, Path cacheDir, Path stateDir, IngestLogOptions logOptions,
                                    ApplierOptions applierOptions, long quotaBytes, MeterRegistry registry,
                                    Consumer<String> progress) throws IOException {
        return open(disks, cacheDir, stateDir, Optional.empty(), 64L << 20, logOptions, applierOptions,
                quotaBytes, registry, progress, TargetOpener.NATIVE);
    }

    /**
     * As above, with a retention journal per disk under {@code retentionDir} (when present) between the ingest
     * log and the target, and the targets opened by {@code opener} (tests inject failing devices).
     *
     * <p>Failure policy (one per target disk): a target I/O error stops that disk's applier and moves the disk to
     * {@code failed} at once (persisted, its owner told); the ingest log keeps every acked write that was not
     * applied, and the other disks carry on.
     */
    public static DiskRegistry open(Collection<DiskConfig> disks, Path cacheDir, Path stateDir,
                                    Optional<Path> retentionDir, long journalSegmentBytes,
                                    IngestLogOptions logOptions, ApplierOptions applierOptions, long quotaBytes,
                                    MeterRegistry registry, Consumer<String> progress, TargetOpener opener)
            throws IOException {
        DiskRegistry r = new DiskRegistry(cacheDir, stateDir, retentionDir, journalSegmentBytes, logOptions,
                applierOptions, quotaBytes, registry, opener);
        try {
            AtomicFile.createDirectories(stateDir.resolve("disks"));
            for (DiskConfig d : disks) {
                if (Files.exists(r.releasedMarker(d))) {
                    r.declareReleased(d);
                    continue;
                }
                progress.accept("recovering ingest log of disk " + d.id());
                r.add(d);
            }
        } catch (IOException | RuntimeException e) {
            try {
                r.close();
            } catch (IOException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e;
        }
        return r;
    }

    /** "target I/O error (MEDIA_ERROR) on /dev/...: ..." — the typed kind first, so status readers need not parse. */
    static String failureReason(BlockDevice target, Throwable t) {
        if (t instanceof BlockDeviceException e) {
            return "target I/O error (" + e.failure() + ") on " + target.path() + ": " + e.getMessage();
        }
        return "applier failed on " + target.path() + ": " + t;
    }

    /** Sets the global cache cap for every disk, present and future. */
    public void attach(CacheBudget budget) {
        this.budget = budget;
        byId.values().forEach(d -> d.attach(budget));
    }

    /**
     * Declares and opens a disk at run time.
     *
     * @throws IllegalArgumentException if its id, name or path is already declared
     */
    public ReplicatedDisk add(DiskConfig d) throws IOException {
        synchronized (mutation) {
            for (DiskConfig other : declared.values()) {
                if (other.id().equals(d.id()) || other.name().equals(d.name())
                        || other.path().toAbsolutePath().normalize().equals(d.path().toAbsolutePath().normalize())) {
                    throw new IllegalArgumentException("disk " + d.id() + " (" + d.path() + ") clashes with the"
                            + " declared disk " + other.id() + " (" + other.path() + "): ids, names and paths must"
                            + " be unique");
                }
            }
            ReplicatedDisk disk = openDisk(d);
            declared.put(d.id(), d);
            byId.put(d.id(), disk);
            return disk;
        }
    }

    /**
     * {@code <state>/disks/<name>.released}: the operator released the disk, so the hypervisor may have given the
     * device to a machine. A restart must not open it again (and take streams onto it); only attach does.
     */
    private Path releasedMarker(DiskConfig d) {
        return stateDir.resolve("disks").resolve(d.name() + ".released");
    }

    /** A disk released before the restart: declared, not opened. */
    private void declareReleased(DiskConfig d) {
        synchronized (mutation) {
            declared.put(d.id(), d);
        }
        LOG.info(() -> "disk " + d.id() + " stays released (released through the control API before the restart;"
                + " attach it to open it)");
    }

    private ReplicatedDisk openDisk(DiskConfig d) throws IOException {
        if (d.sizeBytes() > 0 && d.path().toAbsolutePath().getParent() != null) {
            Files.createDirectories(d.path().toAbsolutePath().getParent()); // file target created at its size
        }
        if (DISCOVERY_USABLE) {
            // A device target must not be the system disk, a mounted disk or the one holding our own data.
            DiskDiscovery.system().refuseIfInUse(d.path(), Map.of("cache", cacheDir.toAbsolutePath(),
                    "state", stateDir.toAbsolutePath()));
        }
        BlockDevice target = opener.open(d);
        IngestLog log;
        try {
            log = IngestLog.open(cacheDir.resolve(d.name()), d.name(), logOptions);
        } catch (IOException | RuntimeException e) {
            target.close();
            throw e;
        }
        DiskStateStore state;
        try {
            state = DiskStateStore.load(stateDir.resolve("disks").resolve(d.name() + ".state"));
        } catch (IOException | RuntimeException e) {
            log.close();
            target.close();
            throw e;
        }
        DiskStats s = stats.computeIfAbsent(d.id(), id -> new DiskStats(registry, id, () -> byId.get(id)));
        RetentionJournal journal = null;
        ApplyStage stage = ApplyStage.NONE;
        if (retentionDir.isPresent()) {
            try {
                journal = RetentionJournal.open(retentionDir.get().resolve(d.name()), journalSegmentBytes);
            } catch (IOException | RuntimeException e) {
                log.close();
                target.close();
                throw e;
            }
            stage = new JournalingApplyStage(journal, s.applyTimes());
        }
        ResyncApplyStage resyncStage = new ResyncApplyStage(stage);
        Applier applier = new Applier(d.name(), log, target, resyncStage, applierOptions, s.applyTimes());
        ReplicatedDisk disk = new ReplicatedDisk(d.name(), d.id(), target, log, applier, state, quotaBytes, s, journal);
        resyncStage.setListener(disk::progressApplied);
        CacheBudget b = budget;
        if (b != null) {
            disk.attach(b);
        }
        applier.onFailure(t -> disk.markFailed(failureReason(target, t)));
        if (disk.state() == DiskState.FAILED) {
            recheckFailed(disk, "at start");
        }
        if (journal != null && RollbackState.rolledBack(journal.directory())) {
            // A rollback was in progress or not yet committed: the target is not at latest, so the applier must not
            // write on it; the agent finishes the rollback (RollbackService.resume) after start.
            applier.hold(Hold.ROLLBACK, true);
        }
        applier.start();
        LOG.info(() -> "disk " + d.id() + " (" + d.path() + ", " + target.size() + " bytes): "
                + disk.state().label() + ", durable seq " + log.lastDurableSeq() + ", applied seq " + log.appliedSeq());
        return disk;
    }

    /**
     * A failed disk's target is checked ({@link TargetCheck}); when it works, the failure is cleared and the applier
     * applies the acknowledged writes the ingest log kept. Before the applier starts.
     */
    private static void recheckFailed(ReplicatedDisk disk, String when) {
        String was = disk.stateReason();
        String problem = TargetCheck.problem(disk.target());
        if (problem != null) {
            disk.markFailedAgain("target checked " + when + " and still failing: " + problem + " (failed first: "
                    + was + ")");
            return;
        }
        long backlog = disk.lastDurableSeq() - disk.appliedSeq();
        disk.clearFailure("target checked " + when + " and working again; applying the " + backlog
                + " acknowledged records the ingest log kept (had failed: " + was + ")");
    }

    /**
     * Releases a disk (control API): refuses new opens, fences the stream that owns it, makes everything accepted
     * durable, waits until the applier wrote it all to the target, then closes applier, ingest log and target so
     * the device can be detached. The disk stays declared; {@link #reattach} opens it again. The wait happens
     * outside the registry's lock, so other disks can be released, attached or rescanned meanwhile; a failed disk
     * is closed without waiting (its ingest log keeps every acknowledged write). When the wait fails, the disk takes
     * streams again.
     *
     * @return false if the disk was already released
     * @throws IllegalArgumentException if no such disk is declared
     * @throws IllegalStateException if it is already being released
     */
    public boolean release(String id, Duration timeout) throws IOException, InterruptedException, TimeoutException {
        ReplicatedDisk disk;
        synchronized (mutation) {
            requireDeclared(id);
            disk = byId.get(id);
            if (disk == null) {
                return false;
            }
            if (disk.releasing()) {
                throw new IllegalStateException("disk " + id + " is already being released");
            }
            disk.beginRelease();
        }
        try {
            if (disk.state() != DiskState.FAILED) {
                disk.quiesce(timeout);
            }
        } catch (IOException | InterruptedException | TimeoutException | RuntimeException e) {
            disk.cancelRelease();
            throw e;
        }
        synchronized (mutation) {
            byId.remove(id, disk);
            disk.close();
            AtomicFile.write(releasedMarker(declared.get(id)),
                    ("released at applied seq " + disk.appliedSeq() + "\n").getBytes(StandardCharsets.UTF_8));
        }
        LOG.info(() -> "disk " + id + " released: applied up to seq " + disk.appliedSeq() + ", target closed");
        return true;
    }

    /**
     * Opens a released disk again. With {@code writtenOutside} (the machine ran on the target while it was
     * released, as in failover and failback), the journal holds no before-image of those writes: every earlier
     * point is discarded ({@link DiscardedHistory}) and the disk is needs-resync, so the source brings it in line
     * before it is protected again.
     *
     * @return false if it was not released
     * @throws IllegalArgumentException if no such disk is declared
     */
    public boolean reattach(String id, boolean writtenOutside) throws IOException {
        synchronized (mutation) {
            DiskConfig d = requireDeclared(id);
            if (byId.containsKey(id)) {
                return false;
            }
            ReplicatedDisk disk = openDisk(d);
            byId.put(id, disk);
            if (writtenOutside) {
                long latest = disk.lastDurableSeq();
                if (disk.journal() != null) {
                    disk.journal().discard(new DiscardedHistory.Range(0, latest, 0,
                            DiscardedHistory.Cause.WRITTEN_OUTSIDE));
                }
                disk.requestResync("attached after the target was written outside the agent (released at seq "
                        + latest + "): its earlier points are gone; resync it from the source");
            }
            // Last: a restart before this keeps the disk released (attach again), never opens it half-attached.
            Files.deleteIfExists(releasedMarker(d));
            AtomicFile.fsyncDirectory(releasedMarker(d).getParent());
            LOG.info(() -> "disk " + id + " attached again" + (writtenOutside ? " (written outside the agent)" : ""));
            return true;
        }
    }

    /**
     * Clears a disk's failure after a repair (control API): closes the failed disk (its ingest log keeps every
     * acknowledged write), opens it again, checks the target, and when it works the applier applies the backlog.
     *
     * @return the disk as opened again (still failed, with the check's reason, if the target still fails)
     * @throws IllegalArgumentException if no such disk is open
     * @throws IllegalStateException if the disk is not failed
     */
    public ReplicatedDisk reopenFailed(String id) throws IOException {
        synchronized (mutation) {
            DiskConfig d = requireDeclared(id);
            ReplicatedDisk disk = byId.get(id);
            if (disk == null) {
                throw new IllegalArgumentException("disk " + id + " is released; attach it (a failed target is checked"
                        + " when it is opened)");
            }
            if (disk.state() != DiskState.FAILED) {
                throw new IllegalStateException("disk " + id + " is " + disk.state().label() + ", not failed: nothing"
                        + " to clear");
            }
            disk.beginRelease();
            byId.remove(id, disk);
            disk.close();
            ReplicatedDisk fresh = openDisk(d); // checks the target (recheckFailed) before its applier starts
            byId.put(id, fresh);
            return fresh;
        }
    }

    /**
     * Adds the disks of {@code configured} that are not declared yet (by id); declared ones are left alone.
     *
     * @return the ids added
     */
    public List<String> rescan(Collection<DiskConfig> configured) throws IOException {
        synchronized (mutation) {
            List<String> added = new ArrayList<>();
            for (DiskConfig d : configured) {
                if (!declared.containsKey(d.id())) {
                    add(d);
                    added.add(d.id());
                }
            }
            return added;
        }
    }

    private DiskConfig requireDeclared(String id) {
        DiskConfig d = declared.get(id);
        if (d == null) {
            throw new IllegalArgumentException("no disk '" + id + "' is declared (declared: " + ids() + ")");
        }
        return d;
    }

    /** The open disk with this stable id, or null (unknown or released). */
    public ReplicatedDisk byId(String id) {
        return byId.get(id);
    }

    /**
     * The stable id a process server's OPEN_DISK means: {@code idOrName} itself when a disk has that id, else the id
     * of the disk whose configured name ({@code disk.<name>.*}) it is, else {@code idOrName} unchanged (unknown).
     * Ids win over names, so a name that is also another disk's id means that other disk.
     */
    public String resolveId(String idOrName) {
        if (declared.containsKey(idOrName)) {
            return idOrName;
        }
        for (DiskConfig d : declared.values()) {
            if (d.name().equals(idOrName)) {
                return d.id();
            }
        }
        return idOrName;
    }

    /** True if the disk is declared but released. */
    public boolean isReleased(String id) {
        return declared.containsKey(id) && !byId.containsKey(id);
    }

    /** The open disks (released ones are not included), sorted by id. */
    public Collection<ReplicatedDisk> all() {
        List<ReplicatedDisk> list = new ArrayList<>(byId.values());
        list.sort(Comparator.comparing(ReplicatedDisk::id));
        return list;
    }

    /** Every declared disk, released ones included, sorted by id. */
    public List<DiskConfig> declared() {
        List<DiskConfig> list = new ArrayList<>(declared.values());
        list.sort(Comparator.comparing(DiskConfig::id));
        return list;
    }

    /** The metrics of a declared disk (they survive release and re-attach), or null. */
    public DiskStats stats(String id) {
        return stats.get(id);
    }

    public String ids() {
        List<String> ids = new ArrayList<>(declared.keySet());
        ids.sort(null);
        return String.join(", ", ids);
    }

    /** Unapplied bytes in all ingest logs together (the global cache cap compares against this). */
    public long totalBacklog() {
        long sum = 0;
        for (ReplicatedDisk d : byId.values()) {
            sum += d.backlogBytes();
        }
        return sum;
    }

    /** Makes everything accepted durable on every disk (clean shutdown step). */
    public void flushAll() throws IOException, InterruptedException {
        for (ReplicatedDisk d : byId.values()) {
            d.flush();
        }
    }

    @Override
    public void close() throws IOException {
        synchronized (mutation) {
            IOException first = null;
            for (ReplicatedDisk d : byId.values()) {
                try {
                    d.close();
                } catch (IOException e) {
                    if (first == null) {
                        first = e;
                    } else {
                        first.addSuppressed(e);
                    }
                }
            }
            byId.clear();
            if (first != null) {
                throw first;
            }
        }
    }
}
