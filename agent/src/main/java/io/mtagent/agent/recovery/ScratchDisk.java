package io.mtagent.agent.recovery;

import io.mtagent.agent.journal.PointInTimeView;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.BitSet;
import java.util.Set;

/**
 * A writable disk for a test failover: a point-in-time view underneath, the writes on top in a scratch file,
 * copy-on-write in blocks of {@link #BLOCK_BYTES}. Neither the target nor the retention journal is ever written:
 * the view only reads them, and every write lands in the scratch file.
 *
 * <p>Scratch file format: a sparse file the size of the disk; block {@code i} holds the disk's bytes
 * [{@code i × BLOCK_BYTES}, +BLOCK_BYTES) once it was written (the in-memory bitmap says which). A block is
 * allocated on its first write: a partial write copies the rest of the block from the view first. It is created
 * private (0600) and new ({@code CREATE_NEW}), and deleted by {@link #close}. Nothing about it is durable: a test
 * failover does not survive a restart of the agent, which deletes leftover scratch files at start.
 *
 * <p>Cap: at most {@code capBytes} of blocks are allocated; a write that needs more is refused whole with
 * {@link ScratchFullException} (ENOSPC to the NBD client), before any byte of it is written.
 *
 * <p>Thread-safe: writes are serialised; reads run alongside them and see each block either before or after a
 * concurrent write to it (as a disk would).
 */
public final class ScratchDisk implements AutoCloseable {
    /** Copy-on-write unit: a 4 KiB guest write costs a 64 KiB copy at most; 2 MiB of bitmap per TiB of disk. */
    public static final int BLOCK_BYTES = 64 << 10;

    private final PointInTimeView view;
    private final Path file;
    private final FileChannel channel;
    private final long size;
    private final long capBytes;
    // Guarded by this.
    private final BitSet allocated;
    private long allocatedBytes;

    /**
     * Creates the scratch file {@code file} (it must not exist) over {@code view}.
     *
     * @param capBytes most bytes of scratch blocks the test may write (rounded down to whole blocks)
     */
    public ScratchDisk(PointInTimeView view, Path file, long capBytes) throws IOException {
        this.view = view;
        this.file = file;
        this.size = view.size();
        this.capBytes = capBytes;
        this.allocated = new BitSet((int) Math.min(Integer.MAX_VALUE, (size + BLOCK_BYTES - 1) / BLOCK_BYTES));
        FileAttribute<?>[] privateFile = FileSystems.getDefault().supportedFileAttributeViews().contains("posix")
                ? new FileAttribute<?>[] {PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------"))}
                : new FileAttribute<?>[0];
        this.channel = FileChannel.open(file, Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.READ,
                StandardOpenOption.WRITE), privateFile);
        try (RandomAccessFile sizer = new RandomAccessFile(file.toFile(), "rw")) {
            sizer.setLength(size); // sparse: only written blocks take space
        } catch (IOException | RuntimeException e) {
            close();
            throw e;
        }
    }

    public long size() {
        return size;
    }

    public PointInTimeView view() {
        return view;
    }

    public Path file() {
        return file;
    }

    public long capBytes() {
        return capBytes;
    }

    /** Bytes of scratch blocks written so far (what counts against the cap). */
    public synchronized long usedBytes() {
        return allocatedBytes;
    }

    /** Reads [offset, offset + dst.remaining()): written blocks from the scratch file, the rest from the view. */
    public void read(long offset, ByteBuffer dst) throws IOException {
        ByteBuffer out = dst.slice();
        long end = offset + out.remaining();
        long pos = offset;
        while (pos < end) {
            long block = pos / BLOCK_BYTES;
            boolean inScratch = isAllocated(block);
            long runEnd = pos;
            // The run of blocks in the same state.
            while (runEnd < end && isAllocated(runEnd / BLOCK_BYTES) == inScratch) {
                runEnd = Math.min(end, (runEnd / BLOCK_BYTES + 1) * BLOCK_BYTES);
            }
            ByteBuffer part = out.duplicate().position((int) (pos - offset)).limit((int) (runEnd - offset)).slice();
            if (inScratch) {
                readFully(part, pos);
            } else {
                view.read(pos, part);
            }
            pos = runEnd;
        }
    }

    /**
     * Writes {@code src} at {@code offset}; blocks written for the first time take the rest of their bytes from
     * the view.
     *
     * @throws ScratchFullException when the new blocks would exceed the cap (nothing is written then)
     */
    public synchronized void write(long offset, ByteBuffer src) throws IOException {
        long end = offset + src.remaining();
        checkRange(offset, end);
        long first = offset / BLOCK_BYTES;
        long last = (end - 1) / BLOCK_BYTES;
        long fresh = 0;
        for (long b = first; b <= last; b++) {
            if (!allocated.get((int) b)) {
                fresh++;
            }
        }
        if (allocatedBytes + fresh * BLOCK_BYTES > capBytes) {
            throw new ScratchFullException("the test failover's scratch space is full: " + allocatedBytes + " of "
                    + capBytes + " bytes used, this write needs " + fresh * BLOCK_BYTES + " more (raise the cap with"
                    + " --scratch-cap or testfailover.scratch.max.bytes)");
        }
        for (long b = first; b <= last; b++) {
            long blockStart = b * BLOCK_BYTES;
            long blockEnd = Math.min(size, blockStart + BLOCK_BYTES);
            if (!allocated.get((int) b) && (offset > blockStart || end < blockEnd)) {
                // First write to a block it does not cover whole: the rest of the block comes from the view.
                ByteBuffer base = ByteBuffer.allocate((int) (blockEnd - blockStart));
                view.read(blockStart, base);
                writeFully(base, blockStart);
            }
        }
        writeFully(src.duplicate(), offset);
        for (long b = first; b <= last; b++) {
            if (!allocated.get((int) b)) {
                allocated.set((int) b);
                allocatedBytes += BLOCK_BYTES;
            }
        }
    }

    /** Writes zeros over [offset, offset + length), in pieces of at most 1 MiB. */
    public void writeZeroes(long offset, long length) throws IOException {
        checkRange(offset, offset + length);
        ByteBuffer zeros = ByteBuffer.allocate((int) Math.min(length, 1 << 20));
        for (long pos = offset; pos < offset + length; ) {
            int n = (int) Math.min(zeros.capacity(), offset + length - pos);
            write(pos, zeros.clear().limit(n));
            pos += n;
        }
    }

    private synchronized boolean isAllocated(long block) {
        return allocated.get((int) block);
    }

    private void checkRange(long offset, long end) {
        if (offset < 0 || end > size || end < offset) {
            throw new IllegalArgumentException("range " + offset + ".." + end + " is outside the disk (" + size
                    + " bytes)");
        }
    }

    private void readFully(ByteBuffer dst, long pos) throws IOException {
        long at = pos;
        while (dst.hasRemaining()) {
            int n = channel.read(dst, at);
            if (n < 0) {
                throw new IOException("scratch file " + file + " ends at " + at);
            }
            at += n;
        }
    }

    private void writeFully(ByteBuffer src, long pos) throws IOException {
        long at = pos;
        while (src.hasRemaining()) {
            at += channel.write(src, at);
        }
    }

    /** Closes and deletes the scratch file: the test's writes are gone. */
    @Override
    public void close() throws IOException {
        try {
            channel.close();
        } finally {
            Files.deleteIfExists(file);
        }
    }
}
