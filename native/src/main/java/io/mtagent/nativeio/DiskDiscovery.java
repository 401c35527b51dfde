package io.mtagent.nativeio;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Lists the whole disks attached to a Linux machine from sysfs, {@code /proc/self/mountinfo} and
 * {@code /dev/disk/by-id}, all three roots injectable so tests run on a recorded tree.
 *
 * <p>What it reads, per {@code <sysfs>/block/<name>} (loop, ram, zram, sr, dm-, md and nbd devices are skipped:
 * they are not attachable target disks):
 * <ul>
 *   <li>{@code dev} (major:minor), {@code size} (512-byte units), {@code queue/logical_block_size},
 *       {@code queue/physical_block_size}, {@code queue/rotational}, {@code device/vendor}, {@code device/model},
 *       {@code device/wwid};</li>
 *   <li>partitions: subdirectories holding a {@code partition} file, each with its {@code dev} and its
 *       {@code holders/} (device-mapper/LVM on top, whose {@code dev} is read from {@code <sysfs>/block/<holder>});</li>
 *   <li>controller: the H of the SCSI address listed in {@code device/scsi_device/H:C:T:L}, then
 *       {@code <sysfs>/class/scsi_host/hostH/proc_name} (e.g. {@code vmw_pvscsi}); for non-SCSI disks the name of
 *       {@code device/driver}'s target.</li>
 * </ul>
 * A disk is mounted when a mountinfo line's major:minor is the disk's, a partition's or a holder's.
 *
 * <p>Thread-safe (immutable); every call reads the files afresh.
 */
public final class DiskDiscovery {
    /** The classic master target's limit of attached target disks. */
    public static final int CLASSIC_DISK_LIMIT = 60;
    private static final Set<String> SYSTEM_MOUNTS = Set.of("/", "/boot", "/boot/efi", "/usr", "/var");

    private final Path sysfs;
    private final Path mountinfo;
    private final Path byId;

    public DiskDiscovery(Path sysfs, Path mountinfo, Path byId) {
        this.sysfs = sysfs;
        this.mountinfo = mountinfo;
        this.byId = byId;
    }

    /** The running machine's roots. */
    public static DiskDiscovery system() {
        return new DiskDiscovery(Path.of("/sys"), Path.of("/proc/self/mountinfo"), Path.of("/dev/disk/by-id"));
    }

    /** One mountinfo line's interesting fields. */
    public record Mount(String majorMinor, String mountPoint, String fsType, String source) {
    }

