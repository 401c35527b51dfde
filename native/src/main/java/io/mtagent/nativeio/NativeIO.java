package io.mtagent.nativeio;

import java.nio.ByteBuffer;

/**
 * The system calls {@link LinuxBlockDevice} makes, one method each, so that tests can make any single call fail
 * or come up short by overriding one method of {@link NativeIOImpl} (as BookKeeper's TestDirectWriter does).
 *
 * <p>Every method throws {@link NativeIOException} carrying errno when the call returns -1 (EINTR included:
 * retrying is the caller's policy, not the binding's). Counts that come back short are returned as they are.
 * Implementations are stateless and thread-safe.
 */
public interface NativeIO {
    int O_RDONLY = 0;
    int O_RDWR = 2;
    int O_CREAT = 0x40;
    /** On a block device without O_CREAT: exclusive open, EBUSY while mounted or opened O_EXCL elsewhere. */
    int O_EXCL = 0x80;
    int O_DSYNC = 0x1000;
    int O_CLOEXEC = 0x80000;
    /** O_DIRECT is the one open flag whose value differs between x86_64 (040000) and aarch64 (0200000). */
    int O_DIRECT = "aarch64".equals(System.getProperty("os.arch")) ? 0x10000 : 0x4000;

    /** _IOR(0x12, 114, size_t): device size in bytes (u64). */
    long BLKGETSIZE64 = 0x80081272L;
    /** _IO(0x12, 104): logical sector size (int). */
    long BLKSSZGET = 0x1268L;
    /** _IO(0x12, 123): physical sector size (unsigned int). */
    long BLKPBSZGET = 0x127BL;

    /** flock(2) operations. */
    int LOCK_EX = 2;
    int LOCK_NB = 4;

    int POSIX_FADV_RANDOM = 1;
    int POSIX_FADV_SEQUENTIAL = 2;
    int POSIX_FADV_DONTNEED = 4;

    /** Sizes and the file-system magic from {@code statfs(2)}; sizes in bytes. */
    record StatFs(long type, long blockSize, long totalBytes, long freeBytes, long availableBytes) {
    }

    int open(String path, int flags, int mode) throws NativeIOException;

    void close(int fd) throws NativeIOException;

    /** {@code flock(2)}: the lock belongs to the open file description, so closing other descriptors keeps it. */
    void flock(int fd, int operation) throws NativeIOException;

    /** Reads up to {@code count} bytes into the direct buffer {@code buf} starting at its position; 0 at EOF. */
    long pread(int fd, ByteBuffer buf, int count, long offset) throws NativeIOException;

    /** Writes up to {@code count} bytes from the direct buffer {@code buf} starting at its position. */
    long pwrite(int fd, ByteBuffer buf, int count, long offset) throws NativeIOException;

    void fdatasync(int fd) throws NativeIOException;

    /** An ioctl whose argument is a {@code u64} the kernel fills in (BLKGETSIZE64). */
    long ioctlLong(int fd, long request) throws NativeIOException;

    /** An ioctl whose argument is an {@code int} the kernel fills in (BLKSSZGET, BLKPBSZGET). */
    int ioctlInt(int fd, long request) throws NativeIOException;

    /** posix_fadvise returns the error number instead of setting errno; this throws it the same way. */
    void posixFadvise(int fd, long offset, long length, int advice) throws NativeIOException;

    void fallocate(int fd, int mode, long offset, long length) throws NativeIOException;

    StatFs fstatfs(int fd) throws NativeIOException;

    StatFs statfs(String path) throws NativeIOException;
}
