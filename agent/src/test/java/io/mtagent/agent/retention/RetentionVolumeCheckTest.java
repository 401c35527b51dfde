package io.mtagent.agent.retention;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mtagent.agent.TestAgents;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RetentionVolumeCheckTest {
    @TempDir
    Path dir;

    @Test
    void theCacheVolumeIsRefusedUnlessSharingIsAllowed() {
        Path cache = dir.resolve("cache");
        List<RetentionVolumeCheck.Failure> f = RetentionVolumeCheck.check(dir.resolve("retention"), null, cache, List.of(), false);
        assertThat(f).extracting(RetentionVolumeCheck.Failure::rule).contains("cache-volume");
        assertThat(RetentionVolumeCheck.check(dir.resolve("retention"), null, cache, List.of(), true)).isEmpty();
    }

    @Test
    void aPathThatCannotBeCreatedIsRefused() throws Exception {
        Path file = Files.writeString(dir.resolve("a-file"), "x");
        List<RetentionVolumeCheck.Failure> f = RetentionVolumeCheck.check(file.resolve("sub"), null, dir, List.of(), true);
        assertThat(f).extracting(RetentionVolumeCheck.Failure::rule).containsExactly("missing");
        assertThat(f.get(0).message()).contains("mount the retention volume there", "retention.dir");
    }

    /**
     * A real FAT file system (mkfs.vfat, mounted by the kernel's vfat driver or, where the kernel has none, by
     * fusefat) is refused by name. Needs root, dosfstools and fusefat or a vfat-capable kernel.
     */
    @Test
    void aFatVolumeIsRefused() throws Exception {
        Path image = dir.resolve("fat.img");
        Path mount = Files.createDirectories(dir.resolve("fat"));
        try (java.io.RandomAccessFile f = new java.io.RandomAccessFile(image.toFile(), "rw")) {
            f.setLength(8 << 20);
        }
        String why = null;
        if (!"root".equals(System.getProperty("user.name"))) {
            why = "not running as root (mounting needs it)";
        } else if (run("mkfs.vfat", image.toString()) != 0) {
            why = "mkfs.vfat failed or is missing (apt-get install dosfstools)";
        } else if (run("mount", "-o", "loop", image.toString(), mount.toString()) != 0
                && run("fusefat", "-o", "rw+", image.toString(), mount.toString()) != 0) {
            why = "neither 'mount -o loop' (kernel vfat) nor fusefat could mount it (apt-get install fusefat)";
        }
        if (why != null) {
            System.err.println("SKIPPED RetentionVolumeCheckTest.aFatVolumeIsRefused: " + why);
            org.junit.jupiter.api.Assumptions.assumeTrue(false, why);
        }
        try {
            List<RetentionVolumeCheck.Failure> f = RetentionVolumeCheck.check(mount.resolve("retention"), null,
                    dir.resolve("cache"), List.of(), true);
            assertThat(f).extracting(RetentionVolumeCheck.Failure::rule).containsExactly("fat-file-system");
            assertThat(f.get(0).message()).contains("fat").contains("ext4");
        } finally {
            if (run("umount", mount.toString()) != 0) {
                run("fusermount", "-u", mount.toString());
            }
        }
    }

    private static int run(String... cmd) throws Exception {
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            return p.waitFor(30, java.util.concurrent.TimeUnit.SECONDS) ? p.exitValue() : -1;
        } catch (java.io.IOException e) {
            return 127;
        }
    }

    @Test
    void theAgentRefusesToStartOnABadRetentionVolumeAndNamesTheRule() {
        Map<String, String> s = TestAgents.settingsWithRetention(dir, 1, 1 << 20);
        s.put("retention.allow.shared.volume", "false");
        assertThatThrownBy(() -> TestAgents.start(s)).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("[cache-volume]").hasMessageContaining("retention check");
    }
}
