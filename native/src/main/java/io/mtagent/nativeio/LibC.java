package io.mtagent.nativeio;

import com.sun.jna.Native;
import com.sun.jna.Platform;
import com.sun.jna.Pointer;

/**
 * The raw libc binding, direct-mapped ({@link Native#register}): the hot calls (pread, pwrite, fdatasync) cost
 * one JNI transition with no reflection or argument boxing, which is what makes the O_DIRECT path competitive
 * with {@code FileChannel}. Types assume an LP64 Linux (x86_64, aarch64): {@code size_t}, {@code ssize_t},
 * {@code off_t} and {@code unsigned long} are Java {@code long}. {@code ioctl} is variadic in C; passing one
 * pointer argument through a fixed prototype is ABI-compatible on both architectures.
 *
 * <p>errno is read with {@link Native#getLastError()}, which JNA captures right after every native call on the
 * calling thread. Only {@link NativeIOImpl} calls this class.
 */
final class LibC {
    static final boolean AVAILABLE;
    static final Throwable LOAD_FAILURE;

    static {
        Throwable failure = null;
        if (Platform.isLinux() && Platform.is64Bit()) {
            try {
                Native.register(LibC.class, Platform.C_LIBRARY_NAME);
            } catch (Throwable t) {
                failure = t;
            }
        } else {
            failure = new UnsupportedOperationException("libc binding is for 64-bit Linux only");
        }
        AVAILABLE = failure == null;
        LOAD_FAILURE = failure;
    }

    private LibC() {
    }

    static native int open(String path, int flags, int mode);

    static native int close(int fd);

    static native long pread(int fd, Pointer buf, long count, long offset);

    static native long pwrite(int fd, Pointer buf, long count, long offset);

    static native int fdatasync(int fd);

    static native int fsync(int fd);

    static native int ioctl(int fd, long request, Pointer arg);

    static native int posix_fadvise(int fd, long offset, long len, int advice);

    static native int fallocate(int fd, int mode, long offset, long len);

    static native int fstatfs(int fd, Pointer buf);

    static native int statfs(String path, Pointer buf);

    static native int umask(int mask);

    static native int flock(int fd, int operation);

    static native int chmod(String path, int mode);
}
