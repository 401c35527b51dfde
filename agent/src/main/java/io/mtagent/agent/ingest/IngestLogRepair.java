package io.mtagent.agent.ingest;

import io.mtagent.agent.log.AppliedPoint;
import io.mtagent.agent.log.AtomicFile;
import io.mtagent.agent.log.LogFileNames;
import io.mtagent.agent.log.SegmentHeader;
import io.mtagent.agent.log.SegmentReader;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.List;

/**
 * {@code mtagent verify --repair}: makes a corrupt ingest log openable again. The first segment with a bad
 * record is copied aside to {@code <name>.broken}, truncated before the bad record, every later segment is moved
 * aside too, and the checkpoint is removed (recovery then treats what follows as a tail). A damaged applied-point
 * file is rewritten to just before the oldest segment (some records are then applied again, harmlessly). Records after the
 * damage are lost from the log: the process server re-sends them from the agent's durable point if it still
 * has them, otherwise the disk must be resynced. Run only while the agent is stopped.
 */
public final class IngestLogRepair {
    private IngestLogRepair() {
    }

    /** @return the number of segments moved aside or truncated */
    public static int repair(Path dir) throws IOException {
        List<Path> files = LogFileNames.segments(dir, SegmentFormat.KIND);
        int touched = 0;
        boolean damaged = false;
        for (Path file : files) {
            if (damaged) {
                Files.move(file, LogFileNames.broken(file), StandardCopyOption.REPLACE_EXISTING);
                touched++;
                continue;
            }
            long goodEnd;
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
                SegmentHeader h = SegmentHeader.read(SegmentFormat.KIND, ch);
                if (h == null) {
                    goodEnd = 0;
                } else {
                    SegmentReader reader = new SegmentReader(SegmentFormat.KIND, file, ch, h);
                    while (reader.next() != null) {
                        // read to the first bad record
                    }
                    goodEnd = reader.stop().clean() ? -1 : reader.position();
                }
            }
            if (goodEnd < 0) {
                continue;
            }
            damaged = true;
            touched++;
            Files.copy(file, LogFileNames.broken(file), StandardCopyOption.REPLACE_EXISTING);
            if (goodEnd == 0) {
                Files.delete(file);
            } else {
                try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
                    ch.truncate(goodEnd);
                    ch.force(true);
                }
            }
        }
        if (repairAppliedPoint(dir)) {
            touched++;
        }
        Files.deleteIfExists(dir.resolve(LogFileNames.CHECKPOINT));
        Files.deleteIfExists(dir.resolve(LogFileNames.CLEAN)); // the files changed: no clean-shutdown shortcut
        AtomicFile.fsyncDirectory(dir);
        return touched;
    }

    /**
     * A damaged applied-point file (which open refuses, pointing here) is moved aside to {@code applied.broken}
     * and rewritten as "just before the oldest segment": segments are deleted only once fully applied, so
     * everything before it is on the target, and re-applying the rest is harmless (target writes are
     * idempotent). Without segments the file is removed.
     */
    private static boolean repairAppliedPoint(Path dir) throws IOException {
        Path f = dir.resolve(LogFileNames.APPLIED);
        if (!Files.exists(f)) {
            return false;
        }
        if (AppliedPoint.decode(Files.readAllBytes(f)) != null) {
            return false;
        }
        Files.copy(f, LogFileNames.broken(f), StandardCopyOption.REPLACE_EXISTING);
        for (Path file : LogFileNames.segments(dir, SegmentFormat.KIND)) {
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
                SegmentHeader h = SegmentHeader.read(SegmentFormat.KIND, ch);
                if (h != null) {
                    new AppliedPoint(h.firstSeq() - 1, -1).write(f); // time unknown until the next record is applied
                    return true;
                }
            }
        }
        Files.delete(f);
        return true;
    }
}
