package io.mtagent.nativeio;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DiskDiscoveryTest {
    @TempDir
    Path dir;

    private List<DiskInfo> discover() throws Exception {
        return RecordedTree.materialize(dir).discover(Map.of(
                "cache", Path.of("/var/lib/mtagent/cache"),
                "retention", Path.of("/mnt/retention/journal")));
    }

    private static DiskInfo disk(List<DiskInfo> disks, String name) {
        return disks.stream().filter(d -> d.name().equals(name)).findFirst().orElseThrow();
    }

    @Test
    void listsWholeDisksOnlyWithTheirGeometry() throws Exception {
        List<DiskInfo> disks = discover();
        assertThat(disks).extracting(DiskInfo::name).containsExactly("sda", "sdb", "sdc", "sdd");
        DiskInfo sdc = disk(disks, "sdc");
        assertThat(sdc.sizeBytes()).isEqualTo(20L << 30);
        assertThat(sdc.logicalSector()).isEqualTo(4096);
        assertThat(sdc.physicalSector()).isEqualTo(4096);
        assertThat(sdc.rotational()).isTrue();
        assertThat(disk(disks, "sdb").rotational()).isFalse();
        assertThat(disk(disks, "sdb").physicalSector()).isEqualTo(4096);
        assertThat(sdc.vendorModel()).isEqualTo("VMware Virtual disk");
    }

    @Test
    void stableIdsPreferTheWwnAndIgnorePartitionLinks() throws Exception {
        List<DiskInfo> disks = discover();
        DiskInfo sda = disk(disks, "sda");
        assertThat(sda.stableIds()).containsExactly("wwn-0x6000c2911111111111111111111111a1",
                "scsi-36000c2911111111111111111111111a1");
        assertThat(disk(disks, "sdc").stableId()).isEqualTo("wwn-0x6000c2933333333333333333333333c3");
        assertThat(sda.wwid()).isEqualTo("naa.6000c2911111111111111111111111a1");
    }

    @Test
    void aDiskWithoutAUuidIsFlaggedWithTheVmwareFix() throws Exception {
        DiskInfo sdd = disk(discover(), "sdd");
        assertThat(sdd.stableId()).isNull();
        assertThat(sdd.warnings()).anyMatch(w -> w.contains("disk.EnableUUID=true"));
        assertThat(sdd.inUse()).isFalse();
    }

    @Test
    void theSystemDiskIsFoundThroughItsPartitionsAndLvm() throws Exception {
        DiskInfo sda = disk(discover(), "sda");
        assertThat(sda.system()).isTrue();
        assertThat(sda.mountPoints()).containsExactlyInAnyOrder("/", "/boot");
        assertThat(sda.holds()).singleElement().asString().startsWith("cache");
        assertThat(sda.inUse()).isTrue();
        assertThat(sda.controllerDriver()).isEqualTo("mptspi");
    }

    @Test
    void aMountedDiskIsInUseAndHoldsTheRetentionVolume() throws Exception {
        DiskInfo sdb = disk(discover(), "sdb");
        assertThat(sdb.system()).isFalse();
        assertThat(sdb.mountPoints()).containsExactly("/mnt/retention", "/srv/odd name");
        assertThat(sdb.holds()).singleElement().asString().startsWith("retention");
        assertThat(sdb.warnings()).anyMatch(w -> w.startsWith("mounted at /mnt/retention"));
        assertThat(sdb.inUse()).isTrue();
    }

    @Test
    void aParavirtualScsiControllerIsFlagged() throws Exception {
        List<DiskInfo> disks = discover();
        DiskInfo sdc = disk(disks, "sdc");
        assertThat(sdc.controllerDriver()).isEqualTo("vmw_pvscsi");
        assertThat(sdc.paravirtualScsi()).isTrue();
        assertThat(sdc.warnings()).singleElement().asString().contains("PVSCSI");
        assertThat(disk(disks, "sdd").paravirtualScsi()).isFalse();
    }

    @Test
    void mountOfPicksTheLongestMountPoint() throws Exception {
        DiskDiscovery d = RecordedTree.materialize(dir);
        assertThat(DiskDiscovery.mountOf(d.mounts(), Path.of("/mnt/retention/x")).majorMinor()).isEqualTo("8:17");
        assertThat(DiskDiscovery.mountOf(d.mounts(), Path.of("/mnt/retentionX")).majorMinor()).isEqualTo("253:0");
        assertThat(DiskDiscovery.mountOf(d.mounts(), Path.of("/srv/odd name/a")).fsType()).isEqualTo("xfs");
    }

    @Test
    void theRunningMachineCanBeDiscovered() throws Exception {
        // Whatever this machine has (possibly no disks in a container): it must not throw when sysfs exists.
        if (java.nio.file.Files.isDirectory(Path.of("/sys/block"))) {
            List<DiskInfo> disks = DiskDiscovery.system().discover(Map.of("tmp", Path.of("/tmp")));
            assertThat(disks).allSatisfy(d -> assertThat(d.sizeBytes()).isGreaterThanOrEqualTo(0));
        }
    }

    @Test
    void aTargetOnADiskInUseIsRefusedAndAFreeOneIsNot() throws Exception {
        DiskDiscovery d = RecordedTree.materialize(dir);
        // /sys/class/block entries and device nodes as they look on the live system, built inside the tree
        java.nio.file.Path cls = java.nio.file.Files.createDirectories(dir.resolve("sys/class/block"));
        java.nio.file.Path devDir = java.nio.file.Files.createDirectories(dir.resolve("devnodes"));
        for (String n : new String[] {"sda", "sdb", "sdd"}) {
            java.nio.file.Files.createSymbolicLink(cls.resolve(n), dir.resolve("sys/block/" + n));
            java.nio.file.Files.createDirectories(devDir.resolve(n)); // stands in for the node: not a regular file
        }
        java.nio.file.Files.createSymbolicLink(cls.resolve("sdb1"), dir.resolve("sys/block/sdb/sdb1"));
        java.nio.file.Files.createDirectories(devDir.resolve("sdb1"));
        java.nio.file.Path byId = dir.resolve("dev/disk/by-id");
        java.nio.file.Files.createSymbolicLink(byId.resolve("target-sdb1"), devDir.resolve("sdb1"));
        Map<String, Path> agent = Map.of("cache", Path.of("/var/lib/mtagent/cache"));
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> d.refuseIfInUse(devDir.resolve("sda"), agent))
                .hasMessageContaining("in use").hasMessageContaining("system disk").hasMessageContaining("mtagent disks");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> d.refuseIfInUse(byId.resolve("target-sdb1"), agent))
                .hasMessageContaining("/dev/sdb1 on disk /dev/sdb").hasMessageContaining("mounted at /mnt/retention");
        d.refuseIfInUse(devDir.resolve("sdd"), agent); // free: no exception
        java.nio.file.Path file = java.nio.file.Files.write(dir.resolve("t.img"), new byte[512]);
        d.refuseIfInUse(file, agent);
    }
}
