package io.mtagent.nativeio;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class VolumeFactsTest {
    @TempDir
    Path dir;

    @Test
    void magicNumbersNameTheFileSystem() {
        assertThat(VolumeFacts.fileSystemName(0xEF53)).isEqualTo("ext4");
        assertThat(VolumeFacts.fileSystemName(0x58465342L)).isEqualTo("xfs");
        assertThat(VolumeFacts.fileSystemName(0x4d44)).isEqualTo("vfat");
        assertThat(VolumeFacts.fileSystemName(0x01021994)).isEqualTo("tmpfs");
        // f_type is a signed long in the kernel: btrfs's magic arrives sign-extended on some ABIs
        assertThat(VolumeFacts.fileSystemName(0xFFFFFFFF9123683EL)).isEqualTo("btrfs");
        assertThat(VolumeFacts.fileSystemName(0x1234)).isEqualTo("unknown(0x1234)");
        assertThat(new VolumeFacts(dir, "vfat", 0x4d44, 1, 1, 1, "/dev/sdz1").isFat()).isTrue();
        assertThat(new VolumeFacts(dir, "FAT32", 0, 1, 1, 1, "R:\\").isFat()).isTrue();
        assertThat(new VolumeFacts(dir, "NTFS", 0, 1, 1, 1, "R:\\").isFat()).isFalse();
    }

    @Test
    void statfsOfARealDirectoryAgreesWithTheJdk() throws Exception {
        assumeTrue(NativeIOImpl.available(), "needs the Linux native I/O path");
        VolumeFacts f = VolumeFacts.of(dir);
        var store = Files.getFileStore(dir);
        assertThat(f.fileSystem()).isEqualTo(store.type()); // ext4/xfs/tmpfs: the kernel's and the JDK's names agree
        assertThat(f.capacityBytes()).isEqualTo(store.getTotalSpace());
        assertThat(f.usableBytes()).isPositive().isLessThanOrEqualTo(f.freeBytes());
        assertThat(f.device()).isEqualTo(store.name());
        if (Files.isDirectory(Path.of("/dev/shm"))) {
            assertThat(VolumeFacts.of(Path.of("/dev/shm")).fileSystem()).isEqualTo("tmpfs");
        }
    }

    @Test
    void aMissingPathIsAnIoError() {
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> VolumeFacts.of(dir.resolve("nope")))
                .isInstanceOf(java.io.IOException.class);
    }
}
