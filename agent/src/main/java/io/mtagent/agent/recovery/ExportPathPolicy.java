package io.mtagent.agent.recovery;

import io.mtagent.agent.config.AgentConfig;
import io.mtagent.agent.config.DiskConfig;
import io.mtagent.agent.security.SecureFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Where an export may write (docs/ARCHITECTURE.md, "Hostile neighbours"): only into the configured export directories
 * ({@code export.dirs}), never onto a target disk and never into the agent's state, cache or retention directories.
 * The control API's {@code POST /v1/export} and the offline {@code mtagent export} both ask {@link #check} first;
 * a refusal names the rule it broke.
 *
 * <p>Rules, checked in this order on the path after symbolic links are resolved (the parent's links for a new
 * file, the whole path for an existing one):
 * <ol>
 *   <li>{@code not-absolute}, {@code dot-segment}: the path must be absolute and contain no {@code .} or {@code ..}
 *       segment (a path climbing out is refused before it is resolved, so the message names what was given);</li>
 *   <li>{@code symlink}: the path itself must not be a symbolic link (rename would replace the link, but a device
 *       export writes through it);</li>
 *   <li>{@code no-parent}: the directory must exist;</li>
 *   <li>{@code target}: not a target disk of this agent (same real path, or the same file through a hard link);</li>
 *   <li>inside one of the export directories, or exactly one of the block devices listed there: allowed (the
 *       default export directory lies in the state directory; an export directory never holds an agent
 *       directory);</li>
 *   <li>{@code agent-directory}: otherwise, not inside the state, cache or retention directory;</li>
 *   <li>{@code outside-export-dirs}: otherwise refused too.</li>
 * </ol>
 * An export directory that holds one of the agent's directories is itself refused ({@code export-dir-too-wide}),
 * at start and at every check.
 *
 * <p>Immutable and thread-safe; every check reads the file system afresh (links may change between calls).
 */
public final class ExportPathPolicy {
    /** A refused export path: {@link #rule()} is the short name of the rule broken, the message says why. */
    public static final class Refused extends IllegalArgumentException {
        private final String rule;

        Refused(String rule, String message) {
            super(message + " [rule " + rule + "]");
            this.rule = rule;
        }

        public String rule() {
            return rule;
        }
    }

    private final List<Path> exportDirs;
    private final Map<String, Path> agentDirs;
    private final List<Path> targets;

    /**
     * @param exportDirs where exports may go (directories, or block devices named exactly)
     * @param agentDirs  the agent's own directories, by the setting that names them ({@code state.dir} → path)
     * @param targets    the target disks' paths
     */
    public ExportPathPolicy(List<Path> exportDirs, Map<String, Path> agentDirs, List<Path> targets) {
        this.exportDirs = List.copyOf(exportDirs);
        this.agentDirs = Map.copyOf(agentDirs);
        this.targets = List.copyOf(targets);
    }

    /** The policy of a configuration. */
    public static ExportPathPolicy of(AgentConfig config) {
        Map<String, Path> dirs = new LinkedHashMap<>();
        dirs.put("state.dir", config.stateDir());
        dirs.put("cache.dir", config.cacheDir());
        config.retentionDir().ifPresent(d -> dirs.put("retention.dir", d));
        return new ExportPathPolicy(config.exportDirs(), dirs, config.disks().stream().map(DiskConfig::path).toList());
    }

    /**
     * Creates the export directories that do not exist yet (owner-only), and refuses one that holds an agent
     * directory or a target. Called at agent start, so a bad {@code export.dirs} fails the start, not an export.
     *
     * @throws IllegalStateException naming the entry and the rule
     */
    public void prepare() throws IOException {
        for (Path dir : exportDirs) {
            if (!Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) {
                SecureFiles.createPrivateDirectories(dir);
            }
        }
        try {
            realExportDirs();
        } catch (Refused e) {
            throw new IllegalStateException("export.dirs is refused: " + e.getMessage(), e);
        }
    }

    /** The export directories as configured. */
    public List<Path> exportDirs() {
        return exportDirs;
    }

