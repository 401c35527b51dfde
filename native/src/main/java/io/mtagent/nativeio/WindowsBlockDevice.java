package io.mtagent.nativeio;

import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.Pointer;
import com.sun.jna.platform.win32.Kernel32;
import com.sun.jna.platform.win32.WinBase;
import com.sun.jna.platform.win32.WinNT;
import com.sun.jna.ptr.IntByReference;
import com.sun.jna.win32.StdCallLibrary;
import com.sun.jna.win32.W32APIOptions;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A raw Windows disk ({@code \\.\PhysicalDriveN}) through kernel32: CreateFile with FILE_FLAG_NO_BUFFERING and
 * FILE_FLAG_WRITE_THROUGH, positional ReadFile/WriteFile (the offset in OVERLAPPED on a synchronous handle),
 * FlushFileBuffers, and the size and sector size from IOCTL_DISK_GET_LENGTH_INFO and
 * IOCTL_DISK_GET_DRIVE_GEOMETRY_EX. Everything that can be computed without kernel32 lives in {@link WindowsIO}
 * and is tested on Linux; this class is compiled everywhere and only runs on Windows.
 *
 * <p>Alignment: no buffering needs sector-aligned offsets, lengths and buffer addresses. Writes not aligned to the
 * logical sector are refused ({@link BlockDeviceException.Failure#ALIGNMENT}): the read-modify-write path exists
 * only on Linux for now. Unaligned buffers go through a pooled aligned bounce buffer.
 *
 * <p>Thread-safety: as {@link LinuxBlockDevice} (positional I/O; close after I/O stopped). The physical sector size
 * is reported as the logical one (IOCTL_STORAGE_QUERY_PROPERTY alignment data is not read yet).
 */
public final class WindowsBlockDevice implements BlockDevice {
    private static final int CHUNK = 1 << 20;

    /** ReadFile/WriteFile taking a raw pointer (jna-platform's take byte[], which would copy to unaligned memory). */
    interface RawKernel32 extends StdCallLibrary {
        boolean ReadFile(WinNT.HANDLE file, Pointer buffer, int toRead, IntByReference read, WinBase.OVERLAPPED ov);

        boolean WriteFile(WinNT.HANDLE file, Pointer buffer, int toWrite, IntByReference written,
                          WinBase.OVERLAPPED ov);
    }

    private static final class Raw {
        static final RawKernel32 K = Native.load("kernel32", RawKernel32.class, W32APIOptions.DEFAULT_OPTIONS);
    }

    private final String path;
    private final WinNT.HANDLE handle;
    private final long size;
    private final int sector;
    private final AtomicBoolean closed = new AtomicBoolean();

    private WindowsBlockDevice(String path, WinNT.HANDLE handle, long size, int sector) {
        this.path = path;
        this.handle = handle;
        this.size = size;
        this.sector = sector;
    }

    /** Opens a raw disk; {@code options.dsync()} is implied (FILE_FLAG_WRITE_THROUGH is always set). */
    public static WindowsBlockDevice open(String name, BlockDeviceOptions options) throws IOException {
        String path = WindowsIO.devicePath(name);
        Kernel32 k = Kernel32.INSTANCE;
        WinNT.HANDLE h = k.CreateFile(path, WindowsIO.desiredAccess(), WindowsIO.shareMode(), null,
                WindowsIO.OPEN_EXISTING, WindowsIO.createFlags(true, true), null);
        if (h == null || WinBase.INVALID_HANDLE_VALUE.equals(h)) {
            int err = k.GetLastError();
            throw error("open", path, 0, 0, err);
        }
        try {
            long size;
            int sector;
            try (Memory out = new Memory(WindowsIO.GEOMETRY_EX_BUFFER)) {
                IntByReference got = new IntByReference();
                if (!k.DeviceIoControl(h, WindowsIO.IOCTL_DISK_GET_DRIVE_GEOMETRY_EX, null, 0, out,
                        (int) out.size(), got, null)) {
                    throw error("ioctl GET_DRIVE_GEOMETRY_EX", path, 0, 0, k.GetLastError());
                }
                sector = WindowsIO.parseGeometryEx(out.getByteBuffer(0, got.getValue())).bytesPerSector();
                if (!k.DeviceIoControl(h, WindowsIO.IOCTL_DISK_GET_LENGTH_INFO, null, 0, out, 8, got, null)) {
                    throw error("ioctl GET_LENGTH_INFO", path, 0, 0, k.GetLastError());
                }
                size = WindowsIO.parseLengthInfo(out.getByteBuffer(0, 8));
            }
            return new WindowsBlockDevice(path, h, size, Math.max(sector, options.sectorSize()));
        } catch (IOException | RuntimeException e) {
            k.CloseHandle(h);
            throw e;
        }
    }

    private static BlockDeviceException error(String op, String path, long offset, long length, int err) {
        return new BlockDeviceException(op, path, offset, length, err, WindowsIO.failure(err),
                WindowsIO.describe(err), null);
    }

    @Override
    public long size() { return size; }

    @Override
    public int logicalSectorSize() { return sector; }

    @Override
    public int physicalSectorSize() { return sector; }

    @Override
    public String path() { return path; }

    @Override
    public boolean directIo() { return true; }

    @Override
    public void read(long offset, ByteBuffer dst) throws IOException {
        int length = dst.remaining();
        check("read", offset, length);
        if (offset % sector != 0 || length % sector != 0) {
            throw new BlockDeviceException("read", path, offset, length, -1, BlockDeviceException.Failure.ALIGNMENT,
                    "offset and length must be multiples of the sector size " + sector, null);
        }
        transfer(false, offset, dst, length);
    }

    @Override
    public void write(long offset, ByteBuffer src) throws IOException {
        int length = src.remaining();
        check("write", offset, length);
        if (offset % sector != 0 || length % sector != 0) {
            throw new BlockDeviceException("write", path, offset, length, -1, BlockDeviceException.Failure.ALIGNMENT,
                    "offset and length must be multiples of the sector size " + sector, null);
        }
        transfer(true, offset, src, length);
    }

    private void transfer(boolean write, long offset, ByteBuffer buf, int length) throws IOException {
        String op = write ? "write" : "read";
        ByteBuffer bounce = AlignedBufferPool.SHARED.acquire(Math.min(length, CHUNK));
        try {
            long pos = offset;
            while (buf.hasRemaining()) {
                int n = Math.min(buf.remaining(), CHUNK);
                ByteBuffer io;
                boolean direct = AlignedBufferPool.isAligned(buf, 4096);
                if (direct) {
                    io = buf.duplicate().limit(buf.position() + n);
                } else {
                    io = bounce.clear().limit(n);
                    if (write) {
                        io.put(buf.duplicate().limit(buf.position() + n)).flip();
                    }
                }
                int[] off = WindowsIO.overlappedOffset(pos);
                WinBase.OVERLAPPED ov = new WinBase.OVERLAPPED();
                ov.Offset = off[0];
                ov.OffsetHigh = off[1];
                IntByReference done = new IntByReference();
                Pointer p = Native.getDirectBufferPointer(io).share(io.position());
                boolean ok = write ? Raw.K.WriteFile(handle, p, n, done, ov) : Raw.K.ReadFile(handle, p, n, done, ov);
                if (!ok) {
                    throw error(op, path, offset, length, Kernel32.INSTANCE.GetLastError());
                }
                int got = done.getValue();
                if (got <= 0 || got % sector != 0) {
                    throw new BlockDeviceException(op, path, offset, length, -1,
                            BlockDeviceException.Failure.SHORT_TRANSFER, op + " transferred " + got + " of " + n
                                    + " bytes at offset " + pos, null);
                }
                if (!write && !direct) {
                    buf.put(bounce.flip().limit(got));
                } else {
                    buf.position(buf.position() + got);
                }
                pos += got;
            }
        } finally {
            AlignedBufferPool.SHARED.release(bounce);
        }
    }

    @Override
    public void flush() throws IOException {
        check("flush", 0, 0);
        if (!Kernel32.INSTANCE.FlushFileBuffers(handle)) {
            throw error("flush", path, 0, size, Kernel32.INSTANCE.GetLastError());
        }
    }

    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            Kernel32.INSTANCE.CloseHandle(handle);
        }
    }

    private void check(String op, long offset, int length) throws BlockDeviceException {
        if (closed.get()) {
            throw new BlockDeviceException(op, path, offset, length, -1, BlockDeviceException.Failure.CLOSED,
                    "the device is closed", null);
        }
        if (offset < 0 || offset > size || length > size - offset) {
            throw new BlockDeviceException(op, path, offset, length, -1, BlockDeviceException.Failure.OUT_OF_RANGE,
                    "range outside the device (size " + size + ")", null);
        }
    }

    /** The file-system name of a volume root such as {@code R:\} (GetVolumeInformation), e.g. "NTFS", "FAT32". */
    public static String fileSystemName(String volumeRoot) throws IOException {
        char[] fs = new char[64];
        char[] label = new char[261];
        IntByReference serial = new IntByReference();
        IntByReference maxComponent = new IntByReference();
        IntByReference flags = new IntByReference();
        if (!Kernel32.INSTANCE.GetVolumeInformation(volumeRoot, label, label.length, serial, maxComponent, flags,
                fs, fs.length)) {
            int err = Kernel32.INSTANCE.GetLastError();
            throw new NativeIOException("GetVolumeInformation", err, volumeRoot + ": " + WindowsIO.describe(err));
        }
        return Native.toString(fs);
    }

    @Override
    public String toString() {
        return "WindowsBlockDevice[" + path + ", size=" + size + ", sector=" + sector + "]";
    }
}
