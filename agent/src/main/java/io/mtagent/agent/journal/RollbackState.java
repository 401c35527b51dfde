package io.mtagent.agent.journal;

import io.mtagent.agent.log.AtomicFile;
import io.mtagent.agent.log.LogFileNames;
import java.io.IOException;
import java.io.StringReader;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;

/**
 * The persisted phase of a disk's rollback, {@code rollback.state} in the disk's journal directory: a Java
 * properties file with {@code phase} (a {@link Phase} name), {@code point} (the seq rolled back to) and
 * {@code irreversible}, replaced atomically ({@link AtomicFile}) at every phase change. No file: no rollback was
 * ever started, or the last one was committed.
 *
 * <p>The rollback itself ({@code retention/RollbackService}) writes it; the disk reads it at start and before it
 * opens a view ({@link #rolledBack}), which is why it lives with the journal and not with the rollback. Stateless;
 * a writer and readers at once see the old or the new file, never a mix.
 */
public final class RollbackState {
    /** The file's name in the journal directory. */
    public static final String FILE = LogFileNames.ROLLBACK_STATE;

    /** Persisted phase of a disk's rollback. */
    public enum Phase { CAPTURING, ROLLING, AT_POINT, RESTORING, AT_LATEST }

    private RollbackState() {
    }

    /** The file's properties, or null when there is none. */
    public static Properties read(Path journalDir) throws IOException {
        Path f = journalDir.resolve(FILE);
        if (!Files.exists(f)) {
            return null;
        }
        Properties p = new Properties();
        p.load(new StringReader(Files.readString(f, StandardCharsets.UTF_8)));
        return p;
    }

    /** Replaces the file atomically (durable when this returns). */
    public static void write(Path journalDir, Phase phase, long point, boolean irreversible) throws IOException {
        Properties p = new Properties();
        p.setProperty("phase", phase.name());
        p.setProperty("point", Long.toString(point));
        p.setProperty("irreversible", Boolean.toString(irreversible));
        StringWriter w = new StringWriter();
        p.store(w, "mtagent rollback state; do not edit");
        AtomicFile.write(journalDir.resolve(FILE), w.toString().getBytes(StandardCharsets.UTF_8));
    }

    /** True when a rollback (in progress or not yet undone) means the target is not the disk at latest. */
    public static boolean rolledBack(Path journalDir) throws IOException {
        Properties p = read(journalDir);
        return p != null && Phase.valueOf(p.getProperty("phase")) != Phase.AT_LATEST;
    }
}
