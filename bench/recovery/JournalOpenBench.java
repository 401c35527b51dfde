import io.mtagent.agent.journal.RetentionJournal;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;
import java.util.stream.Stream;

/**
 * Restart cost of a large retention journal: writes GIB GiB of 4 KiB before-images (64 MiB segments), then times
 * opening it with its index files (what a restart does), opening it after deleting them (a full scan, what every
 * restart did before the index files), and reports the heap held by the open journal in each case, next to
 * reading the same bytes with a plain sequential read (the baseline of a scan).
 * Usage: java -cp mtagent.jar:. JournalOpenBench DIR [GIB]
 */
public final class JournalOpenBench {
    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        long gib = args.length > 1 ? Long.parseLong(args[1]) : 4;
        long segment = 64L << 20;
        byte[] image = new byte[4096];
        new SplittableRandom(1).nextBytes(image);
        long records = (gib << 30) / (image.length + 64);
        long t0 = System.nanoTime();
        try (RetentionJournal j = RetentionJournal.open(dir, segment)) {
            SplittableRandom r = new SplittableRandom(2);
            for (long seq = 1; seq <= records; seq++) {
                j.appendBeforeImage(seq, seq, 4096L * r.nextInt(1 << 18), ByteBuffer.wrap(image));
                if (seq % 256 == 0) {
                    j.sync();
                }
            }
            j.sync();
        }
        double writeS = (System.nanoTime() - t0) / 1e9;
        long bytes;
        try (Stream<Path> s = Files.list(dir)) {
            bytes = s.filter(p -> p.toString().endsWith(".jrn")).mapToLong(p -> p.toFile().length()).sum();
        }
        System.out.printf("journal: %,d records, %.2f GiB in %.1f s%n", records, bytes / (double) (1L << 30), writeS);

        double indexed = open(dir, segment, "open with index files (restart)");
        try (Stream<Path> s = Files.list(dir)) {
            for (Path p : s.filter(p -> p.toString().endsWith(".idx")).toList()) {
                Files.delete(p);
            }
        }
        double scanned = open(dir, segment, "open after deleting them (full scan, rebuilds them)");
        // Baseline: read every segment sequentially once (drop the page cache first for a cold figure: run as
        // root with 'echo 3 > /proc/sys/vm/drop_caches' between runs; here both opens and this read are warm).
        long t = System.nanoTime();
        ByteBuffer buf = ByteBuffer.allocateDirect(1 << 20);
        try (Stream<Path> s = Files.list(dir)) {
            for (Path p : s.filter(p -> p.toString().endsWith(".jrn")).sorted().toList()) {
                try (var ch = java.nio.channels.FileChannel.open(p)) {
                    while (ch.read(buf.clear()) > 0) {
                    }
                }
            }
        }
        double read = (System.nanoTime() - t) / 1e9;
        System.out.printf("baseline: plain sequential read of the segments: %.2f s%n", read);
        System.out.printf("ratios: indexed open / scan open = %.3f; indexed open / plain read = %.3f%n",
                indexed / scanned, indexed / read);
    }

    private static double open(Path dir, long segment, String what) throws Exception {
        System.gc();
        long heap0 = used();
        long t = System.nanoTime();
        try (RetentionJournal j = RetentionJournal.open(dir, segment)) {
            double s = (System.nanoTime() - t) / 1e9;
            // one lookup that needs every segment's index: a time near the start
            long t1 = System.nanoTime();
            j.seqAtOrBefore(10);
            System.gc();
            long heap = used() - heap0;
            System.out.printf("%s: %.3f s, heap held %.1f MiB (last seq %,d; first lookup %.3f s)%n", what, s,
                    heap / 1048576.0, j.lastSeq(), (System.nanoTime() - t1) / 1e9);
            return s;
        }
    }

    private static long used() {
        Runtime r = Runtime.getRuntime();
        return r.totalMemory() - r.freeMemory();
    }
}
