package io.mtagent.agent.log;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/**
 * Every file name and suffix of a log directory, in one place (Kafka's {@code LogFileUtils}). Segment files are
 * named by their index, zero-padded to 20 digits so that names sort as numbers.
 *
 * <pre>
 * ingest log directory (cache volume, one per disk)   retention journal directory (one per disk)
 *   00000000000000000007.seg   segment                  00000000000000000003.jrn   segment
 *   spare-00000000000000000005.seg  applied, kept       00000000000000000003.idx   sealed segment's index
 *                              to be written over       checkpoint   synced-up-to mark ({@link Checkpoint})
 *   checkpoint  synced-up-to mark ({@link Checkpoint})  pruned       what pruning removed ({@link PrunedMark})
 *   applied     applied point ({@link AppliedPoint})    discarded    discarded history branches
 *   clean       clean-shutdown marker                   tested       test-failover record of points
 *   reserve     space kept for the applied point        rollback.state  a rollback under way
 *   lock        held while open ({@link DirectoryLock}) lock
 * every file replaced atomically first exists as NAME.tmp ({@link AtomicFile}); repair keeps damaged files as
 * NAME.broken.
 * </pre>
 */
public final class LogFileNames {
    public static final String INGEST_SEGMENT_SUFFIX = ".seg";
    public static final String JOURNAL_SEGMENT_SUFFIX = ".jrn";
    public static final String SEGMENT_INDEX_SUFFIX = ".idx";
    public static final String SPARE_PREFIX = "spare-";
    public static final String CHECKPOINT = "checkpoint";
    public static final String APPLIED = "applied";
    public static final String CLEAN = "clean";
    public static final String RESERVE = "reserve";
    public static final String PRUNED = "pruned";
    public static final String DISCARDED = "discarded";
    public static final String TESTED = "tested";
    public static final String ROLLBACK_STATE = "rollback.state";
    public static final String LOCK = "lock";
    public static final String TEMP_SUFFIX = ".tmp";
    public static final String BROKEN_SUFFIX = ".broken";

    private static final int INDEX_DIGITS = 20;

    private LogFileNames() {
    }

    /** "%020d" + suffix: the file of segment {@code index} of this kind. */
    public static String segment(SegmentKind kind, long index) {
        return indexed(index, kind.suffix());
    }

    /** The sealed journal segment's index file ("%020d.idx"). */
    public static String segmentIndex(long index) {
        return indexed(index, SEGMENT_INDEX_SUFFIX);
    }

    /**
     * The name an applied ingest segment is kept under until a new segment is written over it: never a segment's
     * name, so a scan never reads a spare.
     */
    public static String spare(long index) {
        return SPARE_PREFIX + segment(SegmentKind.INGEST, index);
    }

    public static boolean isSegment(SegmentKind kind, String name) {
        return isIndexed(name, kind.suffix());
    }

    public static boolean isSegmentIndex(String name) {
        return isIndexed(name, SEGMENT_INDEX_SUFFIX);
    }

    public static boolean isSpare(String name) {
        return name.startsWith(SPARE_PREFIX) && isSegment(SegmentKind.INGEST, name.substring(SPARE_PREFIX.length()));
    }

    /** The index in a segment, spare or index file name. */
    public static long indexOf(String name) {
        String n = name.startsWith(SPARE_PREFIX) ? name.substring(SPARE_PREFIX.length()) : name;
        return Long.parseLong(n.substring(0, INDEX_DIGITS));
    }

    /** The segment files of {@code kind} in {@code dir}, in index order. */
    public static List<Path> segments(Path dir, SegmentKind kind) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(p -> isSegment(kind, p.getFileName().toString())).sorted().toList();
        }
    }

    /** The spare files in an ingest log directory, oldest first. */
    public static List<Path> spares(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(p -> isSpare(p.getFileName().toString())).sorted().toList();
        }
    }

    /** Where {@code file} is kept when repair sets it aside. */
    public static Path broken(Path file) {
        return file.resolveSibling(file.getFileName() + BROKEN_SUFFIX);
    }

    static Path temp(Path target) {
        return target.resolveSibling(target.getFileName() + TEMP_SUFFIX);
    }

    /** "%020d" + suffix, without a format parse: names are built on read paths. */
    private static String indexed(long index, String suffix) {
        if (index < 0) {
            throw new IllegalArgumentException("negative segment index " + index);
        }
        String digits = Long.toString(index);
        return "0".repeat(INDEX_DIGITS - digits.length()) + digits + suffix;
    }

    private static boolean isIndexed(String name, String suffix) {
        return name.length() == INDEX_DIGITS + suffix.length() && name.endsWith(suffix)
                && name.chars().limit(INDEX_DIGITS).allMatch(Character::isDigit);
    }
}
