package io.mtagent.nativeio;

/**
 * How {@link BlockDevices#open} opens a target.
 *
 * @param createSizeBytes when the path is missing and this is &gt; 0, a file of this size is created (a multiple of
 *                        the sector size); 0 = the path must exist
 * @param sectorSize      the logical sector size to report for a file target (512 or 4096), or for a block device
 *                        a larger size than the device's own to emulate 4Kn; 0 = the device's own (512 for files)
 * @param directIo        open with O_DIRECT / FILE_FLAG_NO_BUFFERING where the file system allows it (falls back to
 *                        buffered I/O with a logged reason where it does not, such as tmpfs)
 * @param dsync           also open with O_DSYNC / FILE_FLAG_WRITE_THROUGH (every write durable on return; slower,
 *                        {@link BlockDevice#flush()} still works)
 * @param exclusive       lock the target against other openers that lock (another agent): a block device is
 *                        opened O_EXCL (which also fails while it is mounted), a file gets an exclusive
 *                        {@code flock}; a conflict is a {@link TargetLockedException} naming the holder. Linux only
 */
public record BlockDeviceOptions(long createSizeBytes, int sectorSize, boolean directIo, boolean dsync,
                                 boolean exclusive) {

    public BlockDeviceOptions {
        if (sectorSize != 0 && sectorSize != 512 && sectorSize != 4096) {
            throw new IllegalArgumentException("sectorSize must be 0, 512 or 4096, got " + sectorSize);
        }
        if (createSizeBytes < 0 || createSizeBytes % Math.max(512, sectorSize) != 0) {
            throw new IllegalArgumentException("createSizeBytes must be >= 0 and a multiple of the sector size, got "
                    + createSizeBytes);
        }
    }

    /** Existing target, its own sector size, O_DIRECT where possible, no O_DSYNC, not locked. */
    public static BlockDeviceOptions defaults() {
        return new BlockDeviceOptions(0, 0, true, false, false);
    }

    public BlockDeviceOptions withCreateSize(long bytes) {
        return new BlockDeviceOptions(bytes, sectorSize, directIo, dsync, exclusive);
    }

    public BlockDeviceOptions withSectorSize(int size) {
        return new BlockDeviceOptions(createSizeBytes, size, directIo, dsync, exclusive);
    }

    public BlockDeviceOptions withDirectIo(boolean on) {
        return new BlockDeviceOptions(createSizeBytes, sectorSize, on, dsync, exclusive);
    }

    public BlockDeviceOptions withDsync(boolean on) {
        return new BlockDeviceOptions(createSizeBytes, sectorSize, directIo, on, exclusive);
    }

    public BlockDeviceOptions withExclusive(boolean on) {
        return new BlockDeviceOptions(createSizeBytes, sectorSize, directIo, dsync, on);
    }
}
