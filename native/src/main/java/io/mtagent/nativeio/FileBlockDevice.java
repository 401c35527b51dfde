package io.mtagent.nativeio;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Locale;

/**
 * The portable {@link BlockDevice}: a raw device node or a flat image file accessed through a
 * {@link FileChannel} (buffered I/O, {@code force(false)} for flush). The JNA implementations
 * (O_DIRECT / FILE_FLAG_NO_BUFFERING) come later behind the same interface; this one is the
 * fallback and the one tests use.
 *
 * <p>Thread-safety: all I/O is positional ({@code pread}/{@code pwrite}), so concurrent reads and
 * writes from several threads are safe; the channel position is never used.
 *
 * <p>Checks: every range is checked against {@link #size()} before any I/O, and writes must be
 * aligned to 512 bytes (offset and length) like they must be on a real device opened with
 * O_DIRECT, so alignment bugs show up with this implementation too.
 */
public final class FileBlockDevice implements BlockDevice {

    /** Alignment every write must have, whatever the sector size (see {@link BlockDevice}). */
    public static final int WRITE_ALIGNMENT = 512;

    private final Path path;
    private final String name;
    private final FileChannel channel;
    private final long size;
    private final int sectorSize;

    private FileBlockDevice(Path path, FileChannel channel, long size, int sectorSize) {
        this.path = path;
        this.name = path.toString();
        this.channel = channel;
        this.size = size;
        this.sectorSize = sectorSize;
    }

    /**
     * Opens an existing file or device with 512-byte sectors.
     *
     * @throws NoSuchFileException when it does not exist
     */
    public static FileBlockDevice open(Path path) throws IOException {
        return open(path, 0, WRITE_ALIGNMENT);
    }

    /**
     * Opens {@code path} for reading and writing.
     *
     * @param path                the device node or image file
     * @param createSizeIfMissing when the file is missing and this is &gt; 0, the file is created
     *                            with this size (sparse; a multiple of {@code sectorSize}) and the
     *                            parent directory is fsynced so the new name survives a crash; 0
     *                            means "must exist"
     * @param sectorSize          logical and physical sector size reported (512 or 4096)
     * @throws NoSuchFileException when the file is missing and {@code createSizeIfMissing == 0}
     */
    public static FileBlockDevice open(Path path, long createSizeIfMissing, int sectorSize) throws IOException {
        if (sectorSize != 512 && sectorSize != 4096) {
            throw new IllegalArgumentException("sectorSize must be 512 or 4096, got " + sectorSize);
        }
        if (createSizeIfMissing < 0 || createSizeIfMissing % sectorSize != 0) {
            throw new IllegalArgumentException("createSizeIfMissing must be >= 0 and a multiple of "
                    + sectorSize + ", got " + createSizeIfMissing);
        }
        if (!Files.exists(path)) {
            if (createSizeIfMissing == 0) {
                throw new NoSuchFileException(path.toString(), null,
                        "target disk file does not exist (and no size was given to create it)");
            }
            create(path, createSizeIfMissing);
        }
        FileChannel ch = FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE);
        try {
            return new FileBlockDevice(path, ch, ch.size(), sectorSize);
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
    }

    static void create(Path path, long size) throws IOException {
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.CREATE_NEW,
                StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            // Writing the last byte sets the length without writing the rest: sparse where the
            // file system supports it, and no 16 GiB of zeroes through the page cache.
            ch.write(ByteBuffer.allocate(1), size - 1);
            ch.force(true);
        } catch (FileAlreadyExistsException raced) {
            return; // someone else created it in between; open it as it is
        }
        fsyncDirectory(path.toAbsolutePath().getParent());
    }

    /** Makes a new or renamed directory entry durable; a no-op on Windows, which cannot do it. */
    static void fsyncDirectory(Path dir) throws IOException {
        if (dir == null || System.getProperty("os.name", "").toLowerCase(Locale.ROOT).startsWith("windows")) {
            return;
        }
        try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
            d.force(true);
        }
    }

    @Override
    public long size() { return size; }

    @Override
    public int logicalSectorSize() { return sectorSize; }

    @Override
    public int physicalSectorSize() { return sectorSize; }

    @Override
    public String path() { return name; }

    @Override
    public void read(long offset, ByteBuffer dst) throws IOException {
        int length = dst.remaining();
        checkRange("read", offset, length);
        long pos = offset;
        try {
            while (dst.hasRemaining()) {
                int n = channel.read(dst, pos);
                if (n < 0) {
                    throw new BlockDeviceException("read", name, offset, length, -1,
                            BlockDeviceException.Failure.SHORT_TRANSFER, "read past end at " + pos, null);
                }
                pos += n;
            }
        } catch (BlockDeviceException e) {
            throw e;
        } catch (IOException e) {
            throw new BlockDeviceException("read", name, offset, length, -1, String.valueOf(e.getMessage()), e);
        }
    }

    @Override
    public void write(long offset, ByteBuffer src) throws IOException {
        int length = src.remaining();
        checkRange("write", offset, length);
        if (offset % WRITE_ALIGNMENT != 0 || length % WRITE_ALIGNMENT != 0) {
            throw new BlockDeviceException("write", name, offset, length, -1, BlockDeviceException.Failure.ALIGNMENT,
                    "offset and length must be multiples of " + WRITE_ALIGNMENT, null);
        }
        long pos = offset;
        try {
            while (src.hasRemaining()) {
                pos += channel.write(src, pos);
            }
        } catch (IOException e) {
            throw new BlockDeviceException("write", name, offset, length, -1, classify(e), String.valueOf(e.getMessage()), e);
        }
    }

    @Override
    public void flush() throws IOException {
        try {
            channel.force(false);
        } catch (IOException e) {
            throw new BlockDeviceException("flush", name, 0, size, -1, String.valueOf(e.getMessage()), e);
        }
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }

    /** The JDK reports errno only as strerror text: enough to tell the two failures callers act on. */
    static BlockDeviceException.Failure classify(IOException e) {
        String m = String.valueOf(e.getMessage());
        if (m.contains("No space left on device") || m.contains("Disk quota exceeded")) {
            return BlockDeviceException.Failure.NO_SPACE;
        }
        if (m.contains("Input/output error")) {
            return BlockDeviceException.Failure.MEDIA_ERROR;
        }
        return BlockDeviceException.Failure.OTHER;
    }

    private void checkRange(String op, long offset, int length) throws BlockDeviceException {
        // offset + length cannot overflow: length is an int and offset is checked against size first.
        if (offset < 0 || offset > size || length > size - offset) {
            throw new BlockDeviceException(op, name, offset, length, -1, BlockDeviceException.Failure.OUT_OF_RANGE,
                    "range outside the device (size " + size + ")", null);
        }
    }

    @Override
    public String toString() {
        return "FileBlockDevice[" + name + ", size=" + size + ", sector=" + sectorSize + "]";
    }
}
