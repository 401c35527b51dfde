package io.mtagent.nativeio;

import java.util.List;

/**
 * One attached whole disk as {@link DiskDiscovery} found it.
 *
 * @param name             kernel name ({@code sdb}); moves between boots, never configure by it
 * @param devNode          {@code /dev/sdb}
 * @param stableIds        {@code /dev/disk/by-id} names pointing at it, preferred first (wwn-, then scsi-3, then
 *                         the rest); empty when the hypervisor exposes no UUID
 * @param wwid             sysfs {@code device/wwid} (SCSI page 0x83 / NVMe), or null
 * @param sizeBytes        size ({@code size} in 512-byte units)
 * @param logicalSector    {@code queue/logical_block_size}
 * @param physicalSector   {@code queue/physical_block_size}
 * @param rotational       {@code queue/rotational}
 * @param vendorModel      vendor and model, trimmed
 * @param mountPoints      mount points of the disk, its partitions and the device-mapper devices on them
 * @param system           holds {@code /}, {@code /boot} or {@code /boot/efi}
 * @param holds            labels of the agent's own paths (cache, state, retention) that live on it
 * @param controllerDriver driver of its SCSI host ({@code vmw_pvscsi}, {@code mptsas}, ...), or the device driver
 * @param warnings         operator-facing warnings, each with its fix
 * @param platform         where the disk comes from (the advice in {@code warnings} fits it)
 */
public record DiskInfo(String name, String devNode, List<String> stableIds, String wwid, long sizeBytes,
                       int logicalSector, int physicalSector, boolean rotational, String vendorModel,
                       List<String> mountPoints, boolean system, List<String> holds, String controllerDriver,
                       List<String> warnings, DiskPlatform platform) {

    /** The id to configure this disk by ({@code /dev/disk/by-id/<id>}), or null when it has none. */
    public String stableId() {
        if (!stableIds.isEmpty()) {
            return stableIds.get(0);
        }
        return wwid;
    }

    /** True when the agent must not use it as a target: mounted, system, or holding the agent's own data. */
    public boolean inUse() {
        return system || !mountPoints.isEmpty() || !holds.isEmpty();
    }

    /** True on a VMware paravirtual SCSI controller, which the classic master target does not support. */
    public boolean paravirtualScsi() {
        return "vmw_pvscsi".equals(controllerDriver);
    }
}
