package io.mtagent.nativeio;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * Where a disk comes from, for advice that fits it: a VMware virtual disk, a KVM/QEMU disk (virtio or emulated
 * SCSI), a Hyper-V disk, a Xen disk, or a physical one. Decided by the disk itself first (its driver, its
 * vendor string), then by the machine's DMI vendor ({@code <sysfs>/class/dmi/id/sys_vendor}, {@code product_name}).
 */
public enum DiskPlatform {
    VMWARE, KVM, HYPER_V, XEN, PHYSICAL;

    /**
     * @param sysfs       the sysfs root
     * @param vendorModel the disk's vendor and model ({@code device/vendor}, {@code device/model})
     * @param driver      its controller or device driver
     */
    static DiskPlatform of(Path sysfs, String vendorModel, String driver) {
        String vm = vendorModel.toLowerCase(Locale.ROOT);
        String drv = driver == null ? "" : driver.toLowerCase(Locale.ROOT);
        if (drv.startsWith("virtio") || vm.startsWith("qemu")) {
            return KVM;
        }
        if (drv.equals("vmw_pvscsi") || vm.startsWith("vmware")) {
            return VMWARE;
        }
        if (drv.equals("hv_storvsc") || vm.startsWith("msft")) {
            return HYPER_V;
        }
        if (drv.startsWith("xen") || drv.equals("vbd")) {
            return XEN;
        }
        String dmi = (read(sysfs.resolve("class/dmi/id/sys_vendor")) + " " + read(sysfs.resolve(
                "class/dmi/id/product_name"))).toLowerCase(Locale.ROOT);
        if (dmi.contains("vmware")) {
            return VMWARE;
        }
        if (dmi.contains("qemu") || dmi.contains("kvm") || dmi.contains("red hat") || dmi.contains("ovirt")
                || dmi.contains("proxmox") || dmi.contains("nutanix")) {
            return KVM;
        }
        if (dmi.contains("microsoft")) {
            return HYPER_V;
        }
        if (dmi.contains("xen")) {
            return XEN;
        }
        return PHYSICAL;
    }

    /** The fix for a disk that shows no stable id (no WWN, serial or SCSI UUID) on this platform. */
    String noStableIdAdvice(String name) {
        String never = "; never configure a target by /dev/" + name;
        return switch (this) {
            case VMWARE -> "no stable id (no WWN/SCSI UUID): set disk.EnableUUID=true on the VM (VM Options > Advanced >"
                    + " Configuration Parameters) and power-cycle it" + never;
            case KVM -> "no stable id (a virtio or emulated disk without a serial or WWN): give the disk one in the VM's"
                    + " definition (libvirt: <serial>ID</serial> in its <disk> element, or <wwn> for a SCSI disk; QEMU:"
                    + " -device virtio-blk-pci,serial=ID), then it appears under /dev/disk/by-id/" + never;
            case HYPER_V -> "no stable id: Hyper-V gives this disk no persistent WWN; attach it to a SCSI controller"
                    + " and configure it by a /dev/disk/by-id/ link that names the disk's serial, or by"
                    + " /dev/disk/by-path/ of its fixed controller location" + never;
            case XEN -> "no stable id: Xen virtual block devices have no WWN; configure the target by its"
                    + " /dev/disk/by-path/ entry (fixed by the domain's configuration)" + never;
            case PHYSICAL -> "no stable id (the disk reports no WWN or serial): for a RAID volume use the id the"
                    + " controller gives it (its by-id link), else /dev/disk/by-path/" + never;
        };
    }

    private static String read(Path p) {
        try {
            return Files.exists(p) ? Files.readString(p, StandardCharsets.UTF_8).trim() : "";
        } catch (IOException e) {
            return "";
        }
    }
}
