package io.mtagent.nativeio;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Locale;

/**
 * The pure-Java half of {@link WindowsBlockDevice}: the flags, paths, offsets and structure layouts it passes to
 * kernel32, and how GetLastError values map to {@link BlockDeviceException.Failure}. Kept apart from the calls so
 * that it is unit-tested on Linux, where kernel32 cannot run.
 */
final class WindowsIO {
    static final int GENERIC_READ = 0x80000000;
    static final int GENERIC_WRITE = 0x40000000;
    static final int FILE_SHARE_READ = 0x1;
    static final int FILE_SHARE_WRITE = 0x2;
    static final int OPEN_EXISTING = 3;
    static final int FILE_ATTRIBUTE_NORMAL = 0x80;
    static final int FILE_FLAG_WRITE_THROUGH = 0x80000000;
    static final int FILE_FLAG_NO_BUFFERING = 0x20000000;

    /** CTL_CODE(IOCTL_DISK_BASE=7, 0x17, METHOD_BUFFERED, FILE_READ_ACCESS): GET_LENGTH_INFORMATION (8 bytes). */
    static final int IOCTL_DISK_GET_LENGTH_INFO = 0x0007405C;
    /** CTL_CODE(7, 0x28, METHOD_BUFFERED, FILE_ANY_ACCESS): DISK_GEOMETRY_EX. */
    static final int IOCTL_DISK_GET_DRIVE_GEOMETRY_EX = 0x000700A0;
    /** DISK_GEOMETRY_EX without its variable tail: DISK_GEOMETRY (24) + DiskSize (8); we ask for a bit more. */
    static final int GEOMETRY_EX_BUFFER = 256;

    static final int ERROR_FILE_NOT_FOUND = 2;
    static final int ERROR_PATH_NOT_FOUND = 3;
    static final int ERROR_ACCESS_DENIED = 5;
    static final int ERROR_INVALID_HANDLE = 6;
    static final int ERROR_WRITE_PROTECT = 19;
    static final int ERROR_NOT_READY = 21;
    static final int ERROR_CRC = 23;
    static final int ERROR_SECTOR_NOT_FOUND = 27;
    static final int ERROR_WRITE_FAULT = 29;
    static final int ERROR_READ_FAULT = 30;
    static final int ERROR_SHARING_VIOLATION = 32;
    static final int ERROR_HANDLE_EOF = 38;
    static final int ERROR_HANDLE_DISK_FULL = 39;
    static final int ERROR_INVALID_PARAMETER = 87;
    static final int ERROR_DISK_FULL = 112;
    static final int ERROR_IO_DEVICE = 1117;
    static final int ERROR_DEVICE_NOT_CONNECTED = 1167;

    private WindowsIO() {
    }

    /** Geometry as IOCTL_DISK_GET_DRIVE_GEOMETRY_EX reports it. */
    record Geometry(long cylinders, int mediaType, int tracksPerCylinder, int sectorsPerTrack, int bytesPerSector,
                    long diskSize) {
    }

    /**
     * The Win32 device path of a disk: {@code PhysicalDrive2}, {@code \\.\PhysicalDrive2} and
     * {@code //./PhysicalDrive2} all become {@code \\.\PhysicalDrive2}; anything else is returned as it is (a file).
     */
    static String devicePath(String name) {
        String n = name.replace('/', '\\');
        if (n.startsWith("\\\\.\\") || n.startsWith("\\\\?\\")) {
            return n;
        }
        if (n.toLowerCase(Locale.ROOT).startsWith("physicaldrive")) {
            return "\\\\.\\" + n;
        }
        return name;
    }

    /** True for a raw device path ({@code \\.\...}), which {@link WindowsBlockDevice} handles. */
    static boolean isDevicePath(String name) {
        String n = devicePath(name);
        return n.startsWith("\\\\.\\") || n.startsWith("\\\\?\\GLOBALROOT");
    }

    /** CreateFile's dwFlagsAndAttributes: no buffering (our O_DIRECT) and write-through when asked. */
    static int createFlags(boolean noBuffering, boolean writeThrough) {
        return FILE_ATTRIBUTE_NORMAL | (noBuffering ? FILE_FLAG_NO_BUFFERING : 0)
                | (writeThrough ? FILE_FLAG_WRITE_THROUGH : 0);
    }

