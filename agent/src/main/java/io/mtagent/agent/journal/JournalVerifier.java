package io.mtagent.agent.journal;

import io.mtagent.agent.log.CorruptLogException;
import io.mtagent.agent.log.LogFileNames;
import io.mtagent.agent.log.SegmentHeader;
import io.mtagent.agent.log.SegmentReader;
import io.mtagent.agent.log.VerifiedRecord;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.function.LongConsumer;
import java.util.logging.Logger;

/**
 * Re-reads a retention journal's records with the {@link SegmentReader}: online verify ({@code mtagent verify},
 * without touching the files), the rebuild of a sealed segment's index that went missing or stale, and the note of
 * the first damage found since open (for the status, MT-2005, until {@code mtagent verify --repair}).
 *
 * <p>Thread-safety: any thread, beside the applier's appends; the damage note is a volatile field.
 */
final class JournalVerifier {
    private static final Logger LOG = Logger.getLogger(JournalVerifier.class.getName());

    private final Path dir;
    private final JournalState state;
    private final JournalWriter writer;
    /** The first damage found by a read or a verify since open ("file at offset: reason"), or null. */
    private volatile String damage;

    JournalVerifier(Path dir, JournalState state, JournalWriter writer) {
        this.dir = dir;
        this.state = state;
        this.writer = writer;
    }

    String damage() {
        return damage;
    }

    void noteDamage(String what) {
        if (damage == null) {
            damage = what;
            LOG.severe("retention journal " + dir + " is damaged: " + what + ". Recovery points before the damage"
                    + " cannot be read. Stop the agent, copy " + dir + ", then run 'mtagent verify --repair'");
        }
    }

    /** See {@link RetentionJournal#verifyOnline}. */
    String verifyOnline(LongConsumer progress) throws IOException {
        String found = verifyRecords(progress);
        if (found != null) {
            noteDamage(found);
        }
        return found;
    }

    private String verifyRecords(LongConsumer progress) throws IOException {
        List<long[]> segs = state.segmentsSnapshot();
        try (AutoCloseable hold = state.lease(state.prunedThrough())) {
            long checked = 0;
            Integer prevChain = null;
            long prevSeq = 0;
            for (long[] e : segs) {
                long last = e[2];
                Path file = dir.resolve(LogFileNames.segment(JournalFormat.KIND, e[0]));
                try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
                    SegmentHeader h = SegmentHeader.read(JournalFormat.KIND, ch);
                    if (h == null || h.incarnation() != e[1] || (prevChain != null && h.chainSeed() != prevChain)) {
                        return file + " at 0: segment header does not verify or breaks the chain";
                    }
                    // The current segment grows meanwhile: read only what was there when the verify started.
                    SegmentReader reader = new SegmentReader(JournalFormat.KIND, file, ch, h);
                    while (true) {
                        VerifiedRecord r = reader.next();
                        if (r == null) {
                            return file + " at " + reader.position() + ": " + (reader.stop().clean()
                                    ? "ends before seq " + last : reader.stop().describe());
                        }
                        long seq = r.seq();
                        if (prevSeq != 0 && seq != prevSeq + 1 && seq > state.prunedThrough()) {
                            return file + " at " + r.position() + ": sequence " + seq + " after " + prevSeq;
                        }
                        prevSeq = seq;
                        progress.accept(++checked);
                        if (seq >= last) {
                            break;
                        }
                    }
                    prevChain = reader.chain();
                }
            }
            return null;
        } catch (IOException e) {
            throw e;
        } catch (Exception e) {
            throw new IOException(e);
        }
    }

    /**
     * Rebuilds a sealed segment's index from the segment (its index file went missing or stale while the agent
     * ran), verifying every record, and writes it again.
     */
    SegmentIndex scanSealed(SegmentIndex.Summary s) throws IOException {
        Path file = dir.resolve(LogFileNames.segment(JournalFormat.KIND, s.segment()));
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            SegmentHeader h = SegmentHeader.read(JournalFormat.KIND, ch);
            if (h == null || h.incarnation() != s.incarnation()) {
                throw new CorruptLogException(file, 0, "journal segment header does not verify");
            }
            SegmentIndex idx = new SegmentIndex(s.segment(), s.incarnation(), 1024);
            SegmentReader reader = new SegmentReader(JournalFormat.KIND, file, ch, h);
            VerifiedRecord r;
            while ((r = reader.next()) != null) {
                if (r.seq() >= s.firstSeq()) {
                    JournalFormat.addTo(idx, r);
                }
            }
            if (!reader.stop().clean()) {
                throw new CorruptLogException(file, reader.position(), reader.stop().describe());
            }
            if (idx.count() == 0 || idx.firstSeq() != s.firstSeq() || idx.lastSeq() != s.lastSeq()) {
                throw new CorruptLogException(file, 0, "segment no longer holds seq " + s.firstSeq() + ".." + s.lastSeq());
            }
            idx.seal(reader.position(), reader.chain());
            writer.writeIndex(idx);
            return idx;
        }
    }
}
