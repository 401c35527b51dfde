package io.mtagent.agent.log;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Small metadata files replaced atomically and durably: write {@code name.tmp}, fsync it, rename over the
 * target, fsync the directory (Kafka's {@code CheckpointFile}/{@code flushDir}). After a crash the file holds
 * either the old or the new content, never a mix, and a completed {@link #write} survives power loss.
 * Thread-safe for distinct targets; callers serialise writes of the same target.
 */
public final class AtomicFile {
    private AtomicFile() {
    }

    public static void write(Path target, byte[] content) throws IOException {
        Path tmp = LogFileNames.temp(target);
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            ByteBuffer b = ByteBuffer.wrap(content);
            while (b.hasRemaining()) {
                ch.write(b);
            }
            ch.force(true);
        }
        LogIO.get().replace(tmp, target);
    }

    /**
     * {@link Files#createDirectories} whose result survives power loss: a new directory's name lives in its parent,
     * so after creating, every directory from {@code dir} up to the file system root is fsynced (an existing
     * ancestor may itself be new and not yet durable: another code path may have created it without a sync).
     * Called once per directory at open, so the few extra fsyncs do not matter. Ancestors the process may not
     * open are skipped (they were not created by it). A no-op for the syncs on Windows.
     */
    public static Path createDirectories(Path dir) throws IOException {
        Files.createDirectories(dir);
        for (Path p = dir.toAbsolutePath(); p != null; p = p.getParent()) {
            try {
                fsyncDirectory(p);
            } catch (IOException e) {
                if (!LogIO.notOurs(e)) {
                    throw e;
                }
                break;
            }
        }
        return dir;
    }

    /** Makes a directory's entries (creates, renames, deletes) durable; a no-op on Windows, where it is unsupported. */
    public static void fsyncDirectory(Path dir) throws IOException {
        LogIO.get().fsyncDirectory(dir);
    }
}
