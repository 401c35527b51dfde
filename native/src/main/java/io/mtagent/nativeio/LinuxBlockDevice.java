package io.mtagent.nativeio;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.logging.Logger;

/**
 * A {@link BlockDevice} on Linux through libc ({@link NativeIO}): {@code pread}/{@code pwrite} at explicit
 * offsets, {@code fdatasync} for {@link #flush()}, and for block devices the size and sector sizes from the
 * kernel ({@code BLKGETSIZE64}, {@code BLKSSZGET}, {@code BLKPBSZGET}).
 *
 * <p><b>O_DIRECT.</b> Opened with O_DIRECT when asked and the file system allows it; tmpfs and some FUSE file
 * systems refuse it with EINVAL, and then the device is reopened buffered and the reason is logged. Under
 * O_DIRECT the kernel needs the buffer address, offset and length aligned to the I/O alignment (the logical
 * sector of the device; for a file, probed once at open). Callers' buffers that are not aligned (heap buffers,
 * slices) go through a pooled aligned bounce buffer ({@link AlignedBufferPool}).
 *
 * <p><b>Alignment.</b> Every write must be 512-aligned in offset and length (the protocol's unit); anything else is
 * refused with {@link BlockDeviceException.Failure#ALIGNMENT} before any system call. A 512-aligned write that is
 * not aligned to the I/O alignment (512-byte writes on a 4Kn device) is done as read-modify-write of the covering
 * sectors under a {@link RangeLock}, so two such writes into one sector never lose each other. Reads of any range
 * are allowed (unaligned ones go through the bounce buffer).
 *
 * <p><b>Errors.</b> EINTR is retried. A short transfer is continued from where it stopped; a transfer of zero
 * bytes (end of device) or, under O_DIRECT, one that stops off the alignment is raised. Every failure is a
 * {@link BlockDeviceException} with the operation, path, offset, length, errno and its typed failure.
 *
 * <p>With {@link BlockDeviceOptions#exclusive()} a block device is opened O_EXCL and a file gets an exclusive
 * {@code flock} on this device's descriptor (released by {@link #close()}); a conflict is a
 * {@link TargetLockedException} naming the holder.
 *
 * <p><b>Thread-safety.</b> Reads and writes from several threads are safe (positional I/O, no shared position);
 * overlapping writes are ordered by the caller except for the read-modify-write case above. {@link #close()} must
 * not race with I/O in flight (the applier closes the device after it stopped).
 *
 * <p>Fault injection: pass a {@link NativeIO} that overrides one call ({@link NativeIOImpl} is not final).
 */
public final class LinuxBlockDevice implements BlockDevice {
    private static final Logger LOG = Logger.getLogger(LinuxBlockDevice.class.getName());
    /** Bounce buffers are at most this large; larger unaligned transfers go through it in pieces. */
    private static final int BOUNCE_CHUNK = 1 << 20;
    /** Consecutive EINTRs after which a call is given up (a signal storm, not an I/O condition). */
    private static final int MAX_EINTR = 1000;

    private final NativeIO io;
    private final String path;
    private final int fd;
    private final long size;
    private final int logicalSector;
    private final int physicalSector;
    private final boolean direct;
    private final boolean blockDevice;
    /** The unit every pread/pwrite must be aligned to: max(logical sector, O_DIRECT alignment). */
    private final int ioAlignment;
    private final AlignedBufferPool pool;
    private final RangeLock ranges = new RangeLock();
    private final AtomicBoolean closed = new AtomicBoolean();

    private LinuxBlockDevice(NativeIO io, String path, int fd, long size, int logicalSector, int physicalSector,
                             boolean direct, boolean blockDevice, int ioAlignment, AlignedBufferPool pool) {
        this.io = io;
        this.path = path;
        this.fd = fd;
        this.size = size;
        this.logicalSector = logicalSector;
        this.physicalSector = physicalSector;
        this.direct = direct;
        this.blockDevice = blockDevice;
        this.ioAlignment = ioAlignment;
        this.pool = pool;
    }

