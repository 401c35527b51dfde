package io.mtagent.agent.ingest;

import static org.assertj.core.api.Assertions.assertThat;

import io.mtagent.agent.log.LogFileNames;
import io.mtagent.agent.log.SegmentKind;
import io.netty.buffer.Unpooled;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.zip.CRC32C;
import net.jpountz.lz4.LZ4Compressor;
import net.jpountz.lz4.LZ4Factory;

/** Shared generators and checks for the storage tests: real records, real LZ4, real files. */
public final class LogFixtures {
    public static final LZ4Compressor LZ4 = LZ4Factory.fastestInstance().fastCompressor();

    private LogFixtures() {
    }

    /** A record as offered: metadata plus the payload bytes as stored (compressed when flagged; null for tags). */
    public record Rec(IngestRecord record, byte[] payload, byte[] data) {
    }

    /** Small segments, and no time-driven checkpoints, so checkpoints happen only at open, roll and close. */
    public static IngestLogOptions smallSegments() {
        return IngestLogOptions.builder().segmentBytes(64 * 1024).checkpointIntervalMillis(3_600_000).build();
    }

    /** 1 MiB segments, the other settings default: the applier tests' log. */
    public static IngestLogOptions mebibyteSegments() {
        return IngestLogOptions.builder().segmentBytes(1 << 20).build();
    }

    /** The whole target, read into a heap array (to compare with a model). */
    public static byte[] readTarget(io.mtagent.nativeio.BlockDevice dev) throws IOException {
        java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate((int) dev.size());
        dev.read(0, b);
        return b.array();
    }

    public static int crc(byte[] b) {
        CRC32C c = new CRC32C();
        c.update(b);
        return (int) c.getValue();
    }

    /** Data that is partly compressible (runs) and partly random. */
    public static byte[] data(SplittableRandom r, int length) {
        byte[] d = new byte[length];
        int i = 0;
        while (i < length) {
            int run = Math.min(length - i, 1 + r.nextInt(64));
            if (r.nextBoolean()) {
                Arrays.fill(d, i, i + run, (byte) r.nextInt(256));
            } else {
                for (int k = 0; k < run; k++) {
                    d[i + k] = (byte) r.nextInt(256);
                }
            }
            i += run;
        }
        return d;
    }

    public static Rec write(long seq, long offset, byte[] data, boolean compress) {
        byte[] payload = compress ? LZ4.compress(data) : data;
        return new Rec(IngestRecord.write(seq, 7, 1_000_000L + seq, offset, data.length, crc(data), compress),
                payload, data);
    }

    /** The segment files of a log directory, in order. */
    public static List<java.nio.file.Path> segments(java.nio.file.Path dir) throws IOException {
        try (java.util.stream.Stream<java.nio.file.Path> s = java.nio.file.Files.list(dir)) {
            return s.filter(p -> LogFileNames.isSegment(SegmentKind.INGEST, p.getFileName().toString())).sorted().toList();
        }
    }

    /**
     * Copies a live log like a crash would leave it: the small files first (they can only be older), then the
     * segment and spare files.
     */
    public static void crashCopy(java.nio.file.Path from, java.nio.file.Path to) throws IOException {
        java.nio.file.Files.createDirectories(to);
        for (String f : List.of(LogFileNames.CHECKPOINT, LogFileNames.APPLIED)) {
            if (java.nio.file.Files.exists(from.resolve(f))) {
                java.nio.file.Files.copy(from.resolve(f), to.resolve(f));
            }
        }
        try (java.util.stream.Stream<java.nio.file.Path> s = java.nio.file.Files.list(from)) {
            for (java.nio.file.Path p : s.toList()) {
                String name = p.getFileName().toString();
                if (LogFileNames.isSegment(SegmentKind.INGEST, name) || LogFileNames.isSpare(name)) {
                    java.nio.file.Files.copy(p, to.resolve(name));
                }
            }
        }
    }

    /** Flips bits of one byte of {@code file} in place (a second call at the same place restores it). */
    public static void flipByte(java.nio.file.Path file, long at) throws IOException {
        try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(file,
                java.nio.file.StandardOpenOption.READ, java.nio.file.StandardOpenOption.WRITE)) {
            java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(1);
            ch.read(b, at);
            b.put(0, (byte) (b.get(0) ^ 0x5a));
            b.position(0);
            ch.write(b, at);
        }
    }

    public static Rec tag(long seq, String name) {
        return new Rec(IngestRecord.tag(seq, 7, 1_000_000L + seq, (byte) 1, name), null, null);
    }

    /** A random mix: 85 % writes of 512 B..6 KiB (half LZ4-compressed), 15 % tags. */
    public static Rec random(SplittableRandom r, long seq) {
        if (r.nextInt(100) < 15) {
            return tag(seq, "tag-" + seq + "-" + Long.toHexString(r.nextLong()));
        }
        int len = 512 * (1 + r.nextInt(12));
        return write(seq, 512L * r.nextInt(4096), data(r, len), r.nextBoolean());
    }

    public static OfferResult offer(IngestLog log, Rec rec) {
        return log.offer(rec.record(), rec.payload() == null ? null : Unpooled.wrappedBuffer(rec.payload()));
    }

    public static List<Rec> offerRandom(IngestLog log, SplittableRandom r, long firstSeq, int n) {
        List<Rec> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            Rec rec = random(r, firstSeq + i);
            assertThat(offer(log, rec)).as("offer seq %d", firstSeq + i).isEqualTo(OfferResult.ACCEPTED);
            out.add(rec);
        }
        return out;
    }

    public static List<StoredRecord> readAll(IngestLog log, long afterSeq) throws IOException {
        List<StoredRecord> out = new ArrayList<>();
        long after = afterSeq;
        while (true) {
            List<StoredRecord> batch = log.readDurable(after, 256 * 1024);
            if (batch.isEmpty()) {
                return out;
            }
            out.addAll(batch);
            after = batch.get(batch.size() - 1).record().seq();
        }
    }

    /** The log holds exactly {@code expected} (in order, after {@code afterSeq}), with equal metadata and bytes. */
    public static void assertHolds(IngestLog log, long afterSeq, List<Rec> expected, String context) throws IOException {
        List<StoredRecord> got = readAll(log, afterSeq);
        assertThat(got).as("%s: record count", context).hasSize(expected.size());
        for (int i = 0; i < expected.size(); i++) {
            Rec want = expected.get(i);
            StoredRecord s = got.get(i);
            assertThat(s.record()).as("%s: metadata of seq %d", context, want.record().seq()).isEqualTo(want.record());
            byte[] wantPayload = want.payload() == null
                    ? want.record().tagName().getBytes(java.nio.charset.StandardCharsets.UTF_8) : want.payload();
            assertThat(s.payload()).as("%s: payload of seq %d", context, want.record().seq()).isEqualTo(wantPayload);
            assertThat(s.payloadCrc()).as("%s: payload CRC the reader reports for seq %d", context,
                    want.record().seq()).isEqualTo(crc(wantPayload));
            if (want.data() != null) {
                assertThat(RecordPayloads.decode(s)).as("%s: data of seq %d", context, want.record().seq())
                        .isEqualTo(want.data());
            }
        }
    }
}
