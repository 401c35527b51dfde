package io.mtagent.agent.log;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mtagent.agent.ingest.IngestLog;
import io.mtagent.agent.ingest.IngestLogOptions;
import io.mtagent.agent.ingest.IngestRecord;
import io.mtagent.agent.ingest.OfferResult;
import io.mtagent.agent.journal.RetentionJournal;
import io.netty.buffer.Unpooled;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * One corruption contract, run against both logs built on the shared layer (the ingest log and the retention
 * journal), through their real open/append/close: write N records, damage the files the way a crash or a bad disk
 * does, reopen, assert exactly the valid prefix survives (or the open is refused, naming the file), append more,
 * reopen (BookKeeper's {@code testTruncatedInLenJournal}/{@code testJunkEndedJournal}, etcd's {@code testRepair}).
 * Damage after the checkpoint is a torn tail and must be cut off; damage before it is corruption and must be
 * refused. (Damage inside a sealed journal segment whose index is intact is found when it is read, by the scrub or
 * by {@code mtagent verify}, not at open: RetentionJournalRecoveryTest.)
 */
class LogCorruptionContractTest {
    private static final int N = 60;
    private static final long SEGMENT_BYTES = 64 << 10;

    @TempDir
    Path tmp;

    /** A log under test, driven through its public API. */
    enum Log {
        INGEST(SegmentKind.INGEST) {
            private final IngestLogOptions options = IngestLogOptions.builder().segmentBytes(SEGMENT_BYTES)
                    .checkpointIntervalMillis(3_600_000).build();

            @Override
            long append(Path dir, long from, int count) throws Exception {
                try (IngestLog log = IngestLog.open(dir, "d", options)) {
                    for (long seq = from; seq < from + count; seq++) {
                        byte[] data = data(seq);
                        IngestRecord r = IngestRecord.write(seq, 1, 1_000_000L + seq, 4096L * (seq % 16), data.length,
                                crc(data), false);
                        assertThat(log.offer(r, Unpooled.wrappedBuffer(data))).isEqualTo(OfferResult.ACCEPTED);
                    }
                    log.flush();
                    return log.lastDurableSeq();
                }
            }

            @Override
            long reopen(Path dir) throws Exception {
                IngestLog.forgetCleanShutdown(dir); // a crash, not a clean close: the scan must run
                try (IngestLog log = IngestLog.open(dir, "d", options)) {
                    return log.lastDurableSeq();
                }
            }
        },
        JOURNAL(SegmentKind.JOURNAL) {
            @Override
            long append(Path dir, long from, int count) throws Exception {
                try (RetentionJournal j = RetentionJournal.open(dir, SEGMENT_BYTES)) {
                    for (long seq = from; seq < from + count; seq++) {
                        if (seq % 10 == 0) {
                            j.appendPoint(seq, 1_000_000L + seq, 1, "p" + seq);
                        } else {
                            j.appendBeforeImage(seq, 1_000_000L + seq, 4096L * (seq % 16), ByteBuffer.wrap(data(seq)));
                        }
                    }
                    j.sync();
                    return j.lastSeq();
                }
            }

            @Override
            long reopen(Path dir) throws Exception {
                try (RetentionJournal j = RetentionJournal.open(dir, SEGMENT_BYTES)) {
                    return j.lastSeq();
                }
            }
        };

        final SegmentKind kind;

        Log(SegmentKind kind) {
            this.kind = kind;
        }

        /** Appends records {@code from}..{@code from+count-1}, syncs, closes; returns the last seq held. */
        abstract long append(Path dir, long from, int count) throws Exception;

        /** Opens after a crash and returns the last seq held (durable). */
        abstract long reopen(Path dir) throws Exception;
    }

    private static byte[] data(long seq) {
        byte[] d = new byte[512 * (1 + (int) (seq % 5))];
        new SplittableRandom(seq).nextBytes(d);
        return d;
    }

    private static int crc(byte[] b) {
        CRC32C c = new CRC32C();
        c.update(b);
        return (int) c.getValue();
    }

