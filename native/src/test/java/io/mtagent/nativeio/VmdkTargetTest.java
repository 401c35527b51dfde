package io.mtagent.nativeio;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class VmdkTargetTest {
    @TempDir
    Path dir;

    private static String descriptor(String createType, String extents, String parent) {
        return "# Disk DescriptorFile\nversion=1\nencoding=\"UTF-8\"\nCID=fffffffe\nparentCID=" + parent + "\n"
                + "createType=\"" + createType + "\"\n\n# Extent description\n" + extents
                + "\n# The Disk Data Base\n#DDB\nddb.adapterType = \"lsilogic\"\n";
    }

    @Test
    void aFlatDescriptorIsFollowedToItsExtent() throws IOException {
        Files.write(dir.resolve("db-flat.vmdk"), new byte[8192]);
        Path d = dir.resolve("db.vmdk");
        Files.writeString(d, descriptor("vmfs", "RW 16 VMFS \"db-flat.vmdk\"", "ffffffff"));
        assertThat(VmdkTarget.resolve(d)).isEqualTo(dir.resolve("db-flat.vmdk"));
        Files.writeString(d, descriptor("monolithicFlat", "RW 16 FLAT \"db-flat.vmdk\" 0", "ffffffff"));
        assertThat(VmdkTarget.resolve(d)).isEqualTo(dir.resolve("db-flat.vmdk"));
    }

    @Test
    void otherPathsAreUnchanged() throws IOException {
        Path img = dir.resolve("disk.img");
        Files.write(img, new byte[4096]);
        assertThat(VmdkTarget.resolve(img)).isEqualTo(img);
        Path rawNamedVmdk = dir.resolve("x-flat.vmdk");
        Files.write(rawNamedVmdk, new byte[4096]);
        assertThat(VmdkTarget.resolve(rawNamedVmdk)).isEqualTo(rawNamedVmdk);
        assertThat(VmdkTarget.resolve(Path.of("/dev/disk/by-id/wwn-0x1"))).isEqualTo(Path.of("/dev/disk/by-id/wwn-0x1"));
    }

    @Test
    void sparseDisksAreRefusedWithTheConversion() throws IOException {
        Path sparse = dir.resolve("sparse.vmdk");
        Files.write(sparse, new byte[] {'K', 'D', 'M', 'V', 1, 0, 0, 0});
        assertThatThrownBy(() -> VmdkTarget.resolve(sparse)).hasMessageContaining("sparse")
                .hasMessageContaining("qemu-img convert -O raw");
        Path vmfsSparse = dir.resolve("snap.vmdk");
        Files.writeString(vmfsSparse, descriptor("vmfsSparse", "RW 16 VMFSSPARSE \"snap-delta.vmdk\"", "ffffffff"));
        assertThatThrownBy(() -> VmdkTarget.resolve(vmfsSparse)).hasMessageContaining("VMFSSPARSE");
        Path delta = dir.resolve("delta.vmdk");
        Files.writeString(delta, descriptor("vmfs", "RW 16 VMFS \"db-flat.vmdk\"", "1234abcd"));
        assertThatThrownBy(() -> VmdkTarget.resolve(delta)).hasMessageContaining("snapshot");
        Path split = dir.resolve("split.vmdk");
        Files.writeString(split, descriptor("twoGbMaxExtentFlat",
                "RW 8 FLAT \"split-f001.vmdk\" 0\nRW 8 FLAT \"split-f002.vmdk\" 0", "ffffffff"));
        assertThatThrownBy(() -> VmdkTarget.resolve(split)).hasMessageContaining("2 extents");
    }

    @Test
    void aMissingExtentSaysWhereItWasLookedFor() throws IOException {
        Path d = dir.resolve("lost.vmdk");
        Files.writeString(d, descriptor("vmfs", "RW 16 VMFS \"lost-flat.vmdk\"", "ffffffff"));
        assertThatThrownBy(() -> VmdkTarget.resolve(d)).hasMessageContaining("lost-flat.vmdk")
                .hasMessageContaining("does not exist");
    }
}
