package io.mtagent.protocol;

/**
 * Frame type bytes (SPEC.md §5). C = process server (client), A = agent. The byte values are stable.
 */
public enum FrameType {
    HELLO(0x01), CHALLENGE(0x02), AUTH_PROOF(0x03), AUTH_OK(0x04),
    OPEN_DISK(0x10), DISK_OPENED(0x11), CLOSE_DISK(0x12), DISK_CLOSED(0x13),
    WRITE(0x20), TAG(0x21),
    ACK(0x30), CREDIT(0x31),
    ERROR(0x40),
    PING(0x50), PONG(0x51),
    // Version 2 (SPEC.md §12): resynchronisation and online verify.
    RESYNC_START(0x22, 2), RESYNC_PROGRESS(0x23, 2), RESYNC_END(0x24, 2), RESYNC_STATE(0x32, 2),
    CHECKSUM_REQUEST(0x60, 2), CHECKSUMS(0x61, 2);

    private final int code;
    private final int sinceVersion;

    FrameType(int code) {
        this(code, Protocol.VERSION_1);
    }

    FrameType(int code, int sinceVersion) {
        this.code = code;
        this.sinceVersion = sinceVersion;
    }

    public int code() { return code; }
    /** The protocol version that defined this type; a session of an older version treats it as unknown. */
    public int sinceVersion() { return sinceVersion; }

    private static final FrameType[] BY_CODE = new FrameType[256];
    static {
        for (FrameType t : values()) {
            BY_CODE[t.code] = t;
        }
    }

    /** The type for a wire byte, or null for an unknown one. */
    public static FrameType of(int code) {
        return BY_CODE[code & 0xff];
    }
}