    /** Where each record of a segment lies (read with the reader under test; the file is intact here). */
    private static List<VerifiedRecord> records(SegmentKind kind, Path segment) throws IOException {
        try (FileChannel ch = FileChannel.open(segment, StandardOpenOption.READ)) {
            SegmentHeader h = SegmentHeader.read(kind, ch);
            SegmentReader reader = new SegmentReader(kind, segment, ch, h);
            List<VerifiedRecord> out = new ArrayList<>();
            VerifiedRecord r;
            while ((r = reader.next()) != null) {
                out.add(new VerifiedRecord(r.position(), r.length(), copy(r.bodyHeader()), copy(r.payload()),
                        r.payloadCrc(), r.chainBefore(), r.crc()));
            }
            assertThat(reader.stop().reason()).as("test setup: %s is intact", segment)
                    .isEqualTo(ReadStop.Reason.CLEAN_END);
            return out;
        }
    }

    private static ByteBuffer copy(ByteBuffer b) {
        ByteBuffer c = ByteBuffer.allocate(b.remaining());
        c.put(b.duplicate()).flip();
        return c;
    }

    /** N records in several segments, closed; returns the directory. */
    private Path written(Log log) throws Exception {
        Path dir = tmp.resolve(log.name());
        assertThat(log.append(dir, 1, N)).isEqualTo(N);
        assertThat(LogFileNames.segments(dir, log.kind)).as("test setup: more than one segment").hasSizeGreaterThan(1);
        return dir;
    }

    private static Path last(Log log, Path dir) throws IOException {
        List<Path> segs = LogFileNames.segments(dir, log.kind);
        return segs.get(segs.size() - 1);
    }

    /** Moves the checkpoint to the start of the last segment's last record: what follows it is an unsynced tail. */
    private static VerifiedRecord checkpointBeforeLastRecord(Log log, Path dir) throws IOException {
        Path seg = last(log, dir);
        List<VerifiedRecord> recs = records(log.kind, seg);
        VerifiedRecord lastRecord = recs.get(recs.size() - 1);
        new Checkpoint(LogFileNames.indexOf(seg.getFileName().toString()), lastRecord.position(),
                lastRecord.seq() - 1).write(dir.resolve(LogFileNames.CHECKPOINT));
        return lastRecord;
    }

    /** After a torn tail: exactly {@code survivors} are held, and the log goes on (append, reopen). */
    private static void survivesWith(Log log, Path dir, long survivors) throws Exception {
        assertThat(log.reopen(dir)).as("records that survive the damage").isEqualTo(survivors);
        assertThat(log.append(dir, survivors + 1, 5)).as("the log goes on after the tail").isEqualTo(survivors + 5);
        assertThat(log.reopen(dir)).isEqualTo(survivors + 5);
    }

