package io.mtagent.agent.log;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The one segment reader, on hand-built segments of both kinds: every way a read ends has its typed reason, the
 * stricter of the two former readers' behaviours. Zeroes where a record starts are never a clean end (the writer
 * never preallocates); a file that ends, or shrinks, inside a record is a truncated record, never an exception and
 * never a short buffer taken for a body; a length word out of bounds stops the read before anything is allocated.
 */
class SegmentReaderTest {
    private static final long INCARNATION = 0x1234_5678_9abc_def0L;
    private static final int SEED = 0x0bad_cafe;

    @TempDir
    Path tmp;

    /** A segment with {@code count} records of growing payloads; returns where each record starts. */
    private static List<Long> build(SegmentKind kind, Path file, int count) throws IOException {
        List<Long> starts = new ArrayList<>();
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
            new SegmentHeader(INCARNATION, 1, 1, SEED).writeTo(kind, ch);
            long pos = SegmentHeader.LENGTH;
            int chain = SEED;
            for (int i = 0; i < count; i++) {
                ByteBuffer record = record(kind, i + 1, 100 + 37 * i, chain, INCARNATION);
                chain = record.getInt(4);
                starts.add(pos);
                ch.write(record, pos);
                pos += record.capacity();
            }
        }
        return starts;
    }

    /** One framed record (prefix, body, padding) of type 1 chained from {@code chainBefore}. */
    static ByteBuffer record(SegmentKind kind, long seq, int payloadLength, int chainBefore, long incarnation) {
        ByteBuffer header = ByteBuffer.allocate(kind.bodyHeaderLength());
        header.put(RecordFraming.TYPE_OFFSET, (byte) 1).putInt(RecordFraming.PAYLOAD_LENGTH_OFFSET, payloadLength)
                .putLong(RecordFraming.INCARNATION_OFFSET, incarnation).putLong(RecordFraming.SEQ_OFFSET, seq);
        ByteBuffer payload = ByteBuffer.allocate(payloadLength);
        for (int i = 0; i < payloadLength; i++) {
            payload.put(i, (byte) (seq * 31 + i));
        }
        int crc = RecordFraming.recordCrc(kind, new CRC32C(), chainBefore, header, payload);
        ByteBuffer r = ByteBuffer.allocate(RecordFraming.recordLength(kind, payloadLength));
        r.putInt(kind.bodyHeaderLength() + payloadLength).putInt(crc).put(header).put(payload).clear();
        return r;
    }

    private static ReadStop readAll(SegmentKind kind, Path file, List<Long> seqs) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            SegmentReader reader = new SegmentReader(kind, file, ch, SegmentHeader.read(kind, ch));
            VerifiedRecord r;
            while ((r = reader.next()) != null) {
                seqs.add(r.seq());
            }
            assertThat(reader.next()).as("a stopped reader stays stopped").isNull();
            assertThat(reader.stop().offset()).isEqualTo(reader.position());
            return reader.stop();
        }
    }

    private static void overwrite(Path file, long at, ByteBuffer bytes) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ch.write(bytes, at);
        }
    }

    private static void truncate(Path file, long size) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ch.truncate(size);
        }
    }

    @ParameterizedTest
    @EnumSource(SegmentKind.class)
    void anIntactSegmentEndsCleanly(SegmentKind kind) throws IOException {
        Path f = tmp.resolve("s");
        build(kind, f, 5);
        List<Long> seqs = new ArrayList<>();
        ReadStop stop = readAll(kind, f, seqs);
        assertThat(seqs).containsExactly(1L, 2L, 3L, 4L, 5L);
        assertThat(stop.reason()).isEqualTo(ReadStop.Reason.CLEAN_END);
        assertThat(stop.clean()).isTrue();
    }

    @ParameterizedTest
    @EnumSource(SegmentKind.class)
    void zeroesWhereARecordStartsAreNotACleanEnd(SegmentKind kind) throws IOException {
        Path f = tmp.resolve("s");
        List<Long> starts = build(kind, f, 5);
        overwrite(f, starts.get(3), ByteBuffer.allocate(8 * 1024)); // records 4, 5 and beyond zeroed
        List<Long> seqs = new ArrayList<>();
        ReadStop stop = readAll(kind, f, seqs);
        assertThat(seqs).containsExactly(1L, 2L, 3L);
        assertThat(stop.reason()).isEqualTo(ReadStop.Reason.ZEROED_PREFIX);
        assertThat(stop.clean()).as("zeroes are damage for the recovery rule to judge, not the end of the log").isFalse();
        assertThat(stop.offset()).isEqualTo(starts.get(3));
        assertThat(stop.file()).isEqualTo(f);
    }

    @ParameterizedTest
    @EnumSource(SegmentKind.class)
    void aFileEndingInsideAPrefixOrABodyIsATruncatedRecord(SegmentKind kind) throws IOException {
        Path f = tmp.resolve("s");
        List<Long> starts = build(kind, f, 5);
        truncate(f, starts.get(4) + 5);
        List<Long> seqs = new ArrayList<>();
        assertThat(readAll(kind, f, seqs).reason()).isEqualTo(ReadStop.Reason.TRUNCATED_PREFIX);
        assertThat(seqs).hasSize(4);
        truncate(f, starts.get(3) + 40);
        seqs.clear();
        ReadStop stop = readAll(kind, f, seqs);
        assertThat(stop.reason()).isEqualTo(ReadStop.Reason.TRUNCATED_RECORD);
        assertThat(stop.offset()).isEqualTo(starts.get(3));
        assertThat(seqs).hasSize(3);
    }

    @ParameterizedTest
    @EnumSource(SegmentKind.class)
    void anOutOfBoundsLengthWordStopsBeforeAnyAllocation(SegmentKind kind) throws IOException {
        Path f = tmp.resolve("s");
        List<Long> starts = build(kind, f, 3);
        overwrite(f, starts.get(1), ByteBuffer.allocate(4).putInt(0, Integer.MAX_VALUE));
        List<Long> seqs = new ArrayList<>();
        ReadStop stop = readAll(kind, f, seqs);
        assertThat(stop.reason()).isEqualTo(ReadStop.Reason.BAD_LENGTH);
        assertThat(stop.describe()).contains(String.valueOf(Integer.MAX_VALUE));
        overwrite(f, starts.get(1), ByteBuffer.allocate(4).putInt(0, kind.bodyHeaderLength() - 1));
        assertThat(readAll(kind, f, new ArrayList<>()).reason()).isEqualTo(ReadStop.Reason.BAD_LENGTH);
    }

    @ParameterizedTest
    @EnumSource(SegmentKind.class)
    void aFlippedBitIsACrcMismatchAndAStaleRecordIsNamedAsSuch(SegmentKind kind) throws IOException {
        Path f = tmp.resolve("s");
        List<Long> starts = build(kind, f, 4);
        overwrite(f, starts.get(2) + RecordFraming.payloadOffset(kind) + 3, ByteBuffer.wrap(new byte[] {0x7f}));
        List<Long> seqs = new ArrayList<>();
        assertThat(readAll(kind, f, seqs).reason()).isEqualTo(ReadStop.Reason.CRC_MISMATCH);
        assertThat(seqs).containsExactly(1L, 2L);

        Path g = tmp.resolve("g");
        List<Long> gStarts = build(kind, g, 2);
        int chain = 0;
        try (FileChannel ch = FileChannel.open(g, StandardOpenOption.READ)) {
            SegmentReader reader = new SegmentReader(kind, g, ch, SegmentHeader.read(kind, ch));
            while (reader.next() != null) {
                chain = reader.chain();
            }
        }
        ByteBuffer stale = record(kind, 3, 64, chain, INCARNATION + 1); // right CRC and seq, another incarnation
        overwrite(g, gStarts.get(1) + RecordFraming.recordLength(kind, 137), stale);
        seqs.clear();
        assertThat(readAll(kind, g, seqs).reason()).isEqualTo(ReadStop.Reason.STALE_INCARNATION);
        assertThat(seqs).containsExactly(1L, 2L);
    }

    @ParameterizedTest
    @EnumSource(SegmentKind.class)
    void anIndexedReadVerifiesTheSameWayAndNamesWhere(SegmentKind kind) throws IOException {
        Path f = tmp.resolve("s");
        List<Long> starts = build(kind, f, 3);
        int length = RecordFraming.recordLength(kind, 137);
        try (FileChannel ch = FileChannel.open(f, StandardOpenOption.READ)) {
            SegmentReader reader = new SegmentReader(kind, f, ch, SegmentHeader.read(kind, ch));
            int chainBefore = reader.next().crc();
            VerifiedRecord r = SegmentReader.readAt(kind, f, ch, INCARNATION, chainBefore, starts.get(1), length,
                    new SegmentReader.Scratch(), new CRC32C());
            assertThat(r.seq()).isEqualTo(2);
            assertThat(r.payloadLength()).isEqualTo(137);
            assertThatThrownBy(() -> SegmentReader.readAt(kind, f, ch, INCARNATION + 1, chainBefore, starts.get(1),
                    length, new SegmentReader.Scratch(), new CRC32C()))
                    .isInstanceOfSatisfying(RecordDamageException.class, e -> {
                        assertThat(e.stop().reason()).isEqualTo(ReadStop.Reason.STALE_INCARNATION);
                        assertThat(e.stop().offset()).isEqualTo(starts.get(1));
                    });
            assertThatThrownBy(() -> SegmentReader.readAt(kind, f, ch, INCARNATION, chainBefore, starts.get(1),
                    length + 8, new SegmentReader.Scratch(), new CRC32C()))
                    .isInstanceOfSatisfying(RecordDamageException.class,
                            e -> assertThat(e.stop().reason()).isEqualTo(ReadStop.Reason.BAD_LENGTH));
        }
    }
}
