package io.mtagent.bench;

import io.mtagent.agent.journal.RetentionJournal;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The retention journal's append path (the applier's per-write cost with retention on): one before-image
 * record per operation, and the fdatasync of a batch every {@code syncEvery} appends (0: never, the CPU cost
 * alone). Old segments are pruned as the journal grows so the run stays within a few hundred MiB of disk.
 * Runs in the directory given by -Djmh.dir (default: the temp folder).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class JournalAppendBenchmark {
    @Param({"4096", "65536"})
    int imageBytes;

    /** Appends per fdatasync; 0 never syncs (CPU and page-cache cost only). */
    @Param({"0", "128"})
    int syncEvery;

    private Path dir;
    private RetentionJournal journal;
    private ByteBuffer image;
    private long seq;

    @Setup(Level.Trial)
    public void setUp() throws Exception {
        dir = Files.createTempDirectory(Path.of(System.getProperty("jmh.dir", System.getProperty("java.io.tmpdir"))),
                "journal-bench");
        journal = RetentionJournal.open(dir, 64L << 20);
        image = ByteBuffer.allocateDirect(imageBytes);
        while (image.hasRemaining()) {
            image.put((byte) image.position());
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() throws Exception {
        journal.close();
        io.mtagent.agent.ingest.FileTrees.deleteRecursively(dir);
    }

    @Benchmark
    public void appendBeforeImage() throws Exception {
        seq++;
        journal.appendBeforeImage(seq, seq, (seq * imageBytes) & ((1L << 30) - 1), image.clear());
        if (syncEvery > 0 && seq % syncEvery == 0) {
            journal.sync();
        }
        if ((seq & 4095) == 0) {
            journal.sync();
            while (journal.sizeBytes() > (256L << 20) && journal.pruneOldestSegment()) {
                // keep the benchmark's footprint bounded
            }
        }
    }
}