    private static void cut(Path file, long size) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ch.truncate(size);
        }
    }

    private static void write(Path file, long at, byte[] bytes) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.wrap(bytes), at);
        }
    }

    @ParameterizedTest
    @EnumSource(Log.class)
    void aTruncatedLengthWordIsATornTail(Log log) throws Exception {
        Path dir = written(log);
        VerifiedRecord lastRecord = checkpointBeforeLastRecord(log, dir);
        cut(last(log, dir), lastRecord.position() + 3); // 3 of the 8 prefix bytes survived
        survivesWith(log, dir, N - 1);
    }

    @ParameterizedTest
    @EnumSource(Log.class)
    void aTornRecordIsATornTail(Log log) throws Exception {
        Path dir = written(log);
        VerifiedRecord lastRecord = checkpointBeforeLastRecord(log, dir);
        cut(last(log, dir), lastRecord.position() + lastRecord.length() / 2);
        survivesWith(log, dir, N - 1);
    }

    @ParameterizedTest
    @EnumSource(Log.class)
    void aJunkTailIsCutOff(Log log) throws Exception {
        Path dir = written(log);
        checkpointBeforeLastRecord(log, dir);
        Path seg = last(log, dir);
        byte[] junk = new byte[3000];
        new SplittableRandom(7).nextBytes(junk);
        write(seg, Files.size(seg), junk);
        survivesWith(log, dir, N);
    }

    @ParameterizedTest
    @EnumSource(Log.class)
    void aZeroedTailIsCutOff(Log log) throws Exception {
        Path dir = written(log);
        VerifiedRecord lastRecord = checkpointBeforeLastRecord(log, dir);
        write(last(log, dir), lastRecord.position(), new byte[lastRecord.length()]);
        survivesWith(log, dir, N - 1);
    }

    /**
     * A reused file's leftover: after the last record, a record whose CRC is right (chained where the kind chains)
     * and whose sequence number follows, but which carries another incarnation of the file. Only the incarnation
     * check stops it from being taken for the next record.
     */
    @ParameterizedTest
    @EnumSource(Log.class)
    void aStaleIncarnationsRecordIsNotTakenForANewOne(Log log) throws Exception {
        Path dir = written(log);
        checkpointBeforeLastRecord(log, dir);
        Path seg = last(log, dir);
        List<VerifiedRecord> recs = records(log.kind, seg);
        VerifiedRecord lastRecord = recs.get(recs.size() - 1);
        ByteBuffer header = copy(lastRecord.bodyHeader());
        header.putLong(RecordFraming.INCARNATION_OFFSET, header.getLong(RecordFraming.INCARNATION_OFFSET) ^ 0x5a5a5a5aL)
                .putLong(RecordFraming.SEQ_OFFSET, lastRecord.seq() + 1);
        ByteBuffer payload = lastRecord.payload();
        int crc = RecordFraming.recordCrc(log.kind, new CRC32C(), lastRecord.crc(), header, payload);
        ByteBuffer stale = ByteBuffer.allocate(RecordFraming.recordLength(log.kind, payload.remaining()));
        stale.putInt(log.kind.bodyHeaderLength() + payload.remaining()).putInt(crc).put(header.duplicate())
                .put(payload.duplicate()).clear();
        write(seg, lastRecord.end(), stale.array());
        try (FileChannel ch = FileChannel.open(seg, StandardOpenOption.READ)) {
            SegmentReader reader = new SegmentReader(log.kind, seg, ch, SegmentHeader.read(log.kind, ch));
            while (reader.next() != null) {
                // to the stop
            }
            assertThat(reader.stop().reason()).isEqualTo(ReadStop.Reason.STALE_INCARNATION);
            assertThat(reader.stop().offset()).isEqualTo(lastRecord.end());
        }
        survivesWith(log, dir, N);
    }

    @ParameterizedTest
    @EnumSource(Log.class)
    void aFlippedByteBeforeTheCheckpointIsRefusedNamingTheFile(Log log) throws Exception {
        Path dir = written(log);
        Path first = last(log, dir); // the segment both logs scan at open (the journal trusts sealed ones' indexes)
        VerifiedRecord third = records(log.kind, first).get(2);
        try (FileChannel ch = FileChannel.open(first, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            long at = third.position() + RecordFraming.payloadOffset(log.kind) + 10;
            ByteBuffer b = ByteBuffer.allocate(1);
            ch.read(b, at);
            b.put(0, (byte) (b.get(0) ^ 0x5a)).position(0);
            ch.write(b, at);
        }
        assertThatThrownBy(() -> log.reopen(dir)).isInstanceOf(CorruptLogException.class)
                .hasMessageContaining(first.getFileName().toString())
                .hasMessageContaining("at byte " + third.position())
                .hasMessageContaining(ReadStop.Reason.CRC_MISMATCH.text())
                .hasMessageContaining("mtagent verify --repair");
        assertThat(first).as("corruption is never cut off: the operator copies it first").hasSize(
                Files.size(first));
    }

    @ParameterizedTest
    @EnumSource(Log.class)
    void aZeroedSectorBeforeTheCheckpointIsRefused(Log log) throws Exception {
        Path dir = written(log);
        Path first = last(log, dir);
        long size = Files.size(first);
        VerifiedRecord second = records(log.kind, first).get(1);
        write(first, second.position(), new byte[512]);
        assertThatThrownBy(() -> log.reopen(dir)).isInstanceOf(CorruptLogException.class)
                .hasMessageContaining(first.getFileName().toString())
                .hasMessageContaining(ReadStop.Reason.ZEROED_PREFIX.text());
        assertThat(Files.size(first)).as("nothing is truncated before the checkpoint").isEqualTo(size);
    }
}
