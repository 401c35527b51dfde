package io.mtagent.agent.config;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * One configured target disk ({@code disk.<name>.*}).
 *
 * @param name       the configuration name ({@code d0} in {@code disk.d0.path})
 * @param id         the stable id process servers open it by; unique among the disks
 * @param path       block device or raw image file; unique among the disks
 * @param sizeBytes  size of a file target to create if missing; 0 = the path must exist
 * @param sectorSize logical sector size, 512 or 4096
 */
public record DiskConfig(String name, String id, Path path, long sizeBytes, int sectorSize) {

    /**
     * Why {@link #path} cannot be a target, checked before anything opens it (a directory, a missing path without a
     * size to create it with), naming the setting and the fix; null when it may be one.
     */
    public String pathProblem() {
        String setting = "disk." + name + ".path=" + path;
        if (Files.isDirectory(path)) {
            return setting + " is a directory; give the target's block device (by a stable name such as"
                    + " /dev/disk/by-id/...) or an image file (disk." + name + ".size creates it)";
        }
        if (!Files.exists(path) && sizeBytes == 0) {
            return setting + " does not exist; attach the disk (and check the name under /dev/disk/by-id/, or"
                    + " 'mtagent disks'), or set disk." + name + ".size to create an image file there";
        }
        return null;
    }
}
