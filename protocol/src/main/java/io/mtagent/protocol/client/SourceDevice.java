package io.mtagent.protocol.client;

import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * The source side of a resync: a disk image or block device the process server reads chunks from. Implementations
 * must allow positional reads from one thread at a time at least.
 */
public interface SourceDevice extends Closeable {
    /** Size in bytes. */
    long size() throws IOException;

    /** Reads exactly {@code dst.remaining()} bytes at {@code offset}. */
    void read(long offset, ByteBuffer dst) throws IOException;

    /** A file or block device opened read-only (its size is the channel's, which Linux reports for devices too). */
    static SourceDevice open(Path path) throws IOException {
        FileChannel ch = FileChannel.open(path, StandardOpenOption.READ);
        return new SourceDevice() {
            @Override
            public long size() throws IOException {
                return ch.size();
            }

            @Override
            public void read(long offset, ByteBuffer dst) throws IOException {
                long pos = offset;
                while (dst.hasRemaining()) {
                    int n = ch.read(dst, pos);
                    if (n < 0) {
                        throw new IOException(path + ": end of file at " + pos + " while reading " + dst.remaining()
                                + " more bytes");
                    }
                    pos += n;
                }
            }

            @Override
            public void close() throws IOException {
                ch.close();
            }
        };
    }
}
