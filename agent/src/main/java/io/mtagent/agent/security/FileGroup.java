package io.mtagent.agent.security;

import io.mtagent.nativeio.FileMode;
import java.io.IOException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.GroupPrincipal;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.UserPrincipalNotFoundException;
import java.util.Collection;
import java.util.logging.Logger;

/**
 * {@code files.group}: lets one group read the agent's data files. The agent then runs with umask 027 instead of
 * 077 (files 0640, directories 0750; secrets stay 0600, {@link SecureFiles} sets them exactly), its data
 * directories get the group and the set-group-ID bit (mode 2750), so every file and directory created inside
 * inherits the group, and file targets the agent creates elsewhere are given the group explicitly.
 *
 * <p>Stateless and thread-safe.
 */
public final class FileGroup {
    private static final Logger LOG = Logger.getLogger(FileGroup.class.getName());
    /** Owner read-write, group read: files 0640, directories 0750. */
    public static final int GROUP_UMASK = 0027;
    private static final int DIRECTORY_MODE = FileMode.SET_GROUP_ID | 0750;

    private FileGroup() {
    }

    /**
     * Gives each existing directory of {@code dirs} the group and mode 2750.
     *
     * @throws IllegalStateException naming files.group when the group does not exist or the agent's user may not
     *                               give it (it must be a member)
     */
    public static void prepareDirectories(String group, Collection<Path> dirs) throws IOException {
        for (Path dir : dirs) {
            if (!Files.isDirectory(dir)) {
                continue;
            }
            if (!setGroup(group, dir)) {
                return; // no POSIX permissions here
            }
            if (!FileMode.set(dir, DIRECTORY_MODE)) {
                LOG.warning(() -> "files.group=" + group + ": cannot set the set-group-ID bit on " + dir + " here;"
                        + " files created inside keep the agent's own group");
            }
        }
    }

    /** Gives {@code file} (a target the agent has just created) the group. */
    public static void adopt(String group, Path file) throws IOException {
        setGroup(group, file);
    }

    private static boolean setGroup(String group, Path path) throws IOException {
        PosixFileAttributeView view = Files.getFileAttributeView(path, PosixFileAttributeView.class);
        if (view == null) {
            return false;
        }
        GroupPrincipal principal;
        try {
            principal = path.getFileSystem().getUserPrincipalLookupService().lookupPrincipalByGroupName(group);
        } catch (UserPrincipalNotFoundException e) {
            throw new IllegalStateException("files.group=" + group + ": no such group", e);
        }
        try {
            view.setGroup(principal);
        } catch (FileSystemException e) {
            throw new IllegalStateException("files.group=" + group + ": cannot give " + path + " that group ("
                    + e.getReason() + "); the agent's user must be a member of " + group, e);
        }
        return true;
    }
}
