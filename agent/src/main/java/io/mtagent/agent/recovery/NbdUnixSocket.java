package io.mtagent.agent.recovery;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.GroupPrincipal;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipalNotFoundException;
import java.util.Optional;

/**
 * The file side of the NBD server's Unix socket: who may connect is decided by the socket file's permissions
 * (connecting needs write permission on it), so they are set right after the bind: 0600 (the agent's user), or
 * 0660 with the configured group. The agent runs with umask 077 (027 with a group), so the socket is never more
 * open than that between the bind and the chmod.
 *
 * <p>Stateless; the caller serialises start and close.
 */
final class NbdUnixSocket {
    /** {@code sizeof(sun_path) - 1} on Linux. */
    static final int MAX_PATH_BYTES = 107;
    private static final int S_IFMT = 0170000;
    private static final int S_IFSOCK = 0140000;

    private NbdUnixSocket() {
    }

    /** Whether {@code socket} is short enough to be bound. */
    static boolean fits(Path socket) {
        return socket.toString().getBytes(StandardCharsets.UTF_8).length <= MAX_PATH_BYTES;
    }

    /**
     * Makes {@code socket} bindable: refuses a path that is too long, whose directory is missing, that is not a
     * socket, or on which another process serves; removes a stale socket a crashed agent left behind.
     */
    static void prepare(Path socket) throws IOException {
        int length = socket.toString().getBytes(StandardCharsets.UTF_8).length;
        if (length > MAX_PATH_BYTES) {
            throw new IllegalStateException("nbd.socket=" + socket + " is " + length + " bytes long; a Unix socket"
                    + " path may have at most " + MAX_PATH_BYTES + ": choose a shorter one (e.g. /run/mtagent/nbd.sock)");
        }
        Path dir = socket.toAbsolutePath().getParent();
        if (dir == null || !Files.isDirectory(dir)) {
            throw new IllegalStateException("nbd.socket=" + socket + ": the directory " + dir + " does not exist");
        }
        if (!Files.exists(socket, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        if (!isSocket(socket)) {
            throw new IllegalStateException("nbd.socket=" + socket + " exists and is not a socket; the agent does"
                    + " not replace it: remove it or set nbd.socket to another path");
        }
        try (SocketChannel probe = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            probe.connect(UnixDomainSocketAddress.of(socket));
            throw new IllegalStateException("another process serves NBD on nbd.socket=" + socket + " (another"
                    + " agent?): stop it, or set nbd.socket to another path");
        } catch (IOException refused) {
            // Nobody listens: left behind by an agent that did not stop cleanly.
            Files.deleteIfExists(socket);
        }
    }

    /** Whether {@code path} is a socket; where the file system cannot tell (Windows), whatever is not a file. */
    private static boolean isSocket(Path path) throws IOException {
        try {
            int mode = (Integer) Files.getAttribute(path, "unix:mode", LinkOption.NOFOLLOW_LINKS);
            return (mode & S_IFMT) == S_IFSOCK;
        } catch (UnsupportedOperationException | IllegalArgumentException e) {
            return !Files.isRegularFile(path, LinkOption.NOFOLLOW_LINKS)
                    && !Files.isDirectory(path, LinkOption.NOFOLLOW_LINKS);
        }
    }

    /** Sets the socket's permissions (and group) so only the agent's user, or also {@code group}, may connect. */
    static void restrict(Path socket, Optional<String> group) throws IOException {
        PosixFileAttributeView view = Files.getFileAttributeView(socket, PosixFileAttributeView.class);
        if (view == null) {
            return; // no POSIX permissions here: the directory's ACL decides
        }
        if (group.isPresent()) {
            GroupPrincipal principal;
            try {
                principal = socket.getFileSystem().getUserPrincipalLookupService()
                        .lookupPrincipalByGroupName(group.get());
            } catch (UserPrincipalNotFoundException e) {
                throw new IllegalStateException("files.group=" + group.get() + ": no such group", e);
            }
            view.setGroup(principal);
            view.setPermissions(PosixFilePermissions.fromString("rw-rw----"));
        } else {
            view.setPermissions(PosixFilePermissions.fromString("rw-------"));
        }
    }

    /** Removes the socket file at shutdown (a later start would otherwise probe and remove it). */
    static void remove(Path socket) {
        try {
            Files.deleteIfExists(socket);
        } catch (IOException e) {
            // harmless: the next start finds it stale and removes it
        }
    }
}