    /** Opens through the real libc. */
    public static LinuxBlockDevice open(Path path, BlockDeviceOptions options) throws IOException {
        return open(path, options, new NativeIOImpl());
    }

    /**
     * Opens {@code path} (a block device node or a file) through {@code io}.
     *
     * @throws NoSuchFileException when it does not exist and no create size was given
     */
    public static LinuxBlockDevice open(Path path, BlockDeviceOptions options, NativeIO io) throws IOException {
        String name = path.toString();
        if (!Files.exists(path)) {
            if (options.createSizeBytes() == 0) {
                throw new NoSuchFileException(name, null,
                        "target disk does not exist (and no size was given to create it as a file)");
            }
            FileBlockDevice.create(path, options.createSizeBytes());
        }
        boolean isFile = Files.isRegularFile(path);
        // O_EXCL on a block device (no O_CREAT) is Linux's exclusive open: EBUSY while mounted or held elsewhere.
        int base = NativeIO.O_RDWR | NativeIO.O_CLOEXEC | (options.dsync() ? NativeIO.O_DSYNC : 0)
                | (options.exclusive() && !isFile ? NativeIO.O_EXCL : 0);
        boolean direct = options.directIo();
        int fd;
        try {
            fd = io.open(name, base | (direct ? NativeIO.O_DIRECT : 0), 0);
        } catch (NativeIOException e) {
            if (e.errno() == Errno.EBUSY && options.exclusive() && !isFile) {
                throw new TargetLockedException(name, TargetHolders.ofBusyDevice(path), "is mounted or opened"
                        + " exclusively by another process (another agent, a file system, LVM or RAID)");
            }
            if (!direct || e.errno() != Errno.EINVAL) {
                throw new BlockDeviceException("open", name, 0, 0, e.errno(), e.getMessage(), e);
            }
            LOG.info(() -> name + ": the file system does not support O_DIRECT (" + Errno.name(e.errno())
                    + ", e.g. tmpfs); using buffered I/O with fdatasync for this target");
            direct = false;
            try {
                fd = io.open(name, base, 0);
            } catch (NativeIOException e2) {
                throw new BlockDeviceException("open", name, 0, 0, e2.errno(), e2.getMessage(), e2);
            }
        }
        try {
            if (options.exclusive() && isFile) {
                lockFile(io, fd, path);
            }
            return describe(io, name, fd, isFile, direct, options);
        } catch (IOException | RuntimeException e) {
            try {
                io.close(fd);
            } catch (NativeIOException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e;
        }
    }

    /** An exclusive flock on the file's open description, held until the device is closed. */
    private static void lockFile(NativeIO io, int fd, Path path) throws IOException {
        try {
            io.flock(fd, NativeIO.LOCK_EX | NativeIO.LOCK_NB);
        } catch (NativeIOException e) {
            if (e.errno() == Errno.EAGAIN) {
                throw new TargetLockedException(path.toString(), TargetHolders.ofLockedFile(path),
                        "is locked by another process (another agent replicating to it?)");
            }
            throw new BlockDeviceException("flock", path.toString(), 0, 0, e.errno(), e.getMessage(), e);
        }
    }

    private static LinuxBlockDevice describe(NativeIO io, String name, int fd, boolean isFile, boolean direct,
                                             BlockDeviceOptions options) throws IOException {
        long size;
        int logical;
        int physical;
        if (isFile) {
            size = Files.size(Path.of(name));
            logical = options.sectorSize() == 0 ? 512 : options.sectorSize();
            physical = logical;
            if (options.createSizeBytes() > 0 && size == options.createSizeBytes()) {
                preallocate(io, name, fd, size);
            }
        } else {
            try {
                size = io.ioctlLong(fd, NativeIO.BLKGETSIZE64);
                logical = io.ioctlInt(fd, NativeIO.BLKSSZGET);
            } catch (NativeIOException e) {
                throw new BlockDeviceException("ioctl", name, 0, 0, e.errno(),
                        "cannot read the size and sector size of this device: " + e.getMessage()
                                + " (is it a block device?)", e);
            }
            try {
                physical = io.ioctlInt(fd, NativeIO.BLKPBSZGET);
            } catch (NativeIOException e) {
                physical = logical; // old kernels: the logical size is the best we know
            }
            if (options.sectorSize() > logical) {
                logical = options.sectorSize();
            }
            physical = Math.max(physical, logical);
        }
        int directAlign = 1;
        if (direct) {
            directAlign = isFile ? probeDirectAlignment(io, fd, size) : logical;
        } else {
            adviseRandom(io, name, fd);
        }
        int ioAlign = Math.max(logical, directAlign);
        boolean directFinal = direct;
        String line = name + ": " + size + " bytes, sectors " + logical + "/" + ioAlign
                + (directFinal ? ", O_DIRECT" : ", buffered");
        LOG.fine(line);
        return new LinuxBlockDevice(io, name, fd, size, logical, physical, direct, !isFile, ioAlign,
                AlignedBufferPool.SHARED);
    }

    /**
     * The alignment O_DIRECT needs on this file: 512 when a 512-byte aligned read at 0 works, else 4096 (a file
     * system on a 4Kn disk). A read changes nothing, so probing is safe on a live target.
     */
    private static int probeDirectAlignment(NativeIO io, int fd, long size) throws IOException {
        if (size < 4096) {
            return 4096;
        }
        ByteBuffer b = AlignedBufferPool.SHARED.acquire(512);
        try {
            io.pread(fd, b, 512, 512);
            return 512;
        } catch (NativeIOException e) {
            if (e.errno() == Errno.EINVAL) {
                return 4096;
            }
            throw new BlockDeviceException("pread", "fd " + fd, 512, 512, e.errno(), e.getMessage(), e);
        } finally {
            AlignedBufferPool.SHARED.release(b);
        }
    }

    /** Allocates a new file's blocks up front: O_DIRECT writes into allocated extents need no metadata update. */
    private static void preallocate(NativeIO io, String name, int fd, long size) {
        try {
            io.fallocate(fd, 0, 0, size);
        } catch (NativeIOException e) {
            // Optional: a sparse file works, just with allocation on first write (EOPNOTSUPP on some file systems).
            LOG.fine(() -> name + ": fallocate not used: " + e.getMessage());
        }
    }

    /** The applier writes scattered ranges: read-ahead on a buffered target only costs (posix_fadvise RANDOM). */
    private static void adviseRandom(NativeIO io, String name, int fd) {
        try {
            io.posixFadvise(fd, 0, 0, NativeIO.POSIX_FADV_RANDOM);
        } catch (NativeIOException e) {
            LOG.fine(() -> name + ": posix_fadvise not used: " + e.getMessage());
        }
    }

    @Override
    public long size() { return size; }

    @Override
    public int logicalSectorSize() { return logicalSector; }

    @Override
    public int physicalSectorSize() { return physicalSector; }

    @Override
    public String path() { return path; }

    @Override
    public boolean directIo() { return direct; }

    /** True when opened on a block device node (sizes from ioctl), false for a file. */
    public boolean isBlockDevice() { return blockDevice; }

    /** The unit each system call is aligned to; writes not aligned to it take the read-modify-write path. */
    public int ioAlignment() { return ioAlignment; }

    @Override
    public void read(long offset, ByteBuffer dst) throws IOException {
        int length = dst.remaining();
        checkUsable("read", offset, length);
        if (length == 0) {
            return;
        }
        if (offset % ioAlignment == 0 && length % ioAlignment == 0 && usableDirectly(dst)) {
            readFully(offset, dst, offset, length);
            return;
        }
        // Unaligned range or buffer: read the covering aligned range through a bounce buffer, piece by piece.
        long pos = offset;
        long end = offset + length;
        int chunk = Math.max(BOUNCE_CHUNK, ioAlignment);
        ByteBuffer bounce = pool.acquire(chunk);
        try {
            while (pos < end) {
                long alignedStart = floor(pos);
                long alignedEnd = Math.min(ceil(end), alignedStart + chunk);
                bounce.clear().limit((int) (alignedEnd - alignedStart));
                readFully(alignedStart, bounce, offset, length);
                int from = (int) (pos - alignedStart);
                int n = (int) (Math.min(end, alignedEnd) - pos);
                bounce.limit(from + n).position(from);
                dst.put(bounce);
                pos += n;
            }
        } finally {
            pool.release(bounce);
        }
    }

    @Override
    public void write(long offset, ByteBuffer src) throws IOException {
        int length = src.remaining();
        checkUsable("write", offset, length);
        if (offset % 512 != 0 || length % 512 != 0) {
            throw new BlockDeviceException("write", path, offset, length, -1, BlockDeviceException.Failure.ALIGNMENT,
                    "offset and length must be multiples of 512", null);
        }
        if (length == 0) {
            return;
        }
        long start = floor(offset);
        long end = ceil(offset + length);
        boolean rmw = start != offset || end != offset + length;
        // Only a device that can read-modify-write needs the range lock: with ioAlignment 512 no write spans
        // another write's partial sector, so the uncontended common case takes no lock at all.
        boolean lock = ioAlignment > 512;
        if (lock) {
            ranges.lockUninterruptibly(start, end);
        }
        try {
            if (rmw) {
                readModifyWrite(offset, src, start, end);
            } else if (usableDirectly(src)) {
                writeFully(offset, src, offset, length);
            } else {
                writeBounced(offset, src);
            }
        } finally {
            if (lock) {
                ranges.unlock(start, end);
            }
        }
    }

    private void writeBounced(long offset, ByteBuffer src) throws IOException {
        int length = src.remaining();
        ByteBuffer bounce = pool.acquire(Math.min(length, BOUNCE_CHUNK));
        try {
            long pos = offset;
            ByteBuffer rest = src.duplicate();
            while (rest.hasRemaining()) {
                int n = Math.min(rest.remaining(), BOUNCE_CHUNK);
                bounce.clear().limit(n);
                bounce.put(rest.duplicate().limit(rest.position() + n)).flip();
                rest.position(rest.position() + n);
                writeFully(pos, bounce, offset, length);
                pos += n;
            }
            src.position(src.limit());
        } finally {
            pool.release(bounce);
        }
    }

    /** Reads the partial head and tail sectors of [start, end), overlays {@code src}, writes the whole range. */
    private void readModifyWrite(long offset, ByteBuffer src, long start, long end) throws IOException {
        int length = src.remaining();
        int span = (int) (end - start);
        ByteBuffer buf = pool.acquire(span);
        try {
            if (start != offset) {
                buf.clear().limit(ioAlignment);
                readFully(start, buf, offset, length);
            }
            long tail = end - ioAlignment;
            if (end != offset + length && (tail != start || start == offset)) {
                buf.clear().position((int) (tail - start)).limit(span);
                readFully(tail, buf, offset, length);
            }
            buf.clear().limit(span).position((int) (offset - start));
            buf.put(src);
            buf.clear().limit(span);
            writeFully(start, buf, offset, length);
        } finally {
            pool.release(buf);
        }
    }

    @Override
    public void flush() throws IOException {
        checkOpen("flush", 0, size);
        for (int attempt = 0; ; attempt++) {
            try {
                io.fdatasync(fd);
                return;
            } catch (NativeIOException e) {
                if (e.errno() == Errno.EINTR && attempt < MAX_EINTR) {
                    continue;
                }
                throw new BlockDeviceException("flush", path, 0, size, e.errno(), e.getMessage(), e);
            }
        }
    }

    @Override
    public void close() throws IOException {
        if (closed.compareAndSet(false, true)) {
            try {
                io.close(fd);
            } catch (NativeIOException e) {
                throw new BlockDeviceException("close", path, 0, 0, e.errno(), e.getMessage(), e);
            }
        }
    }

    /** pread until {@code buf} is full; {@code reqOffset/reqLength} is the caller's request, for messages. */
    private void readFully(long pos, ByteBuffer buf, long reqOffset, int reqLength) throws IOException {
        int eintr = 0;
        while (buf.hasRemaining()) {
            long n;
            try {
                n = io.pread(fd, buf, buf.remaining(), pos);
            } catch (NativeIOException e) {
                if (e.errno() == Errno.EINTR && ++eintr < MAX_EINTR) {
                    continue;
                }
                throw new BlockDeviceException("read", path, reqOffset, reqLength, e.errno(),
                        e.getMessage() + " at device offset " + pos, e);
            }
            if (n == 0) {
                throw new BlockDeviceException("read", path, reqOffset, reqLength, -1,
                        BlockDeviceException.Failure.SHORT_TRANSFER, "end of device at offset " + pos
                                + " (size " + size + "; did the device shrink?)", null);
            }
            checkContinuable("read", n, pos, reqOffset, reqLength, buf);
            buf.position(buf.position() + (int) n);
            pos += n;
        }
    }

    private void writeFully(long pos, ByteBuffer buf, long reqOffset, int reqLength) throws IOException {
        int eintr = 0;
        while (buf.hasRemaining()) {
            long n;
            try {
                n = io.pwrite(fd, buf, buf.remaining(), pos);
            } catch (NativeIOException e) {
                if (e.errno() == Errno.EINTR && ++eintr < MAX_EINTR) {
                    continue;
                }
                throw new BlockDeviceException("write", path, reqOffset, reqLength, e.errno(),
                        e.getMessage() + " at device offset " + pos, e);
            }
            if (n == 0) {
                throw new BlockDeviceException("write", path, reqOffset, reqLength, -1,
                        BlockDeviceException.Failure.SHORT_TRANSFER, "the device accepted 0 of " + buf.remaining()
                                + " bytes at offset " + pos, null);
            }
            checkContinuable("write", n, pos, reqOffset, reqLength, buf);
            buf.position(buf.position() + (int) n);
            pos += n;
        }
    }

    /** Under O_DIRECT a transfer that stopped off the alignment cannot be continued: raise it with context. */
    private void checkContinuable(String op, long n, long pos, long reqOffset, int reqLength, ByteBuffer buf)
            throws BlockDeviceException {
        if (n > buf.remaining()) {
            throw new BlockDeviceException(op, path, reqOffset, reqLength, -1, BlockDeviceException.Failure.OTHER,
                    "the system call reported " + n + " bytes for a request of " + buf.remaining(), null);
        }
        if (direct && n < buf.remaining() && n % ioAlignment != 0) {
            throw new BlockDeviceException(op, path, reqOffset, reqLength, -1,
                    BlockDeviceException.Failure.SHORT_TRANSFER, "short " + op + " of " + n + " of " + buf.remaining()
                            + " bytes at offset " + pos + " stopped off the " + ioAlignment + "-byte alignment", null);
        }
    }

    private boolean usableDirectly(ByteBuffer b) {
        return b.isDirect() && (!direct || AlignedBufferPool.isAligned(b, ioAlignment));
    }

    private long floor(long pos) {
        return pos - Math.floorMod(pos, ioAlignment);
    }

    private long ceil(long pos) {
        long r = Math.floorMod(pos, ioAlignment);
        return r == 0 ? pos : pos + (ioAlignment - r);
    }

    private void checkUsable(String op, long offset, int length) throws BlockDeviceException {
        checkOpen(op, offset, length);
        // offset + length cannot overflow: length is an int and offset is checked against size first.
        if (offset < 0 || offset > size || length > size - offset) {
            throw new BlockDeviceException(op, path, offset, length, -1, BlockDeviceException.Failure.OUT_OF_RANGE,
                    "range outside the device (size " + size + ")", null);
        }
    }

    private void checkOpen(String op, long offset, long length) throws BlockDeviceException {
        if (closed.get()) {
            throw new BlockDeviceException(op, path, offset, length, -1, BlockDeviceException.Failure.CLOSED,
                    "the device is closed", null);
        }
    }

    @Override
    public String toString() {
        return "LinuxBlockDevice[" + path + ", size=" + size + ", sectors=" + logicalSector + "/" + physicalSector
                + (direct ? ", O_DIRECT" : ", buffered") + "]";
    }
}
