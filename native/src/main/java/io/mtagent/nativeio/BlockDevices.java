package io.mtagent.nativeio;

import com.sun.jna.Platform;
import java.io.IOException;
import java.nio.file.Path;
import java.util.logging.Logger;

/**
 * Opens a target with the best implementation this platform has:
 * <ol>
 *   <li>Linux (64-bit, libc bindable): {@link LinuxBlockDevice} for devices and files (O_DIRECT where the file
 *       system allows it, buffered with a logged reason where not);</li>
 *   <li>Windows, raw disk paths ({@code \\.\PhysicalDriveN}): {@link WindowsBlockDevice};</li>
 *   <li>anything else (Windows files, other platforms, JNA unavailable): {@link FileBlockDevice}.</li>
 * </ol>
 */
public final class BlockDevices {
    private static final Logger LOG = Logger.getLogger(BlockDevices.class.getName());

    private BlockDevices() {
    }

    public static BlockDevice open(Path path, BlockDeviceOptions options) throws IOException {
        if (Platform.isLinux() && NativeIOImpl.available()) {
            return LinuxBlockDevice.open(path, options);
        }
        if (Platform.isWindows() && WindowsIO.isDevicePath(path.toString())) {
            return WindowsBlockDevice.open(path.toString(), options);
        }
        if (Platform.isLinux()) {
            LOG.warning(() -> "native I/O unavailable (" + NativeIOImpl.unavailableReason() + "); " + path
                    + " uses buffered FileChannel I/O");
        }
        return FileBlockDevice.open(path, options.createSizeBytes(),
                options.sectorSize() == 0 ? FileBlockDevice.WRITE_ALIGNMENT : options.sectorSize());
    }
}
