package io.mtagent.nativeio;

import java.io.IOException;

/**
 * An I/O failure on a block device, carrying what was attempted so the operator can act on it:
 * the operation, the device path, offset, length and (for native implementations) errno or
 * GetLastError ({@code -1} when not known).
 */
public final class BlockDeviceException extends IOException {
    private final String operation;
    private final String path;
    private final long offset;
    private final long length;
    private final int errno;

    public BlockDeviceException(String operation, String path, long offset, long length, int errno,
                                String reason, Throwable cause) {
        super(operation + " " + path + " offset=" + offset + " length=" + length
                + (errno >= 0 ? " errno=" + errno : "") + ": " + reason, cause);
        this.operation = operation;
        this.path = path;
        this.offset = offset;
        this.length = length;
        this.errno = errno;
    }

    public String operation() { return operation; }
    public String path() { return path; }
    public long offset() { return offset; }
    public long length() { return length; }
    /** errno / GetLastError, or -1 when the failure did not come from a system call. */
    public int errno() { return errno; }
}
