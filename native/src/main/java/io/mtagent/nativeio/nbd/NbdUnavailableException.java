package io.mtagent.nativeio.nbd;

/** libnbd could not be loaded on this machine: the message names the package to install. */
public final class NbdUnavailableException extends RuntimeException {
    NbdUnavailableException(String message, Throwable cause) {
        super(message, cause);
    }
}