    /**
     * Discovers the disks.
     *
     * @param agentPaths the agent's own paths by label ("cache" → /var/lib/mtagent/cache), to flag the disks they
     *                   live on; may be empty
     */
    public List<DiskInfo> discover(Map<String, Path> agentPaths) throws IOException {
        List<Mount> mounts = mounts();
        Map<String, List<String>> links = byIdLinks();
        Map<String, String> holdsByDev = new HashMap<>();
        for (Map.Entry<String, Path> e : agentPaths.entrySet()) {
            Mount m = mountOf(mounts, e.getValue());
            if (m != null) {
                holdsByDev.merge(m.majorMinor(), e.getKey() + " (" + e.getValue() + ")", (a, b) -> a + ", " + b);
            }
        }
        List<DiskInfo> disks = new ArrayList<>();
        Path block = sysfs.resolve("block");
        if (!Files.isDirectory(block)) {
            throw new IOException(block + " does not exist: is sysfs mounted? (disk discovery needs Linux)");
        }
        List<Path> entries = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(block)) {
            ds.forEach(entries::add);
        }
        entries.sort(Comparator.comparing(p -> p.getFileName().toString()));
        for (Path dev : entries) {
            String name = dev.getFileName().toString();
            if (name.matches("(loop|ram|zram|sr|dm-|md|nbd|fd).*")) {
                continue;
            }
            disks.add(describe(name, dev, mounts, links.getOrDefault(name, List.of()), holdsByDev));
        }
        return disks;
    }

    /**
     * Refuses a block device that is, or is a partition of, a disk in use (system, mounted, or holding one of
     * {@code agentPaths}): writing replica data there would destroy this machine's own data. Devices that
     * discovery does not list (loop, device-mapper, unknown) and regular files pass.
     *
     * @throws IOException naming the disk, why it is in use and what to configure instead
     */
    public void refuseIfInUse(Path device, Map<String, Path> agentPaths) throws IOException {
        if (!Files.exists(device) || Files.isRegularFile(device)) {
            return;
        }
        String name = device.toRealPath().getFileName().toString();
        Path sysEntry = sysfs.resolve("class/block").resolve(name);
        String disk = name;
        if (Files.exists(sysEntry.resolve("partition"))) {
            disk = sysEntry.toRealPath().getParent().getFileName().toString();
        }
        for (DiskInfo d : discover(agentPaths)) {
            if (d.name().equals(disk) && d.inUse()) {
                throw new IOException(device + " is /dev/" + name + (disk.equals(name) ? "" : " on disk /dev/" + disk)
                        + ", which is in use: " + String.join("; ", d.warnings())
                        + ". Choose an unused disk ('mtagent disks' lists them)");
            }
        }
    }

    private DiskInfo describe(String name, Path dev, List<Mount> mounts, List<String> ids,
                              Map<String, String> holdsByDev) throws IOException {
        Set<String> devs = new HashSet<>();
        devs.add(read(dev.resolve("dev")));
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dev)) {
            for (Path p : ds) {
                if (Files.isDirectory(p) && Files.exists(p.resolve("partition"))) {
                    devs.add(read(p.resolve("dev")));
                    addHolders(p, devs);
                }
            }
        }
        addHolders(dev, devs);
        devs.remove(null);
        List<String> mountPoints = new ArrayList<>();
        boolean system = false;
        for (Mount m : mounts) {
            if (devs.contains(m.majorMinor())) {
                mountPoints.add(m.mountPoint());
                system |= SYSTEM_MOUNTS.contains(m.mountPoint());
            }
        }
        List<String> holds = new ArrayList<>();
        for (String d : devs) {
            String h = holdsByDev.get(d);
            if (h != null) {
                holds.add(h);
            }
        }
        String wwid = blankToNull(read(dev.resolve("device/wwid")));
        String vendor = String.join(" ", nonNull(read(dev.resolve("device/vendor"))), nonNull(read(dev.resolve("device/model")))).trim();
        String driver = controllerDriver(dev);
        long size = parseLong(read(dev.resolve("size"))) * 512;
        int logical = (int) parseLong(read(dev.resolve("queue/logical_block_size")));
        int physical = (int) parseLong(read(dev.resolve("queue/physical_block_size")));
        boolean rotational = "1".equals(read(dev.resolve("queue/rotational")));
        List<String> warnings = new ArrayList<>();
        DiskPlatform platform = DiskPlatform.of(sysfs, vendor, driver);
        if (ids.isEmpty() && wwid == null) {
            warnings.add(platform.noStableIdAdvice(name)); // the fix differs by hypervisor
        }
        if ("vmw_pvscsi".equals(driver)) {
            warnings.add("on a VMware paravirtual SCSI controller (vmw_pvscsi): the classic master target does not "
                    + "support PVSCSI; attach replica disks to an LSI Logic SAS controller for compatibility");
        }
        if (system) {
            warnings.add("system disk (holds " + String.join(", ", mountPoints) + "): never a target");
        } else if (!mountPoints.isEmpty()) {
            warnings.add("mounted at " + String.join(", ", mountPoints) + ": unmount it before using it as a target");
        }
        if (!holds.isEmpty()) {
            warnings.add("holds the agent's " + String.join("; ", holds) + ": never a target");
        }
        return new DiskInfo(name, "/dev/" + name, ids, wwid, size, logical, physical, rotational, vendor,
                List.copyOf(mountPoints), system, List.copyOf(holds), driver, List.copyOf(warnings), platform);
    }

    private void addHolders(Path dev, Set<String> devs) throws IOException {
        Path holders = dev.resolve("holders");
        if (!Files.isDirectory(holders)) {
            return;
        }
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(holders)) {
            for (Path h : ds) {
                devs.add(read(sysfs.resolve("block").resolve(h.getFileName().toString()).resolve("dev")));
            }
        }
    }

    private String controllerDriver(Path dev) throws IOException {
        Path scsi = dev.resolve("device/scsi_device");
        if (Files.isDirectory(scsi)) {
            try (DirectoryStream<Path> ds = Files.newDirectoryStream(scsi)) {
                for (Path hctl : ds) {
                    String host = hctl.getFileName().toString().split(":")[0];
                    String proc = read(sysfs.resolve("class/scsi_host/host" + host + "/proc_name"));
                    if (proc != null && !proc.isEmpty()) {
                        return proc;
                    }
                }
            }
        }
        Path driver = dev.resolve("device/driver");
        if (Files.exists(driver)) {
            return driver.toRealPath().getFileName().toString();
        }
        Path parentDriver = dev.resolve("device/device/driver"); // NVMe namespace → controller
        if (Files.exists(parentDriver)) {
            return parentDriver.toRealPath().getFileName().toString();
        }
        return "unknown";
    }

    /** by-id entries grouped by the kernel name they point at, preferred first; partition links left out. */
    private Map<String, List<String>> byIdLinks() throws IOException {
        Map<String, List<String>> out = new TreeMap<>();
        if (!Files.isDirectory(byId)) {
            return out; // no by-id directory at all: no disk has a stable id (udev not running?)
        }
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(byId)) {
            for (Path link : ds) {
                String id = link.getFileName().toString();
                if (!Files.isSymbolicLink(link) || id.contains("-part")) {
                    continue;
                }
                String target = Files.readSymbolicLink(link).getFileName().toString();
                out.computeIfAbsent(target, k -> new ArrayList<>()).add(id);
            }
        }
        out.values().forEach(l -> l.sort(Comparator.comparingInt(DiskDiscovery::rank).thenComparing(s -> s)));
        return out;
    }

    private static int rank(String id) {
        if (id.startsWith("wwn-")) {
            return 0;
        }
        if (id.startsWith("scsi-3")) {
            return 1;
        }
        if (id.startsWith("nvme-eui.") || id.startsWith("nvme-uuid.")) {
            return 2;
        }
        return 3;
    }

    /** Parses mountinfo ({@code proc(5)}): field 3 is major:minor, 5 the mount point; after " - " the type and source. */
    public List<Mount> mounts() throws IOException {
        List<Mount> out = new ArrayList<>();
        if (!Files.exists(mountinfo)) {
            return out;
        }
        for (String line : Files.readAllLines(mountinfo, StandardCharsets.UTF_8)) {
            String[] f = line.split(" ");
            int dash = List.of(f).indexOf("-");
            if (f.length < 5 || dash < 0 || dash + 2 >= f.length) {
                continue;
            }
            out.add(new Mount(f[2], unescape(f[4]), f[dash + 1], f[dash + 2]));
        }
        return out;
    }

    /** The mount holding {@code path} (longest mount-point prefix; the path need not exist here), or null. */
    public static Mount mountOf(List<Mount> mounts, Path path) {
        String p = path.toAbsolutePath().normalize().toString();
        Mount best = null;
        for (Mount m : mounts) {
            String mp = m.mountPoint();
            boolean under = p.equals(mp) || mp.equals("/") || p.startsWith(mp + "/");
            if (under && (best == null || mp.length() >= best.mountPoint().length())) {
                best = m;
            }
        }
        return best;
    }

    /** mountinfo escapes space, tab, newline and backslash as octal ({@code \040}). */
    static String unescape(String s) {
        if (s.indexOf('\\') < 0) {
            return s;
        }
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\\' && i + 3 < s.length() && s.substring(i + 1, i + 4).matches("[0-7]{3}")) {
                b.append((char) Integer.parseInt(s.substring(i + 1, i + 4), 8));
                i += 3;
            } else {
                b.append(c);
            }
        }
        return b.toString();
    }

    private static String read(Path p) throws IOException {
        if (!Files.isRegularFile(p)) {
            return null;
        }
        return Files.readString(p, StandardCharsets.UTF_8).trim();
    }

    private static long parseLong(String s) {
        try {
            return s == null ? 0 : Long.parseLong(s);
        } catch (NumberFormatException e) {
            return 0;
        }
    }

    private static String blankToNull(String s) {
        return s == null || s.isBlank() ? null : s;
    }

    private static String nonNull(String s) {
        return s == null ? "" : s;
    }
}
