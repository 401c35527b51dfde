package io.mtagent.agent.retention;

import io.mtagent.agent.log.AtomicFile;
import io.mtagent.agent.log.LogFileNames;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.Map;
import java.util.TreeMap;
import java.util.logging.Logger;

/**
 * Which recovery points of a disk were test-failed-over, and when the test ended ("tested at"), kept in the file
 * {@code tested} next to the disk's retention journal.
 *
 * <pre>
 * tested (UTF-8 text, one line per point, ascending seq):
 *   &lt;seq&gt; &lt;ISO-8601 instant the test ended&gt;
 * </pre>
 * Written whole, atomically (temp file, fsync, rename, directory fsync): after a crash it holds either the old or
 * the new list. A later test of the same point replaces its time. At most {@link #MAX_ENTRIES} points are kept
 * (the oldest go first); points pruned from the journal simply stop being listed. A line that does not parse is
 * skipped with a warning (the file is derived from operator actions, not from replicated data).
 *
 * <p>Thread-safe: updates of all disks are serialised.
 */
public final class TestedPoints {
    private static final Logger LOG = Logger.getLogger(TestedPoints.class.getName());
    static final String FILE = LogFileNames.TESTED;
    static final int MAX_ENTRIES = 4096;

    private TestedPoints() {
    }

    /** The tested points of the journal in {@code journalDir}: seq → when the test ended. */
    public static synchronized Map<Long, Instant> read(Path journalDir) throws IOException {
        Map<Long, Instant> out = new TreeMap<>();
        Path f = journalDir.resolve(FILE);
        if (!Files.exists(f)) {
            return out;
        }
        for (String line : Files.readAllLines(f, StandardCharsets.UTF_8)) {
            String[] parts = line.trim().split(" ");
            if (parts.length != 2) {
                continue;
            }
            try {
                out.put(Long.parseLong(parts[0]), Instant.parse(parts[1]));
            } catch (NumberFormatException | DateTimeParseException e) {
                LOG.warning("skipping a malformed line of " + f + ": '" + line + "'");
            }
        }
        return out;
    }

    /** Records that the point {@code seq} was tested, the test ending at {@code at}; durable when it returns. */
    public static synchronized void record(Path journalDir, long seq, Instant at) throws IOException {
        TreeMap<Long, Instant> all = new TreeMap<>(read(journalDir));
        all.put(seq, at);
        while (all.size() > MAX_ENTRIES) {
            all.pollFirstEntry();
        }
        StringBuilder text = new StringBuilder();
        all.forEach((s, t) -> text.append(s).append(' ').append(t).append('\n'));
        AtomicFile.write(journalDir.resolve(FILE), text.toString().getBytes(StandardCharsets.UTF_8));
    }
}
