package io.mtagent.agent.config;

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
}
