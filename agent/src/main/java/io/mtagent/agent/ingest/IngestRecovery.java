package io.mtagent.agent.ingest;

import io.mtagent.agent.log.AppliedPoint;
import io.mtagent.agent.log.AtomicFile;
import io.mtagent.agent.log.Checkpoint;
import io.mtagent.agent.log.CleanMarker;
import io.mtagent.agent.log.CorruptLogException;
import io.mtagent.agent.log.LogFileNames;
import io.mtagent.agent.log.LogIO;
import io.mtagent.agent.log.RecordDamageException;
import io.mtagent.agent.log.RecoveryRule;
import io.mtagent.agent.log.SegmentHeader;
import io.mtagent.agent.log.SegmentReader;
import io.mtagent.agent.log.VerifiedRecord;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.logging.Logger;
import java.util.zip.CRC32C;

/**
 * Opens an ingest log: rebuilds its {@link IngestIndex} and leaves the writer's {@link IngestSegments} ready to
 * append.
 *
 * <p>Without a valid clean-shutdown marker it scans every segment with the {@link SegmentReader}; the
 * {@link Checkpoint} splits what does not verify by {@link RecoveryRule}: after it a torn tail, truncated
 * automatically (a power cut must never stop the agent from starting), before it corruption
 * ({@link CorruptLogException}, fixed with {@link IngestLogRepair}). Records after the checkpoint are synced before
 * they are reported durable (they may have survived a kill -9 only in the page cache).
 *
 * <p>With a marker ({@link CleanMarker}) that verifies and matches the checkpoint, the applied point and the segment
 * files exactly, the index comes from the marker and only tag records are read. Either way the marker is deleted
 * (and the directory synced) before anything is appended, so a crash later can never make a stale marker look
 * valid. Skipping the scan means damage done while the agent was stopped is found when the applier reads the record
 * (it re-verifies every record) rather than at start; {@code mtagent verify} forgets the marker first.
 *
 * <p>Runs once, at open, before any other thread sees the log.
 */
final class IngestRecovery {
    private static final Logger LOG = Logger.getLogger(IngestRecovery.class.getName());

    private final Path dir;
    private final String name;
    private final IngestIndex index;
    private final IngestSegments segments;
    private boolean recoveredClean;
    private long scannedRecords;

    IngestRecovery(Path dir, String name, IngestIndex index, IngestSegments segments) {
        this.dir = dir;
        this.name = name;
        this.index = index;
        this.segments = segments;
    }

    /** True if the clean-shutdown marker was valid and the scan skipped. */
    boolean recoveredClean() {
        return recoveredClean;
    }

    /** Records read and verified by the scan (0 after a clean shutdown). */
    long scannedRecords() {
        return scannedRecords;
    }

    void recover(SegmentFiles files) throws IOException {
        AppliedPoint applied = AppliedPoint.read(dir.resolve(LogFileNames.APPLIED));
        index.appliedSeq = applied.seq();
        index.appliedTimestampMicros = applied.timestampMicros();
        Checkpoint cp = Checkpoint.read(dir.resolve(LogFileNames.CHECKPOINT));
        List<Path> segmentFiles = LogFileNames.segments(dir, SegmentFormat.KIND);
        files.adoptSpares();
        segments.keepReserve();
        Path cleanFile = dir.resolve(LogFileNames.CLEAN);
        if (Files.exists(cleanFile)) {
            CleanMarker marker = CleanMarker.readIfValid(cleanFile, cp, index.appliedSeq, segmentFiles);
            // Gone before anything is appended: only the close that writes the next marker may vouch again.
            Files.delete(cleanFile);
            AtomicFile.fsyncDirectory(dir);
            if (marker != null) {
                restoreFrom(marker, cp);
                return;
            }
            LOG.warning("ingest log " + name + ": the clean-shutdown marker does not match the files; scanning");
        }
        scan(cp, segmentFiles);
        LOG.info("ingest log " + name + ": no clean-shutdown marker, scanned " + scannedRecords + " records in "
                + segmentFiles.size() + " segment(s)");
    }

    /** After a verified clean close: the index and segment list come from the marker; only tag records are read. */
    private void restoreFrom(CleanMarker marker, Checkpoint cp) throws IOException {
        recoveredClean = true;
        for (CleanMarker.SegmentInfo si : marker.segments()) {
            index.segments.put(si.index(), new IngestIndex.Segment(si.index(), si.incarnation(),
                    dir.resolve(LogFileNames.segment(SegmentFormat.KIND, si.index())), si.lastSeq()));
        }
        long seq = index.appliedSeq;
        for (CleanMarker.EntryInfo ei : marker.entries()) {
            IngestRecord tag = ei.tag() ? readTagAt(ei.segment(), ei.position(), ei.length()) : null;
            IngestIndex.Entry e = new IngestIndex.Entry(++seq, ei.crc(), tag, ei.length(), ei.timestampMicros());
            e.segment = ei.segment();
            e.position = ei.position();
            index.addRecovered(e);
        }
        LOG.info("ingest log " + name + ": clean shutdown, no scan (" + index.entries.size()
                + " records await apply)");
        finish(Math.max(index.appliedSeq, cp.seq()), cp, cp.position());
    }

