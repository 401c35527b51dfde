package io.mtagent.bench;

import io.mtagent.agent.journal.PointInTimeView;
import io.mtagent.agent.journal.RetentionJournal;
import io.mtagent.nativeio.BlockDevice;
import io.mtagent.nativeio.FileBlockDevice;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;
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
 * Point-in-time view lookup: a 64 KiB read of a view at a point in the middle of a journal holding
 * {@code images} 4 KiB before-images at random offsets of a 256 MiB disk, i.e. the target read plus finding and
 * overlaying every before-image after the point. One operation is one 64 KiB read.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class ViewReadBenchmark {
    private static final long DISK = 256L << 20;

    @Param({"10000", "100000"})
    int images;

    private Path dir;
    private RetentionJournal journal;
    private BlockDevice target;
    private PointInTimeView view;
    private final SplittableRandom random = new SplittableRandom(7);

    @Setup(Level.Trial)
    public void setUp() throws Exception {
        dir = Files.createTempDirectory(Path.of(System.getProperty("jmh.dir", System.getProperty("java.io.tmpdir"))),
                "view-bench");
        target = FileBlockDevice.open(dir.resolve("target.img"), DISK, 512);
        journal = RetentionJournal.open(dir.resolve("journal"), 64L << 20);
        ByteBuffer image = ByteBuffer.allocateDirect(4096);
        SplittableRandom r = new SplittableRandom(3);
        for (int seq = 1; seq <= images; seq++) {
            if (seq == images / 2) {
                journal.appendPoint(seq, seq, 1, "middle");
                continue;
            }
            journal.appendBeforeImage(seq, seq, r.nextLong(DISK / 4096) * 4096, image.clear());
        }
        journal.sync();
        view = new PointInTimeView(target, journal, images / 2);
    }

    @TearDown(Level.Trial)
    public void tearDown() throws Exception {
        view.close();
        journal.close();
        target.close();
        io.mtagent.agent.ingest.FileTrees.deleteRecursively(dir);
    }

    @Benchmark
    public byte[] read64KiB() throws Exception {
        return view.read(random.nextLong(DISK / 65536) * 65536, 65536);
    }
}