    static int desiredAccess() {
        return GENERIC_READ | GENERIC_WRITE;
    }

    /** Others (the OS, backup tools) may read; sharing write too lets disk management tools keep working. */
    static int shareMode() {
        return FILE_SHARE_READ | FILE_SHARE_WRITE;
    }

    /** OVERLAPPED.Offset (low 32 bits) and OffsetHigh (high 32 bits) of a byte offset. */
    static int[] overlappedOffset(long offset) {
        if (offset < 0) {
            throw new IllegalArgumentException("negative offset " + offset);
        }
        return new int[] {(int) offset, (int) (offset >>> 32)};
    }

    /**
     * DISK_GEOMETRY_EX, little endian:
     * <pre>
     *  0 Cylinders (LARGE_INTEGER)  8 MediaType (int)  12 TracksPerCylinder  16 SectorsPerTrack
     * 20 BytesPerSector  24 DiskSize (LARGE_INTEGER)  32 Data[] (partition and detection info, ignored)
     * </pre>
     */
    static Geometry parseGeometryEx(ByteBuffer raw) {
        ByteBuffer b = raw.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        if (b.remaining() < 32) {
            throw new IllegalArgumentException("DISK_GEOMETRY_EX needs 32 bytes, got " + b.remaining());
        }
        int p = b.position();
        return new Geometry(b.getLong(p), b.getInt(p + 8), b.getInt(p + 12), b.getInt(p + 16), b.getInt(p + 20),
                b.getLong(p + 24));
    }

    /** GET_LENGTH_INFORMATION: one little-endian LARGE_INTEGER. */
    static long parseLengthInfo(ByteBuffer raw) {
        ByteBuffer b = raw.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        if (b.remaining() < 8) {
            throw new IllegalArgumentException("GET_LENGTH_INFORMATION needs 8 bytes, got " + b.remaining());
        }
        return b.getLong(b.position());
    }

    static BlockDeviceException.Failure failure(int lastError) {
        switch (lastError) {
            case ERROR_CRC:
            case ERROR_IO_DEVICE:
            case ERROR_WRITE_FAULT:
            case ERROR_READ_FAULT:
            case ERROR_NOT_READY:
            case ERROR_DEVICE_NOT_CONNECTED:
                return BlockDeviceException.Failure.MEDIA_ERROR;
            case ERROR_DISK_FULL:
            case ERROR_HANDLE_DISK_FULL:
                return BlockDeviceException.Failure.NO_SPACE;
            case ERROR_ACCESS_DENIED:
            case ERROR_WRITE_PROTECT:
            case ERROR_SHARING_VIOLATION:
                return BlockDeviceException.Failure.PERMISSION;
            case ERROR_INVALID_PARAMETER:
                return BlockDeviceException.Failure.INVALID_ARGUMENT;
            case ERROR_SECTOR_NOT_FOUND:
                return BlockDeviceException.Failure.OUT_OF_RANGE;
            case ERROR_HANDLE_EOF:
                return BlockDeviceException.Failure.SHORT_TRANSFER;
            case ERROR_INVALID_HANDLE:
                return BlockDeviceException.Failure.CLOSED;
            default:
                return BlockDeviceException.Failure.OTHER;
        }
    }

    /** A message for a GetLastError value, with the operator's fix where there is a common one. */
    static String describe(int lastError) {
        switch (lastError) {
            case ERROR_FILE_NOT_FOUND:
            case ERROR_PATH_NOT_FOUND:
                return "not found (GetLastError " + lastError + "): check the disk number in Disk Management";
            case ERROR_ACCESS_DENIED:
                return "access denied (GetLastError 5): run the agent as Administrator/LocalSystem, and take the "
                        + "disk offline in Disk Management so Windows does not hold it";
            case ERROR_SHARING_VIOLATION:
                return "in use by another process (GetLastError 32)";
            case ERROR_INVALID_PARAMETER:
                return "invalid parameter (GetLastError 87): offset, length or buffer not sector-aligned";
            case ERROR_DISK_FULL:
            case ERROR_HANDLE_DISK_FULL:
                return "disk full (GetLastError " + lastError + ")";
            case ERROR_CRC:
            case ERROR_IO_DEVICE:
                return "device I/O error (GetLastError " + lastError + ")";
            default:
                return "GetLastError " + lastError;
        }
    }
}
