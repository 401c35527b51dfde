package io.mtagent.agent.journal;

import io.mtagent.agent.log.Checkpoint;
import io.mtagent.agent.log.CorruptLogException;
import io.mtagent.agent.log.LogFileNames;
import io.mtagent.agent.log.LogIO;
import io.mtagent.agent.log.PrunedMark;
import io.mtagent.agent.log.ReadStop;
import io.mtagent.agent.log.RecoveryRule;
import io.mtagent.agent.log.SegmentHeader;
import io.mtagent.agent.log.SegmentReader;
import io.mtagent.agent.log.VerifiedRecord;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Opens a retention journal under the ingest log's rules ({@link RecoveryRule}): a record that does not verify
 * (length, chained CRC, incarnation) after the checkpoint is a torn tail, cut at open; one before it is
 * {@link CorruptLogException}. A sealed segment with a valid index file ({@link SegmentIndex}) is not re-read, so a
 * restart does not scale with the journal's size: its records are verified when read (each index entry carries the
 * chained CRC before its record) and by online verify; a missing or stale index is rebuilt by a scan. Segments left
 * wholly at or below the {@link PrunedMark} (a prune interrupted after its mark) are removed.
 *
 * <p>Runs once, at open, before any other thread sees the journal.
 */
final class JournalRecovery {
    private final Path dir;
    private final JournalState state;
    private final JournalWriter writer;

    JournalRecovery(Path dir, JournalState state, JournalWriter writer) {
        this.dir = dir;
        this.state = state;
        this.writer = writer;
    }

    void recover() throws IOException {
        PrunedMark pruned = PrunedMark.read(dir.resolve(LogFileNames.PRUNED));
        state.prunedThrough = pruned.seq();
        state.prunedThroughTimestamp = pruned.timestampMicros();
        Checkpoint cp = Checkpoint.read(dir.resolve(LogFileNames.CHECKPOINT));
        List<Path> files = LogFileNames.segments(dir, JournalFormat.KIND);
        removeOrphanIndexes(files);
        boolean tail = false;
        boolean first = true;
        int prevChain = 0;
        long nextIndex = cp == null ? 1 : cp.segment() + 1;
        SegmentIndex open = null;
        for (int fi = 0; fi < files.size(); fi++) {
            Path file = files.get(fi);
            long index = LogFileNames.indexOf(file.getFileName().toString());
            if (tail) {
                deleteSegment(index);
                continue;
            }
            boolean lastFile = fi == files.size() - 1;
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
                SegmentHeader h = SegmentHeader.read(JournalFormat.KIND, ch);
                if (h == null || h.index() != index || (!first && h.chainSeed() != prevChain)) {
                    if (RecoveryRule.ofHeader(cp, index) == RecoveryRule.Verdict.CORRUPTION) {
                        throw new CorruptLogException(file, 0, "journal segment header does not verify or breaks the chain");
                    }
                    ch.close();
                    deleteSegment(index);
                    tail = true;
                    continue;
                }
                long size = ch.size();
                nextIndex = Math.max(nextIndex, index + 1);
                if (!lastFile) {
                    // A sealed segment: its index file, when it still describes it, spares the scan (only its
                    // header and points are read).
                    SegmentIndex.Summary sum = SegmentIndex.readSummary(dir, index, h.incarnation(), size);
                    if (sum != null && sum.lastSeq() <= state.prunedThrough) {
                        ch.close();
                        deleteSegment(index); // its pruning was interrupted after the mark
                        prevChain = sum.lastChain();
                        first = false;
                        continue;
                    }
                    if (sum != null && sum.firstSeq() > state.prunedThrough && state.follows(sum.firstSeq())) {
                        state.acceptSealed(sum);
                        prevChain = sum.lastChain();
                        first = false;
                        continue;
                    }
                }
                SegmentIndex scanned = new SegmentIndex(index, h.incarnation(), 1024);
                SegmentReader reader = new SegmentReader(JournalFormat.KIND, file, ch, h);
                ReadStop stop;
                long end;
                int chainNow;
                while (true) {
                    long at = reader.position();
                    int chainBefore = reader.chain();
                    VerifiedRecord r = reader.next();
                    if (r == null) {
                        stop = reader.stop();
                        end = reader.position();
                        chainNow = reader.chain();
                        break;
                    }
                    long seq = r.seq();
                    if (seq <= state.prunedThrough) {
                        continue; // a segment whose pruning was interrupted after the mark: removed below if all is
                    }
                    if (!state.follows(seq)) {
                        // Out of sequence: as damaging as a bad CRC at this record (refused before the checkpoint).
                        stop = new ReadStop(ReadStop.Reason.INCONSISTENT_HEADER, file, at,
                                "(sequence " + seq + " after " + state.lastSeq + ")");
                        end = at;
                        chainNow = chainBefore;
                        break;
                    }
                    JournalFormat.addTo(scanned, r);
                    state.lastSeq = seq;
                }
                if (stop.clean() && !lastFile && scanned.count() == 0) {
                    ch.close();
                    deleteSegment(index); // wholly pruned, or an empty segment left by a crash
                    prevChain = chainNow;
                    first = false;
                    continue;
                }
                if (RecoveryRule.mayHoldUnsynced(cp, index)) {
                    LogIO.get().force(file, ch, false); // records past the checkpoint may be only in the page cache
                }
                if (RecoveryRule.cutOrRefuse(cp, index, stop, ch)) {
                    tail = true;
                }
                prevChain = chainNow;
                first = false;
                if (!lastFile && !tail) {
                    scanned.seal(size, chainNow);
                    writer.writeIndex(scanned);
                    state.acceptSealed(SegmentIndex.Summary.of(scanned));
                } else {
                    Files.deleteIfExists(SegmentIndex.fileOf(dir, index)); // it is appended to again: stale soon
                    open = scanned;
                    writer.resume(index, h.incarnation(), end, chainNow);
                }
            }
        }
        RecoveryRule.checkReachesCheckpoint(cp, state.lastSeq, dir.resolve(LogFileNames.CHECKPOINT));
        state.syncedSeq = state.lastSeq;
        if (open == null) {
            writer.startFresh(nextIndex, state.lastSeq + 1, prevChain);
        } else {
            state.current = open;
            state.points.addAll(open.points());
        }
        writer.writeCheckpoint();
    }

    private void removeOrphanIndexes(List<Path> segments) throws IOException {
        Set<Long> present = new HashSet<>();
        for (Path p : segments) {
            present.add(LogFileNames.indexOf(p.getFileName().toString()));
        }
        for (Path p : listDir()) {
            String n = p.getFileName().toString();
            if (LogFileNames.isSegmentIndex(n) && !present.contains(LogFileNames.indexOf(n))) {
                Files.deleteIfExists(p);
            }
        }
    }

    private List<Path> listDir() throws IOException {
        try (var s = Files.list(dir)) {
            return s.toList();
        }
    }

    private void deleteSegment(long index) throws IOException {
        Files.deleteIfExists(dir.resolve(LogFileNames.segment(JournalFormat.KIND, index)));
        Files.deleteIfExists(SegmentIndex.fileOf(dir, index));
    }
}
