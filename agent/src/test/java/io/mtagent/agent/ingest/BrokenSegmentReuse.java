package io.mtagent.agent.ingest;

import io.mtagent.agent.log.AtomicFile;
import io.mtagent.agent.log.LogFileNames;
import io.mtagent.agent.log.LogIO;
import io.mtagent.agent.log.SegmentHeader;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.stream.Stream;

/**
 * TEST ONLY: the "preallocate and reuse" of segment files with its one rule broken, for the power-loss test's
 * {@code REUSE_SEGMENT_INCARNATION} broken build. Applied segments of every disk go to one pool next to the disks'
 * ingest-log directories; a new segment takes a pooled file, keeps its old incarnation id and is never cut at its
 * end, so after a power cut the stale records past the synced end verify as if they were new. The real reuse
 * ({@link SegmentFiles}: spares) gives every reused file a new incarnation and cuts a segment at its end.
 */
public final class BrokenSegmentReuse extends SegmentFiles {
    /** Where recycled segments wait, next to the disks' ingest-log directories. */
    static final String POOL = "recycled-segments.testonly";

    private BrokenSegmentReuse(Path dir, int spareSegments) {
        super(dir, spareSegments);
    }

    /** Every ingest log opened from now on in this JVM recycles its segments this way. */
    public static void install() {
        SegmentFiles.useFactory(BrokenSegmentReuse::new);
    }

    private Path pool() {
        return dir.toAbsolutePath().getParent().resolve(POOL);
    }

    @Override
    Created create(long index, long firstSeq) throws IOException {
        Path file = dir.resolve(LogFileNames.segment(SegmentFormat.KIND, index));
        Long recycled = takeRecycled(file);
        if (recycled == null) {
            return super.create(index, firstSeq);
        }
        FileChannel ch = LogIO.get().open(file, StandardOpenOption.READ, StandardOpenOption.WRITE);
        try {
            writeHeader(file, ch, SegmentHeader.ingest(recycled, firstSeq, index)); // the stale records stay valid
            AtomicFile.fsyncDirectory(dir);
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
        return new Created(ch, recycled);
    }

    @Override
    void cutAtEnd(Path file, FileChannel ch, long end) throws IOException {
        LogIO.get().force(file, ch, false); // never cut: the old records past the end stay
    }

    @Override
    Path retire(IngestIndex.Segment s, int pending, boolean closing) throws IOException {
        Path pool = Files.createDirectories(pool());
        Files.move(s.file, pool.resolve(Long.toHexString(s.incarnation) + "-" + System.nanoTime() + ".seg"));
        AtomicFile.fsyncDirectory(pool);
        return null;
    }

    /** Moves a pooled segment (of any disk) to {@code file}; its old incarnation, or null. */
    private Long takeRecycled(Path file) throws IOException {
        Path pool = pool();
        if (!Files.isDirectory(pool)) {
            return null;
        }
        List<Path> pooled;
        try (Stream<Path> s = Files.list(pool)) {
            pooled = s.sorted().toList();
        }
        for (Path p : pooled) {
            try {
                Files.move(p, file);
            } catch (NoSuchFileException | FileAlreadyExistsException raced) {
                continue; // another disk's writer took it
            }
            AtomicFile.fsyncDirectory(pool);
            String name = p.getFileName().toString();
            return Long.parseUnsignedLong(name.substring(0, name.indexOf('-')), 16);
        }
        return null;
    }
}
