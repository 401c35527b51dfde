package io.mtagent.nativeio;

import java.io.IOException;

/** A failed system call: its name, the errno (or GetLastError) it returned, and what it was called on. */
public final class NativeIOException extends IOException {
    private final String call;
    private final int errno;

    public NativeIOException(String call, int errno, String context) {
        super(call + " failed: " + Errno.name(errno) + (context == null || context.isEmpty() ? "" : " (" + context + ")"));
        this.call = call;
        this.errno = errno;
    }

    public String call() { return call; }
    public int errno() { return errno; }
}
