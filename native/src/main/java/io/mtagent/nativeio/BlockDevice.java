package io.mtagent.nativeio;

import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * A target block device or image file, addressed by byte offset.
 *
 * <p>Durability: data passed to {@link #write} is durable only after {@link #flush()} returns
 * (fdatasync / FlushFileBuffers). Callers that promise durability (the applier persisting its
 * applied point) must call {@code flush()} first.
 *
 * <p>Thread-safety: implementations allow concurrent positional reads and writes of disjoint
 * ranges from several threads; ordering between overlapping ranges is the caller's job (the
 * applier is the only writer of a disk).
 */
public interface BlockDevice extends Closeable {

    /** Size in bytes; offsets and lengths must stay within it. */
    long size();

    /** The smallest addressable unit (512 or 4096); writes must be aligned to 512 in any case. */
    int logicalSectorSize();

    /** The device's physical sector (the unit it writes atomically); at least the logical size. */
    int physicalSectorSize();

    /** A human-readable name for errors and logs (the path it was opened from). */
    String path();

    /**
     * Reads exactly {@code dst.remaining()} bytes starting at {@code offset}; short reads are retried.
     *
     * @throws BlockDeviceException with the operation, path, offset and length on failure or EOF
     */
    void read(long offset, ByteBuffer dst) throws IOException;

    /**
     * Writes all of {@code src.remaining()} bytes at {@code offset}; short writes are retried.
     * Not durable until {@link #flush()}.
     */
    void write(long offset, ByteBuffer src) throws IOException;

    /** Makes every completed write durable (fdatasync semantics). */
    void flush() throws IOException;

    /** True when writes bypass the OS page cache (O_DIRECT / FILE_FLAG_NO_BUFFERING). */
    default boolean directIo() {
        return false;
    }
}
