package io.mtagent.nativeio.nbd;

/** {@code length} bytes at {@code offset} of an export. */
public record ByteRange(long offset, long length) {
    public ByteRange {
        if (offset < 0 || length <= 0) {
            throw new IllegalArgumentException("range " + offset + "+" + length + ": offset must be >= 0, length > 0");
        }
    }

    public long end() {
        return offset + length;
    }
}
