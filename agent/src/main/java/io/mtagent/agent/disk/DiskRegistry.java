package io.mtagent.agent.disk;

import io.mtagent.agent.config.DiskConfig;
import io.mtagent.agent.storage.Applier;
import io.mtagent.agent.storage.ApplierOptions;
import io.mtagent.agent.storage.ApplyStage;
import io.mtagent.agent.storage.DiskStateStore;
import io.mtagent.agent.storage.IngestLog;
import io.mtagent.agent.storage.IngestLogOptions;
import io.mtagent.nativeio.BlockDevice;
import io.mtagent.nativeio.BlockDeviceException;
import io.mtagent.nativeio.DiskDiscovery;
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
    /** Disk discovery needs sysfs (Linux); elsewhere device targets are not checked against the mount table. */
    private static final boolean DISCOVERY_USABLE = Files.isDirectory(Path.of("/sys/block"));
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
        return open(disks, cacheDir, stateDir, logOptions, applierOptions, quotaBytes, progress, TargetOpener.NATIVE);
    }

    /**
     * As above, with the targets opened by {@code opener} (tests inject failing devices).
     *
     * <p>Failure policy (one per target disk): a target I/O error stops that disk's applier and moves the disk to
     * {@code failed} at once (persisted, its owner told); the ingest log keeps every acked write that was not
     * applied, and the other disks carry on.
     */
    public static DiskRegistry open(Collection<DiskConfig> disks, Path cacheDir, Path stateDir, IngestLogOptions logOptions,
                                    ApplierOptions applierOptions, long quotaBytes, Consumer<String> progress,
                                    TargetOpener opener) throws IOException {
        Map<String, ReplicatedDisk> map = new LinkedHashMap<>();
        try {
            Files.createDirectories(stateDir.resolve("disks"));
            for (DiskConfig d : disks) {
                progress.accept("recovering ingest log of disk " + d.id());
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
                DiskStateStore state = DiskStateStore.load(stateDir.resolve("disks").resolve(d.name() + ".state"));
                Applier applier = new Applier(d.name(), log, target, ApplyStage.NONE, applierOptions);
                ReplicatedDisk disk = new ReplicatedDisk(d.name(), d.id(), target, log, applier, state, quotaBytes);
                map.put(d.id(), disk);
                applier.onFailure(t -> disk.markFailed(failureReason(target, t)));
                applier.start();
                LOG.info(() -> "disk " + d.id() + " (" + d.path() + ", " + target.size() + " bytes, "
                        + (target.directIo() ? "direct I/O" : "buffered I/O") + "): "
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

    /** "target I/O error (MEDIA_ERROR) on /dev/...: ..." — the typed kind first, so status readers need not parse. */
    static String failureReason(BlockDevice target, Throwable t) {
        if (t instanceof BlockDeviceException e) {
            return "target I/O error (" + e.failure() + ") on " + target.path() + ": " + e.getMessage();
        }
        return "applier failed on " + target.path() + ": " + t;
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
