package io.mtagent.agent.security;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.EnumSet;
import java.util.Locale;
import java.util.Set;

/**
 * Writes and checks the agent's secret files ({@code agent.key}, {@code auth.key}) and its public certificate.
 *
 * <p><b>Durability:</b> {@link #writeAtomically} writes a temporary file in the same directory, fsyncs it,
 * renames it over the target and fsyncs the directory, so after a crash the target holds either the old or the new
 * content, never a torn mix (the pattern of Kafka's {@code CheckpointFile}). The directory fsync is skipped on
 * Windows, where a directory cannot be opened as a channel.
 *
 * <p><b>Permissions:</b> on POSIX file systems the temporary file is <em>created</em> with its final permissions,
 * so a secret is never readable by others, not even for the moment between a write and a chmod. On other file
 * systems (Windows, FAT) the permissions are left to the directory's ACL.
 *
 * <p>Stateless and thread-safe; concurrent writers of the same target are the caller's problem (last rename wins).
 */
public final class SecureFiles {
    static final Set<PosixFilePermission> OWNER_ONLY = PosixFilePermissions.fromString("rw-------");
    static final Set<PosixFilePermission> WORLD_READABLE = PosixFilePermissions.fromString("rw-r--r--");
    private static final Set<PosixFilePermission> GROUP_OR_OTHERS = EnumSet.of(
            PosixFilePermission.GROUP_READ, PosixFilePermission.GROUP_WRITE, PosixFilePermission.GROUP_EXECUTE,
            PosixFilePermission.OTHERS_READ, PosixFilePermission.OTHERS_WRITE, PosixFilePermission.OTHERS_EXECUTE);
    private static final boolean WINDOWS = System.getProperty("os.name", "").toLowerCase(Locale.ROOT)
            .startsWith("windows");

    private SecureFiles() {
    }

    /** Whether the file system holding {@code dir} has POSIX permissions. */
    static boolean isPosix(Path dir) throws IOException {
        return Files.getFileStore(dir).supportsFileAttributeView(PosixFileAttributeView.class);
    }

    /**
     * Atomically replaces {@code target} with {@code content}; the file has {@code permissions} from its creation
     * on POSIX file systems. Returns after the content and the rename are durable.
     */
    static void writeAtomically(Path target, byte[] content, Set<PosixFilePermission> permissions)
            throws IOException {
        Path dir = target.toAbsolutePath().getParent();
        Path temp = dir.resolve(target.getFileName() + ".tmp");
        // A leftover from a crash in this very step: its content is incomplete by definition.
        Files.deleteIfExists(temp);
        FileAttribute<?>[] attributes = isPosix(dir)
                ? new FileAttribute<?>[] {PosixFilePermissions.asFileAttribute(permissions)}
                : new FileAttribute<?>[0];
        try (FileChannel channel = FileChannel.open(temp,
                EnumSet.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE), attributes)) {
            if (attributes.length > 0) {
                // Exactly these, whatever the umask: the creation attribute is masked by it (the agent runs with
                // 077, which would make the public certificate unreadable to 'mtagent cert' run by another user).
                Files.setPosixFilePermissions(temp, permissions);
            }
            ByteBuffer buffer = ByteBuffer.wrap(content);
            while (buffer.hasRemaining()) {
                channel.write(buffer);
            }
            channel.force(true);
        } catch (FileAlreadyExistsException e) {
            throw new IOException("another process is writing " + target + " (" + temp + " exists)", e);
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(temp);
            throw e;
        }
        Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        fsyncDirectory(dir);
    }

    /**
     * Makes sure a secret file is readable by its owner only: if group or others have any permission, logs a
     * warning and resets it to 0600. Does nothing on file systems without POSIX permissions.
     */
    static void restrictToOwner(Path file, System.Logger log) {
        try {
            if (!isPosix(file.toAbsolutePath().getParent())) {
                return;
            }
            Set<PosixFilePermission> current = Files.getPosixFilePermissions(file);
            if (current.stream().anyMatch(GROUP_OR_OTHERS::contains)) {
                log.log(System.Logger.Level.WARNING, "{0} had permissions {1}, which let other users read a secret;"
                        + " resetting them to rw------- (0600)", file, PosixFilePermissions.toString(current));
                Files.setPosixFilePermissions(file, OWNER_ONLY);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot check or fix the permissions of " + file, e);
        }
    }

    /**
     * Creates {@code dir} and any missing parents with mode 0700 on POSIX file systems (whatever the umask), so a
     * directory the agent makes for its own files is never listable by others.
     */
    public static void createPrivateDirectories(Path dir) throws IOException {
        if (Files.isDirectory(dir)) {
            return;
        }
        Path parent = dir.toAbsolutePath().getParent();
        if (parent != null) {
            createPrivateDirectories(parent);
        }
        try {
            Files.createDirectory(dir);
        } catch (FileAlreadyExistsException e) {
            return; // made meanwhile by another thread or process
        }
        if (isPosix(dir)) {
            Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx------"));
        }
    }

    private static void fsyncDirectory(Path dir) throws IOException {
        if (WINDOWS) {
            return; // NTFS makes the rename durable with the file; a directory cannot be opened as a channel.
        }
        try (FileChannel channel = FileChannel.open(dir, StandardOpenOption.READ)) {
            channel.force(true);
        }
    }
}
