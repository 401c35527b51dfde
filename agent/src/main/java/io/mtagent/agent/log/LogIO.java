package io.mtagent.agent.log;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.AccessDeniedException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Locale;

/**
 * The file operations every durability promise of the logs rests on: opening a segment, syncing it, replacing a
 * small file atomically, syncing a directory. The logs call them through {@link #get()} and nothing else, so a
 * test can break exactly one of them by overriding one method and {@link #install installing} the result
 * (BookKeeper's {@code TestDirectWriter} style): the power-loss test starts its agent through a test-only main that
 * does this, to prove it catches each broken promise. Production code never installs anything; this class has no
 * switch that breaks a promise.
 *
 * <p>Thread-safe: stateless; the installed instance is read through a volatile field.
 */
public class LogIO {
    private static final boolean WINDOWS = System.getProperty("os.name", "").toLowerCase(Locale.ROOT).contains("win");
    private static volatile LogIO current = new LogIO();

    protected LogIO() {
    }

    /** The file operations in use. */
    public static LogIO get() {
        return current;
    }

    /** Replaces the file operations for the whole process: for tests that inject faults, never in production. */
    public static void install(LogIO io) {
        current = io;
    }

    /** Opens a segment file (or a spare to be written over). */
    public FileChannel open(Path file, OpenOption... options) throws IOException {
        return FileChannel.open(file, options);
    }

    /**
     * Makes {@code channel}'s writes to {@code file} durable ({@code metadata}: its size too). Only when this
     * returns may anything written before it be reported durable.
     */
    public void force(Path file, FileChannel channel, boolean metadata) throws IOException {
        channel.force(metadata);
    }

    /**
     * Renames {@code source} over {@code target} atomically (where the file system cannot, plainly) and makes the
     * new name durable by syncing the directory: until then a power cut may bring the old file back.
     */
    public void replace(Path source, Path target) throws IOException {
        try {
            Files.move(source, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(source, target, StandardCopyOption.REPLACE_EXISTING);
        }
        fsyncDirectory(target.toAbsolutePath().getParent());
    }

    /**
     * Makes a directory's entries (creates, renames, deletes) durable; a no-op on Windows, where it is unsupported
     * (Kafka's {@code flushDir} skips it there too).
     */
    public void fsyncDirectory(Path dir) throws IOException {
        if (WINDOWS) {
            return;
        }
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        }
    }

    /** Whether {@code e} means the directory may not be opened by this process (an ancestor it did not create). */
    static boolean notOurs(IOException e) {
        return e instanceof AccessDeniedException;
    }
}
