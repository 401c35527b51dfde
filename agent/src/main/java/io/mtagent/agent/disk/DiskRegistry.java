package io.mtagent.agent.disk;

import io.mtagent.agent.config.DiskConfig;
import io.mtagent.agent.storage.Applier;
import io.mtagent.agent.storage.ApplierOptions;
import io.mtagent.agent.storage.ApplyStage;
import io.mtagent.agent.storage.DiskStateStore;
import io.mtagent.agent.storage.IngestLog;
import io.mtagent.agent.storage.IngestLogOptions;
import io.mtagent.agent.retention.JournalingApplyStage;
import io.mtagent.agent.retention.RetentionJournal;
import io.mtagent.nativeio.BlockDevice;
import io.mtagent.nativeio.FileBlockDevice;
import java.io.Closeable;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Consumer;
import java.util.logging.Logger;

/**
 * The declared target disks, opened at start: for each one the target device, its ingest log on the cache
 * volume (recovered: torn tails repaired, corruption refused), its persisted state, and a running applier.
 * Thread-safe after construction (the map is immutable).
 */
public final class DiskRegistry implements Closeable {
    private static final Logger LOG = Logger.getLogger(DiskRegistry.class.getName());
    /** Journal segment size when none is configured. */
    static final long JOURNAL_SEGMENT_BYTES = 64L << 20;
    private final Map<String, ReplicatedDisk> byId;

    private DiskRegistry(Map<String, ReplicatedDisk> byId) {
        this.byId = Collections.unmodifiableMap(byId);
    }

    /**
     * Opens every disk; on failure closes what was opened and rethrows.
     *
     * @param progress receives one line per recovered disk (systemd STATUS=, terminal)
     */
    public static DiskRegistry open(Collection<DiskConfig> disks, Path cacheDir, Path stateDir, IngestLogOptions logOptions,
                                    ApplierOptions applierOptions, long quotaBytes, Consumer<String> progress)
            throws IOException {
        return open(disks, cacheDir, stateDir, java.util.Optional.empty(), JOURNAL_SEGMENT_BYTES, logOptions,
                applierOptions, quotaBytes, progress);
    }

    /**
     * As above, with a retention journal per disk under {@code retentionDir} (when present) between the ingest
     * log and the target.
     */
    public static DiskRegistry open(Collection<DiskConfig> disks, Path cacheDir, Path stateDir,
                                    java.util.Optional<Path> retentionDir, long journalSegmentBytes,
                                    IngestLogOptions logOptions,
                                    ApplierOptions applierOptions, long quotaBytes, Consumer<String> progress)
            throws IOException {
        Map<String, ReplicatedDisk> map = new LinkedHashMap<>();
        try {
            Files.createDirectories(stateDir.resolve("disks"));
            for (DiskConfig d : disks) {
                progress.accept("recovering ingest log of disk " + d.id());
                if (d.sizeBytes() > 0 && d.path().toAbsolutePath().getParent() != null) {
                    Files.createDirectories(d.path().toAbsolutePath().getParent()); // file target created at its size
                }
                BlockDevice target = FileBlockDevice.open(d.path(), d.sizeBytes(), d.sectorSize());
                IngestLog log;
                try {
                    log = IngestLog.open(cacheDir.resolve(d.name()), d.name(), logOptions);
                } catch (IOException | RuntimeException e) {
                    target.close();
                    throw e;
                }
                DiskStateStore state = DiskStateStore.load(stateDir.resolve("disks").resolve(d.name() + ".state"));
                RetentionJournal journal = null;
                ApplyStage stage = ApplyStage.NONE;
                if (retentionDir.isPresent()) {
                    progress.accept("recovering retention journal of disk " + d.id());
                    journal = RetentionJournal.open(retentionDir.get().resolve(d.name()), journalSegmentBytes);
                    stage = new JournalingApplyStage(journal);
                }
                Applier applier = new Applier(d.name(), log, target, stage, applierOptions);
                ReplicatedDisk disk = new ReplicatedDisk(d.name(), d.id(), target, log, applier, state, quotaBytes, journal);
                map.put(d.id(), disk);
                if (journal != null && io.mtagent.agent.retention.RollbackService.rolledBack(journal.directory())) {
                    // A rollback was in progress or not yet committed: the target is not at latest, so the applier
                    // must not write on it; the agent finishes the rollback (RollbackService.resume) after start.
                    applier.setPaused(true);
                }
                applier.start();
                LOG.info(() -> "disk " + d.id() + " (" + d.path() + ", " + target.size() + " bytes): "
                        + disk.state().label() + ", durable seq " + log.lastDurableSeq() + ", applied seq " + log.appliedSeq());
            }
        } catch (IOException | RuntimeException e) {
            for (ReplicatedDisk disk : map.values()) {
                try {
                    disk.close();
                } catch (IOException suppressed) {
                    e.addSuppressed(suppressed);
                }
            }
            throw e;
        }
        return new DiskRegistry(map);
    }

    public void attach(CacheBudget budget) {
        byId.values().forEach(d -> d.attach(budget));
    }

    /** The disk with this stable id, or null. */
    public ReplicatedDisk byId(String id) {
        return byId.get(id);
    }

    public Collection<ReplicatedDisk> all() {
        return byId.values();
    }

    public String ids() {
        return String.join(", ", byId.keySet());
    }

    /** Unapplied bytes in all ingest logs together (the global cache cap compares against this). */
    public long totalBacklog() {
        long sum = 0;
        for (ReplicatedDisk d : byId.values()) {
            sum += d.backlogBytes();
        }
        return sum;
    }

    /** Makes everything accepted durable on every disk (clean shutdown). */
    public void flushAll() throws IOException, InterruptedException {
        for (ReplicatedDisk d : byId.values()) {
            d.flush();
        }
    }

    @Override
    public void close() throws IOException {
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
        if (first != null) {
            throw first;
        }
    }
}
