package io.mtagent.agent.ingest;

import io.mtagent.agent.config.HumanSize;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.stream.Stream;

/**
 * A working folder that a tool ({@code mtagent demo}, {@code mtagent bench --spawn}) may empty and fill: one it
 * created itself, recognised by a marker file ({@value #MARKER}) it writes first. A folder that exists, holds
 * anything and carries no marker belongs to someone else and is refused, so {@code --dir ~} or a typo never
 * deletes what the agent did not create.
 *
 * <p>The marker holds one line naming the tool that created the folder. Not thread-safe: one tool owns a folder.
 */
public final class ScratchFolder {
    /** The marker file's name, in the folder itself. */
    public static final String MARKER = ".mtagent-scratch";

    private final Path dir;

    private ScratchFolder(Path dir) {
        this.dir = dir;
    }

    /**
     * Takes {@code dir} for {@code tool}: creates it when missing, accepts it when empty or marked, and writes the
     * marker.
     *
     * @param option the command-line option that named the folder, for the refusal
     * @throws IllegalStateException when the folder holds anything and carries no marker (naming the option and
     *         the fix), or is not a directory
     */
    public static ScratchFolder claim(Path dir, String tool, String option) throws IOException {
        Path abs = dir.toAbsolutePath().normalize();
        if (Files.exists(abs, LinkOption.NOFOLLOW_LINKS) && !Files.isDirectory(abs, LinkOption.NOFOLLOW_LINKS)) {
            throw new IllegalStateException(option + " " + abs + " is not a directory; give a new or empty directory");
        }
        if (Files.isDirectory(abs) && !Files.isRegularFile(abs.resolve(MARKER)) && !isEmpty(abs)) {
            throw new IllegalStateException(option + " " + abs + " is not empty and was not created by mtagent (it"
                    + " has no " + MARKER + " file), so " + tool + " will not delete what it holds; give a new or"
                    + " empty directory");
        }
        Files.createDirectories(abs);
        Files.writeString(abs.resolve(MARKER), "created by mtagent " + tool + "; its contents are deleted by the next"
                + " run\n", StandardCharsets.UTF_8);
        return new ScratchFolder(abs);
    }

    public Path path() {
        return dir;
    }

    /** Deletes everything in the folder except the marker. */
    public void clear() throws IOException {
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir)) {
            for (Path p : entries) {
                if (!p.getFileName().toString().equals(MARKER)) {
                    FileTrees.deleteRecursively(p);
                }
            }
        }
    }

    /** The bytes the folder's files hold (their lengths) and how many there are: what the operator may remove. */
    public String describeSize() throws IOException {
        long[] bytesAndFiles = new long[2];
        try (Stream<Path> files = Files.walk(dir)) {
            files.filter(Files::isRegularFile).forEach(f -> {
                try {
                    bytesAndFiles[0] += Files.size(f);
                    bytesAndFiles[1]++;
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
        } catch (UncheckedIOException e) {
            throw e.getCause();
        }
        return HumanSize.of(bytesAndFiles[0]) + " in " + bytesAndFiles[1] + " files";
    }

    private static boolean isEmpty(Path dir) throws IOException {
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir)) {
            return !entries.iterator().hasNext();
        }
    }
}
