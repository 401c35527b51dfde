package io.mtagent.protocol;

/**
 * Protocol-wide constants of the 9443 stream (SPEC.md is normative; this mirrors it).
 *
 * <p>Every frame is {@code length:u32 type:u8 body}, big-endian; {@code length} counts the type byte and the
 * body. Lengths are checked against the cap in force <em>before</em> any body byte is buffered: until the
 * handshake completes the cap is {@link #HANDSHAKE_MAX_FRAME_LENGTH}, afterwards the value the agent announced
 * in {@code AUTH_OK}.
 */
public final class Protocol {
    /**
     * "MTA2": first field of HELLO, so a stray client of another protocol is refused at once. It names the handshake
     * generation: SPEC.md revision 3 changed the proofs to the SCRAM-SHA-256 key scheme together with this value.
     */
    public static final int MAGIC = 0x4D544132;
    /** "MTAG": the HELLO magic of clients built before SPEC.md revision 3 (K-based proofs); refused with a reason. */
    public static final int LEGACY_MAGIC = 0x4D544147;
    public static final int VERSION_1 = 1;
    /** Adds resynchronisation and online verify (SPEC.md §12). */
    public static final int VERSION_2 = 2;
    public static final int MIN_VERSION = VERSION_1;
    public static final int MAX_VERSION = VERSION_2;

    /** An authenticated connection on which A received nothing for this long is closed (SPEC.md §5.14). */
    public static final int IDLE_TIMEOUT_SECONDS = 120;
    /** C sends a PING when it has sent nothing for this long (SPEC.md §5.14). */
    public static final int KEEPALIVE_SECONDS = 30;

    public static final int LENGTH_FIELD_LENGTH = 4;
    /** Frame cap before authentication: an unauthenticated peer can make us buffer at most this. */
    public static final int HANDSHAKE_MAX_FRAME_LENGTH = 1024;
    /** Default largest uncompressed WRITE payload. */
    public static final int DEFAULT_MAX_WRITE_BYTES = 1 << 20;
    /** WRITE header bytes after the type byte: handle, seq, timestamp, offset, length, crc, flags. */
    public static final int WRITE_HEADER_LENGTH = 4 + 8 + 8 + 8 + 4 + 4 + 1;
    /** Frame length needed to carry a WRITE of {@code maxWriteBytes} uncompressed bytes. */
    public static int maxFrameLengthFor(int maxWriteBytes) {
        return 1 + WRITE_HEADER_LENGTH + maxWriteBytes;
    }

    /** Writes must be aligned to this (offset and length), whatever the target's sector size. */
    public static final int WRITE_ALIGNMENT = 512;

    public static final int MAX_DISK_ID_BYTES = 256;
    public static final int MAX_NAME_BYTES = 128;
    public static final int MAX_TAG_NAME_BYTES = 256;
    public static final int MAX_ERROR_MESSAGE_BYTES = 1024;
    public static final int MAX_SALT_BYTES = 64;
    /** Handle value meaning "no disk" in ERROR frames. */
    public static final int NO_HANDLE = 0xFFFFFFFF;

    /** WRITE flag bit 0: the data is one raw LZ4 block (no length prefix) of exactly {@code length} bytes. */
    public static final int FLAG_LZ4 = 0x01;
    /**
     * WRITE flag bit 1 (version 2 only): a resync write, sent between RESYNC_START and RESYNC_END (SPEC.md §12).
     * A v1 session refuses the bit as reserved.
     */
    public static final int FLAG_RESYNC = 0x02;

    private Protocol() {
    }
}
