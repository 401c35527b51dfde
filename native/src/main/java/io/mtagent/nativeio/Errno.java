package io.mtagent.nativeio;

/**
 * The Linux errno values mtagent reacts to (asm-generic/errno-base.h, errno.h; identical on x86_64 and
 * aarch64), their symbolic names for messages, and what each one means to a {@link BlockDevice} caller.
 */
public final class Errno {
    public static final int EPERM = 1;
    public static final int ENOENT = 2;
    public static final int EINTR = 4;
    public static final int EIO = 5;
    public static final int ENXIO = 6;
    public static final int EBADF = 9;
    public static final int EAGAIN = 11;
    public static final int ENOMEM = 12;
    public static final int EACCES = 13;
    public static final int EFAULT = 14;
    public static final int EBUSY = 16;
    public static final int EEXIST = 17;
    public static final int ENODEV = 19;
    public static final int EISDIR = 21;
    public static final int EINVAL = 22;
    public static final int ENOTTY = 25;
    public static final int EFBIG = 27;
    public static final int ENOSPC = 28;
    public static final int EROFS = 30;
    public static final int ENOSYS = 38;
    public static final int EOPNOTSUPP = 95;
    public static final int EDQUOT = 122;

    private Errno() {
    }

    /** "EIO" for 5, "errno 1234" for values not in the table. */
    public static String name(int errno) {
        switch (errno) {
            case EPERM: return "EPERM (operation not permitted)";
            case ENOENT: return "ENOENT (no such file or directory)";
            case EINTR: return "EINTR (interrupted system call)";
            case EIO: return "EIO (input/output error)";
            case ENXIO: return "ENXIO (no such device or address)";
            case EBADF: return "EBADF (bad file descriptor)";
            case EAGAIN: return "EAGAIN (try again)";
            case ENOMEM: return "ENOMEM (out of memory)";
            case EACCES: return "EACCES (permission denied)";
            case EFAULT: return "EFAULT (bad address)";
            case EBUSY: return "EBUSY (device or resource busy)";
            case EEXIST: return "EEXIST (file exists)";
            case ENODEV: return "ENODEV (no such device)";
            case EISDIR: return "EISDIR (is a directory)";
            case EINVAL: return "EINVAL (invalid argument)";
            case ENOTTY: return "ENOTTY (inappropriate ioctl for device)";
            case EFBIG: return "EFBIG (file too large)";
            case ENOSPC: return "ENOSPC (no space left on device)";
            case EROFS: return "EROFS (read-only file system)";
            case ENOSYS: return "ENOSYS (function not implemented)";
            case EOPNOTSUPP: return "EOPNOTSUPP (operation not supported)";
            case EDQUOT: return "EDQUOT (disk quota exceeded)";
            default: return "errno " + errno;
        }
    }

    /** What a failed call with this errno means for the device. */
    public static BlockDeviceException.Failure failure(int errno) {
        switch (errno) {
            case EIO:
            case ENXIO:
            case ENODEV:
                return BlockDeviceException.Failure.MEDIA_ERROR;
            case ENOSPC:
            case EDQUOT:
            case EFBIG:
                return BlockDeviceException.Failure.NO_SPACE;
            case EPERM:
            case EACCES:
            case EROFS:
                return BlockDeviceException.Failure.PERMISSION;
            case EINVAL:
                return BlockDeviceException.Failure.INVALID_ARGUMENT;
            case EBADF:
                return BlockDeviceException.Failure.CLOSED;
            default:
                return BlockDeviceException.Failure.OTHER;
        }
    }
}
