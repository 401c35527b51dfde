package io.mtagent.nativeio;

import com.sun.jna.Platform;
import java.io.IOException;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;

/**
 * What the retention-volume check needs to know about the volume a path lives on.
 *
 * @param path           the path asked about
 * @param fileSystem     file-system name: from the statfs magic on Linux ({@code ext4}, {@code xfs}, {@code vfat},
 *                       ...), GetVolumeInformation on Windows ({@code NTFS}, {@code FAT32}), else the JDK's
 * @param magic          the statfs {@code f_type} (Linux), 0 elsewhere
 * @param capacityBytes  total size
 * @param freeBytes      free bytes (including those reserved for root)
 * @param usableBytes    bytes this process may use
 * @param device         the device the volume is on ({@code /dev/sdb1}, {@code /dev/mapper/vg-root}, {@code R:})
 */
public record VolumeFacts(Path path, String fileSystem, long magic, long capacityBytes, long freeBytes,
                          long usableBytes, String device) {

    /** statfs(2) f_type values (linux/magic.h) for the file systems an agent meets. */
    static final Map<Long, String> MAGIC = Map.ofEntries(
            Map.entry(0xEF53L, "ext4"), // ext2/ext3/ext4 share it
            Map.entry(0x58465342L, "xfs"),
            Map.entry(0x9123683EL, "btrfs"),
            Map.entry(0x01021994L, "tmpfs"),
            Map.entry(0x858458F6L, "ramfs"),
            Map.entry(0x4D44L, "vfat"), // MSDOS_SUPER_MAGIC: msdos, vfat (FAT12/16/32)
            Map.entry(0x2011BAB0L, "exfat"),
            Map.entry(0x5346544EL, "ntfs"),
            Map.entry(0x7366746EL, "ntfs3"),
            Map.entry(0x65735546L, "fuse"),
            Map.entry(0x6969L, "nfs"),
            Map.entry(0xFF534D42L, "cifs"),
            Map.entry(0xFE534D42L, "smb2"),
            Map.entry(0x2FC12FC1L, "zfs"),
            Map.entry(0xF2F52010L, "f2fs"),
            Map.entry(0x794C7630L, "overlay"),
            Map.entry(0x73717368L, "squashfs"),
            Map.entry(0x52654973L, "reiserfs"),
            Map.entry(0x3153464AL, "jfs"),
            Map.entry(0x00C36400L, "ceph"));

    /** The name for a statfs magic, or {@code unknown(0x…)}. */
    public static String fileSystemName(long magic) {
        String n = MAGIC.get(magic & 0xFFFFFFFFL);
        return n != null ? n : "unknown(0x" + Long.toHexString(magic) + ")";
    }

    /** True for FAT file systems, which a retention volume must not be (4 GiB file limit, no fsync guarantees). */
    public boolean isFat() {
        String fs = fileSystem.toLowerCase(Locale.ROOT);
        return fs.equals("vfat") || fs.equals("msdos") || fs.startsWith("fat") || fs.equals("exfat");
    }

    /** Facts for the volume holding {@code path} (which must exist). */
    public static VolumeFacts of(Path path) throws IOException {
        return of(path, NativeIOImpl.available() ? new NativeIOImpl() : null);
    }

    static VolumeFacts of(Path path, NativeIO io) throws IOException {
        FileStore store = Files.getFileStore(path);
        String device = store.name();
        if (io != null) {
            try {
                NativeIO.StatFs s = io.statfs(path.toAbsolutePath().toString());
                return new VolumeFacts(path, fileSystemName(s.type()), s.type(), s.totalBytes(), s.freeBytes(),
                        s.availableBytes(), device);
            } catch (NativeIOException e) {
                throw new IOException("cannot read the file system of " + path + ": " + e.getMessage(), e);
            }
        }
        String fs = store.type();
        if (Platform.isWindows()) {
            Path root = path.toAbsolutePath().getRoot();
            try {
                fs = WindowsBlockDevice.fileSystemName(root.toString());
            } catch (IOException | RuntimeException e) {
                // keep the JDK's answer (it asks the same API; this only adds the error context we do not need)
            }
            device = root.toString();
        }
        return new VolumeFacts(path, fs, 0, store.getTotalSpace(), store.getUnallocatedSpace(),
                store.getUsableSpace(), device);
    }
}