    /** Reads one tag record (clean start: tags are few, and recovery points need their names). */
    private IngestRecord readTagAt(long segment, long position, int length) throws IOException {
        IngestIndex.Segment seg = index.segments.get(segment);
        try (FileChannel ch = FileChannel.open(seg.file, StandardOpenOption.READ)) {
            VerifiedRecord r = SegmentReader.readAt(SegmentFormat.KIND, seg.file, ch, seg.incarnation, 0, position,
                    length, new SegmentReader.Scratch(), new CRC32C());
            if (r.type() != SegmentFormat.TYPE_TAG) {
                throw new CorruptLogException(seg.file, position, "the clean-shutdown index names a tag that is not there");
            }
            return SegmentFormat.decode(r);
        } catch (RecordDamageException e) {
            throw new CorruptLogException(seg.file, position, "the clean-shutdown index names a tag that does not"
                    + " verify (" + e.stop().describe() + ")");
        }
    }

    private void scan(Checkpoint cp, List<Path> files) throws IOException {
        long last = index.appliedSeq;
        long lastEnd = SegmentHeader.LENGTH; // where the last kept segment's next record starts
        boolean truncatedTail = false;
        for (Path file : files) {
            long segment = LogFileNames.indexOf(file.getFileName().toString());
            if (truncatedTail) {
                LOG.warning("ingest log " + name + ": deleting " + file.getFileName() + " (" + Files.size(file)
                        + " bytes), which follows a torn tail");
                Files.delete(file); // everything after a torn tail is part of the tail
                continue;
            }
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
                SegmentHeader header = SegmentHeader.read(SegmentFormat.KIND, ch);
                if (header == null || header.index() != segment) {
                    if (RecoveryRule.ofHeader(cp, segment) == RecoveryRule.Verdict.CORRUPTION) {
                        throw new CorruptLogException(file, 0, "segment header does not verify");
                    }
                    LOG.warning("ingest log " + name + ": deleting " + file.getFileName()
                            + ", whose header does not verify (its creation was cut short)");
                    Files.delete(file); // a segment whose creation was cut short: nothing in it was ever acked
                    truncatedTail = true;
                    continue;
                }
                SegmentReader reader = new SegmentReader(SegmentFormat.KIND, file, ch, header);
                IngestIndex.Segment seg = new IngestIndex.Segment(segment, header.incarnation(), file, last);
                VerifiedRecord r;
                while ((r = reader.next()) != null) {
                    long seq = r.seq();
                    if (seq <= index.appliedSeq) {
                        last = Math.max(last, seq);
                        if (seq == index.appliedSeq && index.appliedTimestampMicros < 0) {
                            index.appliedTimestampMicros = SegmentFormat.decode(r).timestampMicros(); // an older file
                        }
                        continue;
                    }
                    if (seq != last + 1) {
                        throw new CorruptLogException(file, r.position(), "sequence " + seq + " follows " + last);
                    }
                    IngestIndex.Entry e = new IngestIndex.Entry(SegmentFormat.decode(r), r.length());
                    e.segment = segment;
                    e.position = r.position();
                    index.addRecovered(e);
                    scannedRecords++;
                    last = seq;
                }
                seg.lastSeq = last;
                if (RecoveryRule.mayHoldUnsynced(cp, segment)) {
                    // Records after the checkpoint may have survived a kill -9 only in the page cache (written,
                    // never synced). They are about to be reported durable (re-acked on resume): sync them first.
                    LogIO.get().force(file, ch, false);
                }
                long sizeBefore = ch.size();
                if (RecoveryRule.cutOrRefuse(cp, segment, reader.stop(), ch)) {
                    // Torn tail: the power cut came before these bytes were synced, so nothing here was acked.
                    // (In a reused spare file the old records past the end look the same: never acked either.)
                    LOG.warning("ingest log " + name + ": torn tail in " + file.getFileName() + " at offset "
                            + reader.position() + " (" + reader.stop().describe() + ", "
                            + (sizeBefore - reader.position()) + " bytes after it, checkpoint "
                            + (cp == null ? "none" : cp.segment() + "@" + cp.position()) + "): truncated");
                    truncatedTail = true;
                }
                lastEnd = reader.position();
                index.segments.put(segment, seg);
            }
        }
        RecoveryRule.checkReachesCheckpoint(cp, last, dir.resolve(LogFileNames.CHECKPOINT));
        finish(last, cp, lastEnd);
    }

    /** @param appendAt where the last segment's next record starts (a record boundary, not the file size) */
    private void finish(long last, Checkpoint cp, long appendAt) throws IOException {
        index.lastAccepted = last;
        index.durableSeq = last;
        index.notifiedSeq = last;
        if (index.segments.isEmpty()) {
            segments.start(cp == null ? 1 : cp.segment() + 1, last + 1);
        } else {
            segments.resume(index.segments.lastEntry().getValue(), appendAt);
        }
        segments.writeCheckpoint();
    }
}
