package io.mtagent.agent.storage;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

/**
 * Small metadata files replaced atomically and durably: write {@code name.tmp}, fsync it, rename over the
 * target, fsync the directory (Kafka's {@code CheckpointFile}/{@code flushDir}). After a crash the file holds
 * either the old or the new content, never a mix, and a completed {@link #write} survives power loss.
 * Thread-safe for distinct targets; callers serialise writes of the same target.
 */
public final class AtomicFile {
    private static final boolean WINDOWS = System.getProperty("os.name", "").toLowerCase().contains("win");

    private AtomicFile() {
    }

    public static void write(Path target, byte[] content) throws IOException {
        Path tmp = target.resolveSibling(target.getFileName() + ".tmp");
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            ByteBuffer b = ByteBuffer.wrap(content);
            while (b.hasRemaining()) {
                ch.write(b);
            }
            ch.force(true);
        }
        try {
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
        }
        if (!TestOnlyFaults.RENAME_WITHOUT_DIR_SYNC) { // deliberately broken only by the test-only switch
            fsyncDirectory(target.toAbsolutePath().getParent());
        }
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
            } catch (java.nio.file.AccessDeniedException notOurs) {
                break;
            }
        }
        return dir;
    }

    /** Makes a directory's entries (creates, renames, deletes) durable; a no-op on Windows, where it is unsupported. */
    public static void fsyncDirectory(Path dir) throws IOException {
        if (WINDOWS) {
            return;
        }
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        }
    }
}
