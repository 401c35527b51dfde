package io.mtagent.protocol;

/**
 * A violation of SPEC.md found while decoding or handling a frame; carries the ERROR frame that answers it.
 */
public final class ProtocolException extends Exception {
    private final ErrorCode code;
    private final int handle;
    private final long seq;

    public ProtocolException(ErrorCode code, String message) {
        this(code, Protocol.NO_HANDLE, 0, message);
    }

    public ProtocolException(ErrorCode code, int handle, long seq, String message) {
        super(message, null, false, false); // no stack trace: these are expected on bad input and cheap to throw
        this.code = code;
        this.handle = handle;
        this.seq = seq;
    }

    public ErrorCode code() { return code; }
    public int handle() { return handle; }
    public long seq() { return seq; }
}
