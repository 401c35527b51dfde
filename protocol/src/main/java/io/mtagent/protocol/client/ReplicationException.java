package io.mtagent.protocol.client;

import io.mtagent.protocol.ErrorCode;
import java.io.IOException;

/**
 * The agent refused something, or the connection failed. {@link #code()} is the agent's error code when the
 * agent sent one (null for local failures such as a lost connection or a certificate mismatch).
 */
public final class ReplicationException extends IOException {
    private final ErrorCode code;

    public ReplicationException(ErrorCode code, String message) {
        super(code == null ? message : code + " (" + code.code() + "): " + message);
        this.code = code;
    }

    public ReplicationException(String message, Throwable cause) {
        super(message, cause);
        this.code = null;
    }

    /** The agent's error code, or null when the failure was local. */
    public ErrorCode code() {
        return code;
    }
}
