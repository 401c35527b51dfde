package io.mtagent.agent.retention;

import io.mtagent.agent.config.HumanSize;
import java.io.IOException;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * The rules a retention volume must pass (docs/ARCHITECTURE.md, "Retention journal and recovery"): not FAT/FAT32, non-zero
 * capacity, not the volume of the agent's install or cache, not on a replication target disk, writable. One
 * shared file system for everything is allowed only by an explicit setting (demo, tests), with a warning.
 * Stateless; thread-safe.
 */
public final class RetentionVolumeCheck {
    private static final Set<String> FAT = Set.of("vfat", "msdos", "fat", "fat32", "exfat",
            "fuse.fusefat", "fuse.exfat", "fuseblk.exfat"); // the kernel's FAT drivers, and FAT mounted through FUSE

    /** Segments each disk's journal needs at the least (see {@link #minimumBytes}). */
    public static final int MIN_SEGMENTS_PER_DISK = 4;

    /** One failed rule: a stable code and the message an operator reads. */
    public record Failure(String rule, String message) {
    }

    private RetentionVolumeCheck() {
    }

    /**
     * @param dir the retention directory (created if missing)
     * @param install the agent's install location (the running jar), or null
     * @param cacheDir the cache volume directory
     * @param targets the replication target paths
     * @param allowShared accept the install/cache volume (the "one shared file system" setting)
     */
    public static List<Failure> check(Path dir, Path install, Path cacheDir, Collection<Path> targets, boolean allowShared) {
        return check(dir, install, cacheDir, targets, allowShared, 0);
    }

    /**
     * The smallest volume that can keep a journal for {@code disks} disks: {@value #MIN_SEGMENTS_PER_DISK} segments
     * each (pruning drops whole segments, so a volume of fewer can hold no window at all).
     */
    public static long minimumBytes(long segmentBytes, int disks) {
        return MIN_SEGMENTS_PER_DISK * segmentBytes * Math.max(1, disks);
    }

    /** As {@link #check(Path, Path, Path, Collection, boolean)}, refusing a volume smaller than {@code minBytes}. */
    public static List<Failure> check(Path dir, Path install, Path cacheDir, Collection<Path> targets,
                                      boolean allowShared, long minBytes) {
        List<Failure> failures = new ArrayList<>();
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            failures.add(new Failure("missing", dir + " does not exist and cannot be created (" + e + "): mount the"
                    + " retention volume there and give it to the agent's user (chown mtagent:mtagent " + dir + "),"
                    + " or set retention.dir to where it is mounted; retention.dir= (empty) runs without"
                    + " point-in-time recovery"));
            return failures;
        }
        FileStore store;
        try {
            store = Files.getFileStore(dir);
        } catch (IOException e) {
            failures.add(new Failure("unreadable", "cannot read the volume of " + dir + ": " + e.getMessage()));
            return failures;
        }
        String type = store.type().toLowerCase(Locale.ROOT);
        if (FAT.contains(type)) {
            failures.add(new Failure("fat-file-system", dir + " is on a " + type + " file system, which has no"
                    + " durable rename and a 4 GiB file limit; use ext4, xfs or NTFS"));
        }
        try {
            long capacity = store.getTotalSpace();
            if (capacity == 0) {
                failures.add(new Failure("zero-capacity", dir + " is on a volume with zero capacity"));
            } else if (capacity < minBytes) {
                failures.add(new Failure("too-small", dir + " is on a volume of " + HumanSize.of(capacity) + "; the"
                        + " journals need at least " + HumanSize.of(minBytes) + " (" + MIN_SEGMENTS_PER_DISK
                        + " segments of retention.segment.bytes per disk), and a useful window far more: the disks'"
                        + " write rate times retention.window"));
            }
        } catch (IOException e) {
            failures.add(new Failure("unreadable", "cannot read the capacity of " + dir + ": " + e.getMessage()));
        }
        Object dev = device(dir);
        if (!allowShared) {
            if (install != null && dev != null && dev.equals(device(install))) {
                failures.add(new Failure("install-volume", dir + " is on the volume of the agent's install (" + install
                        + "); use a dedicated retention volume (or set retention.allow.shared.volume=true for a demo)"));
            }
            if (dev != null && dev.equals(device(cacheDir))) {
                failures.add(new Failure("cache-volume", dir + " is on the cache volume (" + cacheDir + "): the ingest log"
                        + " and the journal would compete for space and I/O; use a separate volume (or set"
                        + " retention.allow.shared.volume=true for a demo)"));
            }
        }
        for (Path t : targets) {
            Object rdev = attribute(t, "unix:rdev");
            if (dev != null && rdev != null && !Long.valueOf(0).equals(rdev) && dev.equals(rdev)) {
                failures.add(new Failure("target-disk", dir + " lives on " + t + ", a replication target disk: replication"
                        + " would overwrite the journal"));
            }
        }
        try {
            Path probe = Files.createTempFile(dir, ".probe", ".tmp");
            Files.delete(probe);
        } catch (IOException e) {
            failures.add(new Failure("not-writable", dir + " is not writable (" + e + "): give it to the agent's"
                    + " user (chown mtagent:mtagent " + dir + "), and under systemd list it in ReadWritePaths="));
        }
        return failures;
    }

    private static Object device(Path p) {
        Path existing = p.toAbsolutePath();
        while (existing != null && !Files.exists(existing)) {
            existing = existing.getParent();
        }
        return existing == null ? null : attribute(existing, "unix:dev");
    }

    private static Object attribute(Path p, String name) {
        try {
            return Files.exists(p) ? Files.getAttribute(p, name) : null;
        } catch (IOException | UnsupportedOperationException | IllegalArgumentException e) {
            return null; // not a POSIX file system (Windows): the volume rules fall back to the checks above
        }
    }
}
