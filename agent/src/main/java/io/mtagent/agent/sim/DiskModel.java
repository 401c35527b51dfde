package io.mtagent.agent.sim;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;

/**
 * An independent in-memory model of a target disk: what its bytes must be after the writes applied to it.
 * The demo and the tests compare the real target against it byte for byte. Not thread-safe: one writer.
 */
public final class DiskModel {
    private final byte[] content;

    public DiskModel(int sizeBytes) {
        this.content = new byte[sizeBytes];
    }

    public int size() {
        return content.length;
    }

    public void apply(long offset, byte[] data) {
        System.arraycopy(data, 0, content, (int) offset, data.length);
    }

    /** A copy of the current content. */
    public byte[] snapshot() {
        return content.clone();
    }

    /**
     * Compares the file's first {@link #size()} bytes with the model.
     *
     * @return -1 if equal, otherwise the first differing byte offset
     */
    public long firstDifference(Path file) throws IOException {
        return firstDifference(content, file);
    }

    public static long firstDifference(byte[] expected, Path file) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            ByteBuffer buf = ByteBuffer.allocate(1 << 20);
            long pos = 0;
            while (pos < expected.length) {
                buf.clear().limit((int) Math.min(buf.capacity(), expected.length - pos));
                int n = ch.read(buf, pos);
                if (n < 0) {
                    return pos;
                }
                int mismatch = Arrays.mismatch(buf.array(), 0, n, expected, (int) pos, (int) pos + n);
                if (mismatch >= 0) {
                    return pos + mismatch;
                }
                pos += n;
            }
            return -1;
        }
    }
}
