package io.mtagent.nativeio;

import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.Pointer;
import java.nio.ByteBuffer;

/**
 * {@link NativeIO} through the direct-mapped {@link LibC}. Buffers must be direct: their address is passed to
 * the kernel as is (no copy), which is what O_DIRECT needs.
 *
 * <p>Not final on purpose: tests subclass it and override one call to inject a fault.
 */
public class NativeIOImpl implements NativeIO {

    /** True when libc could be bound (64-bit Linux with JNA's native library loadable). */
    public static boolean available() {
        return LibC.AVAILABLE;
    }

    /** Why the binding is not available (for the log line of a fallback), or null. */
    public static Throwable unavailableReason() {
        return LibC.LOAD_FAILURE;
    }

    public NativeIOImpl() {
        if (!LibC.AVAILABLE) {
            throw new UnsupportedOperationException("native libc I/O is not available here: " + LibC.LOAD_FAILURE,
                    LibC.LOAD_FAILURE);
        }
    }

    private static Pointer address(ByteBuffer buf, int count) {
        if (!buf.isDirect()) {
            throw new IllegalArgumentException("native I/O needs a direct buffer");
        }
        if (count > buf.remaining()) {
            throw new IllegalArgumentException("count " + count + " exceeds the buffer's remaining " + buf.remaining());
        }
        return Native.getDirectBufferPointer(buf).share(buf.position());
    }

    @Override
    public int open(String path, int flags, int mode) throws NativeIOException {
        int fd = LibC.open(path, flags, mode);
        if (fd < 0) {
            throw new NativeIOException("open", Native.getLastError(), path);
        }
        return fd;
    }

    @Override
    public void close(int fd) throws NativeIOException {
        if (LibC.close(fd) < 0) {
            throw new NativeIOException("close", Native.getLastError(), "fd " + fd);
        }
    }

    @Override
    public void flock(int fd, int operation) throws NativeIOException {
        if (LibC.flock(fd, operation) < 0) {
            throw new NativeIOException("flock", Native.getLastError(), "fd " + fd);
        }
    }

    @Override
    public long pread(int fd, ByteBuffer buf, int count, long offset) throws NativeIOException {
        long n = LibC.pread(fd, address(buf, count), count, offset);
        if (n < 0) {
            throw new NativeIOException("pread", Native.getLastError(), "offset " + offset + " count " + count);
        }
        return n;
    }

    @Override
    public long pwrite(int fd, ByteBuffer buf, int count, long offset) throws NativeIOException {
        long n = LibC.pwrite(fd, address(buf, count), count, offset);
        if (n < 0) {
            throw new NativeIOException("pwrite", Native.getLastError(), "offset " + offset + " count " + count);
        }
        return n;
    }

    @Override
    public void fdatasync(int fd) throws NativeIOException {
        if (LibC.fdatasync(fd) < 0) {
            throw new NativeIOException("fdatasync", Native.getLastError(), "fd " + fd);
        }
    }

    @Override
    public long ioctlLong(int fd, long request) throws NativeIOException {
        try (Memory m = new Memory(8)) {
            m.clear();
            if (LibC.ioctl(fd, request, m) < 0) {
                throw new NativeIOException("ioctl", Native.getLastError(), "request 0x" + Long.toHexString(request));
            }
            return m.getLong(0);
        }
    }

    @Override
    public int ioctlInt(int fd, long request) throws NativeIOException {
        try (Memory m = new Memory(8)) {
            m.clear();
            if (LibC.ioctl(fd, request, m) < 0) {
                throw new NativeIOException("ioctl", Native.getLastError(), "request 0x" + Long.toHexString(request));
            }
            return m.getInt(0);
        }
    }

    @Override
    public void posixFadvise(int fd, long offset, long length, int advice) throws NativeIOException {
        int rc = LibC.posix_fadvise(fd, offset, length, advice);
        if (rc != 0) {
            throw new NativeIOException("posix_fadvise", rc, "advice " + advice);
        }
    }

    @Override
    public void fallocate(int fd, int mode, long offset, long length) throws NativeIOException {
        if (LibC.fallocate(fd, mode, offset, length) < 0) {
            throw new NativeIOException("fallocate", Native.getLastError(), "offset " + offset + " length " + length);
        }
    }

    @Override
    public StatFs fstatfs(int fd) throws NativeIOException {
        try (Memory m = new Memory(STATFS_SIZE)) {
            m.clear();
            if (LibC.fstatfs(fd, m) < 0) {
                throw new NativeIOException("fstatfs", Native.getLastError(), "fd " + fd);
            }
            return parseStatFs(m);
        }
    }

    @Override
    public StatFs statfs(String path) throws NativeIOException {
        try (Memory m = new Memory(STATFS_SIZE)) {
            m.clear();
            if (LibC.statfs(path, m) < 0) {
                throw new NativeIOException("statfs", Native.getLastError(), path);
            }
            return parseStatFs(m);
        }
    }

    /**
     * {@code struct statfs} on LP64 Linux (x86_64 and aarch64 share the generic layout), 120 bytes:
     * <pre>
     *   0 f_type   8 f_bsize  16 f_blocks  24 f_bfree  32 f_bavail  40 f_files  48 f_ffree
     *  56 f_fsid  64 f_namelen  72 f_frsize  80 f_flags  88 f_spare[4]
     * </pre>
     * Block counts are in units of f_frsize (f_bsize where f_frsize is 0, as on old kernels).
     */
    private static final int STATFS_SIZE = 128;

    private static StatFs parseStatFs(Pointer m) {
        long type = m.getLong(0);
        long bsize = m.getLong(8);
        long frsize = m.getLong(72);
        long unit = frsize > 0 ? frsize : bsize;
        return new StatFs(type, bsize, m.getLong(16) * unit, m.getLong(24) * unit, m.getLong(32) * unit);
    }
}
