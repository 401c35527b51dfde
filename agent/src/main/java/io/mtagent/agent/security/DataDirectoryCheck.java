package io.mtagent.agent.security;

import io.mtagent.nativeio.ProcessUmask;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.logging.Logger;

/**
 * File privacy at agent start (docs/ARCHITECTURE.md, "Hostile neighbours"): sets the process umask to 077, so every file the
 * agent creates from then on is 0600 and every directory 0700 whatever umask the agent was started under; refuses to
 * start on a data directory that other users can write (they could replace the agent's files), and warns about one
 * they can read. Checks only POSIX file systems.
 *
 * <p>Stateless and thread-safe.
 */
public final class DataDirectoryCheck {
    private static final Logger LOG = Logger.getLogger(DataDirectoryCheck.class.getName());
    /** Owner only: files 0600, directories 0700. */
    public static final int PRIVATE_UMASK = 0077;

    private DataDirectoryCheck() {
    }

    /**
     * Sets the private umask (077), or with a files.group 027 ({@link FileGroup}); logs what it replaced when that
     * was more open.
     */
    public static void restrictUmask(Optional<String> group) {
        int mask = group.isPresent() ? FileGroup.GROUP_UMASK : PRIVATE_UMASK;
        int old = ProcessUmask.set(mask);
        if (old >= 0 && (old & mask) != mask) {
            LOG.info(() -> String.format("umask %03o replaced by %03o: the agent's files are private to its user%s",
                    old, mask, group.map(g -> " and readable by the group " + g).orElse("")));
        }
    }

    /**
     * Refuses directories others can write; warns about ones others can read.
     *
     * @param dirs the data directories by the setting that names them
     * @throws IllegalStateException naming every directory others can write, its mode and the fix
     */
    public static void check(Map<String, Path> dirs) throws IOException {
        List<String> refused = new ArrayList<>();
        for (Map.Entry<String, Path> e : dirs.entrySet()) {
            Path dir = e.getValue();
            if (!Files.isDirectory(dir) || !Files.getFileStore(dir).supportsFileAttributeView(PosixFileAttributeView.class)) {
                continue;
            }
            Set<PosixFilePermission> p = Files.getPosixFilePermissions(dir);
            String mode = PosixFilePermissions.toString(p);
            if (p.contains(PosixFilePermission.OTHERS_WRITE)) {
                refused.add(e.getKey() + " " + dir + " (" + mode + ")");
            } else if (p.contains(PosixFilePermission.OTHERS_READ) || p.contains(PosixFilePermission.OTHERS_EXECUTE)) {
                LOG.warning(() -> e.getKey() + " " + dir + " is " + mode + ": other users can list it; 'chmod o-rwx "
                        + dir + "' keeps them out (the files inside are created private)");
            }
        }
        if (!refused.isEmpty()) {
            throw new IllegalStateException("other users can write the agent's data director"
                    + (refused.size() == 1 ? "y " : "ies ") + String.join(", ", refused) + ": they could replace its"
                    + " files. Fix with 'chmod o-w' (better 'chmod 700') on each, then start again");
        }
    }
}
