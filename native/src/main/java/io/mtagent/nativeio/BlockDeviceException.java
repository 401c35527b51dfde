package io.mtagent.nativeio;

import java.io.IOException;

/**
 * An I/O failure on a block device, carrying what was attempted so the operator can act on it:
 * the operation, the device path, offset, length, (for native implementations) errno or
 * GetLastError ({@code -1} when not known), and a typed {@link Failure} so callers can apply a
 * policy without parsing messages (a media error fails the disk; no space follows the retention policy).
 */
public final class BlockDeviceException extends IOException {

    /** What kind of failure this is, independent of the OS error numbering. */
    public enum Failure {
        /** The device reported an I/O error (EIO, ERROR_CRC, ...): the disk is failing or gone. */
        MEDIA_ERROR,
        /** No space (ENOSPC, EDQUOT, ERROR_DISK_FULL): only possible on file targets and volumes. */
        NO_SPACE,
        /** Permission or read-only (EACCES, EROFS, ERROR_ACCESS_DENIED, ERROR_WRITE_PROTECT). */
        PERMISSION,
        /** Offset, length or buffer not aligned as the device requires; refused before any system call. */
        ALIGNMENT,
        /** The range is outside the device; refused before any system call. */
        OUT_OF_RANGE,
        /** The OS transferred fewer bytes than asked and then nothing more (end of device, vanished device). */
        SHORT_TRANSFER,
        /** The kernel refused an argument (EINVAL): usually an alignment it needs that we did not know about. */
        INVALID_ARGUMENT,
        /** The device was closed. */
        CLOSED,
        /** Anything else. */
        OTHER
    }

    private final String operation;
    private final String path;
    private final long offset;
    private final long length;
    private final int errno;
    private final Failure failure;

    /** A failure typed from its Linux errno (OTHER when {@code errno < 0}). */
    public BlockDeviceException(String operation, String path, long offset, long length, int errno,
                                String reason, Throwable cause) {
        this(operation, path, offset, length, errno, errno >= 0 ? Errno.failure(errno) : Failure.OTHER, reason, cause);
    }

    public BlockDeviceException(String operation, String path, long offset, long length, int errno, Failure failure,
                                String reason, Throwable cause) {
        super(operation + " " + path + " offset=" + offset + " length=" + length
                + (errno >= 0 ? " errno=" + errno : "") + ": " + reason, cause);
        this.operation = operation;
        this.path = path;
        this.offset = offset;
        this.length = length;
        this.errno = errno;
        this.failure = failure;
    }

    public String operation() { return operation; }
    public String path() { return path; }
    public long offset() { return offset; }
    public long length() { return length; }
    /** errno / GetLastError, or -1 when the failure did not come from a system call. */
    public int errno() { return errno; }
    /** The typed kind of failure (never null). */
    public Failure failure() { return failure; }
}