    /**
     * Checks {@code requested}; returns the resolved path the export must write to (no symbolic link left in it).
     *
     * @throws Refused naming the rule broken; nothing has been written
     */
    public Path check(Path requested) throws IOException {
        if (!requested.isAbsolute()) {
            throw new Refused("not-absolute", requested + " is not an absolute path");
        }
        for (Path segment : requested) {
            if (segment.toString().equals("..") || segment.toString().equals(".")) {
                throw new Refused("dot-segment", requested + " contains a '" + segment + "' segment; give the"
                        + " plain path inside one of the export directories " + exportDirs + " (export.dirs)");
            }
        }
        if (Files.isSymbolicLink(requested)) {
            throw new Refused("symlink", requested + " is a symbolic link; give the path it should write to"
                    + " directly, inside one of " + exportDirs + " (export.dirs)");
        }
        Path parent = requested.getParent();
        if (parent == null || !Files.isDirectory(parent)) {
            throw new Refused("no-parent", "the directory " + parent + " does not exist");
        }
        Path resolved = Files.exists(requested) ? requested.toRealPath()
                : parent.toRealPath().resolve(requested.getFileName());
        for (Path target : targets) {
            if (sameFile(resolved, target)) {
                throw new Refused("target", requested + " is the target disk " + target + " of this agent;"
                        + " exporting onto it would destroy the replica");
            }
        }
        for (Path allowed : realExportDirs()) {
            // An export directory holds no agent directory (realExportDirs refuses that), so a path inside one
            // is never an agent file, even when the export directory itself lies in state.dir (the default).
            if (Files.isDirectory(allowed) ? resolved.startsWith(allowed) && !resolved.equals(allowed)
                    : resolved.equals(allowed)) {
                return resolved;
            }
        }
        for (Map.Entry<String, Path> dir : agentDirs.entrySet()) {
            Optional<Path> real = real(dir.getValue());
            if (real.isPresent() && resolved.startsWith(real.get())) {
                throw new Refused("agent-directory", requested + (resolved.equals(requested) ? ""
                        : " (" + resolved + " once links are followed)") + " lies inside the agent's " + dir.getKey()
                        + " " + dir.getValue() + "; exports go into " + exportDirs + " (export.dirs)");
            }
        }
        throw new Refused("outside-export-dirs", requested + (resolved.equals(requested) ? ""
                : " (" + resolved + " once links are followed)") + " is outside the export directories "
                + exportDirs + "; export into one of them, or add its directory to export.dirs");
    }

    /** The export entries that exist, resolved; refuses an entry that holds an agent directory or a target. */
    private List<Path> realExportDirs() throws IOException {
        List<Path> real = new ArrayList<>();
        for (Path dir : exportDirs) {
            Optional<Path> r = real(dir);
            if (r.isEmpty()) {
                continue;
            }
            for (Map.Entry<String, Path> agentDir : agentDirs.entrySet()) {
                Optional<Path> a = real(agentDir.getValue());
                if (a.isPresent() && a.get().startsWith(r.get())) {
                    throw new Refused("export-dir-too-wide", "the export directory " + dir + " holds the agent's "
                            + agentDir.getKey() + " " + agentDir.getValue() + "; give a directory of its own");
                }
            }
            for (Path target : targets) {
                Optional<Path> t = real(target);
                if (t.isPresent() && (Files.isDirectory(r.get()) ? t.get().startsWith(r.get())
                        : t.get().equals(r.get()))) {
                    throw new Refused("export-dir-too-wide", "the export directory " + dir + " holds the target "
                            + target + "; give a directory of its own");
                }
            }
            real.add(r.get());
        }
        return real;
    }

    private static boolean sameFile(Path resolved, Path target) throws IOException {
        Optional<Path> t = real(target);
        if (t.isEmpty()) {
            return false;
        }
        if (t.get().equals(resolved)) {
            return true;
        }
        // A hard link has another name but the same inode.
        return Files.exists(resolved) && Files.isSameFile(resolved, t.get());
    }

    private static Optional<Path> real(Path p) throws IOException {
        try {
            return Optional.of(p.toAbsolutePath().toRealPath());
        } catch (NoSuchFileException e) {
            return Optional.empty();
        }
    }
}
