package io.mtagent.nativeio.nbd;

import java.io.IOException;

/**
 * A libnbd call failed: libnbd's own message (which names the server, the export or the TLS problem) and its
 * errno (0 when libnbd gave none).
 */
public final class NbdException extends IOException {
    private final int errno;

    public NbdException(String message, int errno) {
        super(message);
        this.errno = errno;
    }

    public int errno() {
        return errno;
    }
}
