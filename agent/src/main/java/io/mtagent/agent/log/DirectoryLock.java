package io.mtagent.agent.log;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * An exclusive lock on a log directory ({@code lock} file), held while a log is open, so an offline tool
 * (export, verify) can never run recovery — which may truncate a tail — under a running agent, and two agents
 * can never share a cache or retention directory. Released on {@link #close()} or when the process dies.
 */
public final class DirectoryLock implements AutoCloseable {
    private final FileChannel channel;
    private final FileLock lock;

    private DirectoryLock(FileChannel channel, FileLock lock) {
        this.channel = channel;
        this.lock = lock;
    }

    /** @throws IOException naming the directory when another process (or this one) holds it */
    public static DirectoryLock acquire(Path dir) throws IOException {
        FileChannel ch = FileChannel.open(dir.resolve(LogFileNames.LOCK), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
        FileLock l;
        try {
            l = ch.tryLock();
        } catch (OverlappingFileLockException e) {
            l = null;
        }
        if (l == null) {
            ch.close();
            throw new IOException(dir + " is in use by a running agent (or another tool); stop the agent first, or"
                    + " use the control API while it runs");
        }
        return new DirectoryLock(ch, l);
    }

    @Override
    public void close() throws IOException {
        try {
            lock.release();
        } finally {
            channel.close();
        }
    }
}
