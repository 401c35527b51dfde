package io.mtagent.agent.cli;

import io.mtagent.agent.config.AgentConfig;
import io.mtagent.agent.config.DiskConfig;
import io.mtagent.nativeio.DiskDiscovery;
import io.mtagent.nativeio.DiskInfo;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code mtagent disks}: the disks attached to this machine, discovered locally (sysfs, mountinfo, by-id), so it
 * works with the agent stopped. Which are usable as targets, their stable ids to configure them by, and why the
 * others are not (system disk, mounted, holding the agent's cache/state), with the fix for a missing stable id that
 * fits the disk's platform (VMware, KVM/virtio, Hyper-V, Xen, physical) and the VMware paravirtual SCSI note.
 */
@Command(name = "disks", mixinStandardHelpOptions = true,
        description = {"List the disks attached to this machine (Linux; read locally, the agent need not run).",
            "Configure a target by the stable id shown:",
            "    disk.<name>.path=/dev/disk/by-id/<id>",
            "never by /dev/sdX, which can change at the next boot.",
            "Disks without an id: on VMware set disk.EnableUUID=true on the VM (then power-cycle it); on KVM give",
            "the disk a serial (libvirt <serial>) or a WWN; each warning says the fix for the disk's platform.",
            "A disk marked IN USE (system, mounted, or holding the agent's cache/state) is never a target.",
            "Exit code: 0, or 1 when more disks are attached than the classic 60-disk limit."})
final class DisksCommand implements Callable<Integer> {
    @Mixin
    ConfigOptions configOptions;

    @Option(names = "--sysfs", paramLabel = "DIR", defaultValue = "/sys",
            description = "sysfs root (default: ${DEFAULT-VALUE}; for chroots and recorded trees).")
    Path sysfs;

    @Option(names = "--mountinfo", paramLabel = "FILE", defaultValue = "/proc/self/mountinfo",
            description = "mount table (default: ${DEFAULT-VALUE}).")
    Path mountinfo;

    @Option(names = "--by-id", paramLabel = "DIR", defaultValue = "/dev/disk/by-id",
            description = "stable-id links (default: ${DEFAULT-VALUE}).")
    Path byId;

    @Option(names = "--json", description = "Print the disks as JSON (with the format version) instead of the list.")
    boolean json;

    @Override
    public Integer call() throws Exception {
        PrintStream out = System.out;
        Map<String, Path> agentPaths = new LinkedHashMap<>();
        List<DiskConfig> configured = List.of();
        try {
            AgentConfig config = configOptions.load();
            agentPaths.put("cache", config.cacheDir().toAbsolutePath());
            agentPaths.put("state", config.stateDir().toAbsolutePath());
            configured = config.disks();
        } catch (RuntimeException e) {
            out.println("note: configuration not read (" + e.getMessage() + "); cache/state disks not marked");
        }
        List<DiskInfo> disks = new DiskDiscovery(sysfs, mountinfo, byId).discover(agentPaths);
        if (json) {
            return printJson(disks, configured);
        }
        int inUse = 0;
        for (DiskInfo d : disks) {
            inUse += d.inUse() ? 1 : 0;
            out.printf("%-8s %9s  sectors %d/%d  %s  controller %s  %s%s%n", d.name(), human(d.sizeBytes()),
                    d.logicalSector(), d.physicalSector(), d.rotational() ? "rotational" : "non-rotational",
                    d.controllerDriver(), platform(d), d.inUse() ? "  IN USE" : "");
            out.printf("         id: %s%n", d.stableId() == null ? "(none)" : d.stableId()
                    + (d.stableIds().isEmpty() ? " (sysfs wwid)" : "  -> /dev/disk/by-id/" + d.stableId()));
            if (!d.vendorModel().isEmpty()) {
                out.printf("         model: %s%n", d.vendorModel());
            }
            if (!d.mountPoints().isEmpty()) {
                out.printf("         mounted: %s%s%n", String.join(", ", d.mountPoints()), d.system() ? " (system/boot)" : "");
            }
            String as = configuredAs(configured, d);
            if (as != null) {
                out.printf("         configured as target %s%n", as);
            }
            for (String w : d.warnings()) {
                out.printf("         WARNING: %s%n", w);
            }
        }
        out.printf("%d disk(s) attached, %d in use, %d usable as targets (classic master target limit: %d disks)%n",
                disks.size(), inUse, disks.size() - inUse, DiskDiscovery.CLASSIC_DISK_LIMIT);
        if (disks.size() > DiskDiscovery.CLASSIC_DISK_LIMIT) {
            out.println("WARNING: more than " + DiskDiscovery.CLASSIC_DISK_LIMIT + " disks: a classic master target "
                    + "cannot take over this machine's role; mtagent can, but plan failover accordingly");
            return 1;
        }
        return 0;
    }

    private int printJson(List<DiskInfo> disks, List<DiskConfig> configured) {
        List<Map<String, Object>> list = new ArrayList<>();
        int inUse = 0;
        for (DiskInfo d : disks) {
            inUse += d.inUse() ? 1 : 0;
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("name", d.name());
            m.put("devNode", d.devNode());
            m.put("stableId", d.stableId());
            m.put("stableIds", d.stableIds());
            m.put("sizeBytes", d.sizeBytes());
            m.put("logicalSector", d.logicalSector());
            m.put("physicalSector", d.physicalSector());
            m.put("rotational", d.rotational());
            m.put("vendorModel", d.vendorModel());
            m.put("controller", d.controllerDriver());
            m.put("platform", platform(d));
            m.put("mountPoints", d.mountPoints());
            m.put("system", d.system());
            m.put("inUse", d.inUse());
            m.put("configuredAs", configuredAs(configured, d));
            m.put("warnings", d.warnings());
            list.add(m);
        }
        Map<String, Object> doc = new LinkedHashMap<>();
        doc.put("disks", list);
        doc.put("attached", disks.size());
        doc.put("inUse", inUse);
        doc.put("classicLimit", DiskDiscovery.CLASSIC_DISK_LIMIT);
        CliJson.print(System.out, doc);
        return disks.size() > DiskDiscovery.CLASSIC_DISK_LIMIT ? 1 : 0;
    }

    /** vmware, kvm, hyper-v, xen or physical. */
    private static String platform(DiskInfo d) {
        return d.platform().name().toLowerCase(Locale.ROOT).replace('_', '-');
    }

    /** The configured disk whose path resolves to this device, if any (only on the live system). */
    private static String configuredAs(List<DiskConfig> configured, DiskInfo d) {
        for (DiskConfig c : configured) {
            try {
                if (Files.exists(c.path()) && c.path().toRealPath().toString().equals(d.devNode())) {
                    return c.id();
                }
            } catch (IOException e) {
                // unreadable path: not this disk
            }
        }
        return null;
    }

    static String human(long bytes) {
        if (bytes >= 1L << 30) {
            return String.format(Locale.ROOT, "%.1f GiB", bytes / (double) (1L << 30));
        }
        return String.format(Locale.ROOT, "%.1f MiB", bytes / (double) (1L << 20));
    }
}
