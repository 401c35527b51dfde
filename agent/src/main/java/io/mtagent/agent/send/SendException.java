package io.mtagent.agent.send;

/**
 * A bad input found before anything was sent: a missing bitmap, a server without the metadata context, a size
 * mismatch, an unreachable or TLS-failing server. The message is one line naming the disk, the source and the fix.
 */
public final class SendException extends Exception {
    public SendException(String message) {
        super(message);
    }

    public SendException(String message, Throwable cause) {
        super(message, cause);
    }
}
