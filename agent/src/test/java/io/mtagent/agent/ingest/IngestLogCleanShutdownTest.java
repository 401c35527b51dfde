package io.mtagent.agent.ingest;

import static org.assertj.core.api.Assertions.assertThat;

import io.mtagent.agent.log.CorruptLogException;
import io.mtagent.agent.log.LogFileNames;
import io.mtagent.agent.log.SegmentHeader;
import io.mtagent.agent.log.SegmentKind;
import io.netty.buffer.Unpooled;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The clean-shutdown marker: a clean close lets the next open skip the scan and yields exactly the same log;
 * a crash (no close), a stale marker, or bytes written after the marker all fall back to the scan.
 */
class IngestLogCleanShutdownTest {
    private static final IngestLogOptions OPTIONS = IngestLogOptions.builder().segmentBytes(64 * 1024).build();

    @TempDir
    Path dir;

    @Test
    void cleanCloseSkipsTheScanAndKeepsEverything() throws Exception {
        Path log = dir.resolve("d");
        try (IngestLog l = IngestLog.open(log, "d", OPTIONS)) {
            append(l, 1, 300); // several 64 KiB segments
            l.flush();
            l.markApplied(40);
        }
        assertThat(log.resolve(LogFileNames.CLEAN)).exists();
        try (IngestLog l = IngestLog.open(log, "d", OPTIONS)) {
            assertThat(l.recoveredClean()).isTrue();
            assertThat(l.recoveryScannedRecords()).isZero();
            assertThat(log.resolve(LogFileNames.CLEAN)).doesNotExist(); // removed before anything is appended
            assertReadable(l, 40, 300);
            append(l, 301, 20);
            l.flush();
        }
        try (IngestLog l = IngestLog.open(log, "d", OPTIONS)) {
            assertThat(l.recoveredClean()).isTrue();
            assertReadable(l, 40, 320);
        }
    }

    @Test
    void crashWithoutCloseScansAndKeepsEverything() throws Exception {
        Path log = dir.resolve("d");
        try (IngestLog l = IngestLog.open(log, "d", OPTIONS)) {
            append(l, 1, 50);
            l.flush();
        }
        IngestLog live = IngestLog.open(log, "d", OPTIONS); // the marker is consumed here
        append(live, 51, 50);
        live.flush();
        Path crashed = dir.resolve("crashed"); // the files as kill -9 would leave them
        copy(log, crashed);
        live.close();
        try (IngestLog l = IngestLog.open(crashed, "d", OPTIONS)) {
            assertThat(l.recoveredClean()).isFalse();
            assertThat(l.recoveryScannedRecords()).isEqualTo(100);
            assertReadable(l, 0, 100);
        }
    }

    @Test
    void bytesAfterTheMarkerOrAStaleMarkerMeanAScan() throws Exception {
        Path log = dir.resolve("d");
        try (IngestLog l = IngestLog.open(log, "d", OPTIONS)) {
            append(l, 1, 10);
        }
        byte[] marker = Files.readAllBytes(log.resolve(LogFileNames.CLEAN));
        // A torn half-record after the clean close: the marker no longer matches; the scan cuts the tail.
        Path seg;
        try (Stream<Path> s = Files.list(log)) {
            seg = s.filter(p -> LogFileNames.isSegment(SegmentKind.INGEST, p.getFileName().toString())).sorted().reduce((a, b) -> b).get();
        }
        try (FileChannel ch = FileChannel.open(seg, StandardOpenOption.WRITE, StandardOpenOption.APPEND)) {
            ch.write(ByteBuffer.wrap(new byte[] {1, 2, 3}));
        }
        try (IngestLog l = IngestLog.open(log, "d", OPTIONS)) {
            assertThat(l.recoveredClean()).isFalse();
            assertReadable(l, 0, 10);
            append(l, 11, 5);
            l.flush();
        }
        // A stale marker (from an earlier clean close) next to files written since, as a crash could leave them.
        try (IngestLog l = IngestLog.open(log, "d", OPTIONS)) {
            assertThat(l.recoveredClean()).isTrue();
            append(l, 16, 5);
            l.flush();
            Files.write(log.resolve(LogFileNames.CLEAN), marker);
            copy(log, dir.resolve("stale"));
        }
        try (IngestLog l = IngestLog.open(dir.resolve("stale"), "d", OPTIONS)) {
            assertThat(l.recoveredClean()).isFalse();
            assertReadable(l, 0, 20);
        }
    }

    @Test
    void forgettingTheMarkerMakesTheScanFindCorruption() throws Exception {
        Path log = dir.resolve("d");
        try (IngestLog l = IngestLog.open(log, "d", OPTIONS)) {
            append(l, 1, 100);
        }
        Path first;
        try (Stream<Path> s = Files.list(log)) {
            first = s.filter(p -> LogFileNames.isSegment(SegmentKind.INGEST, p.getFileName().toString())).sorted().findFirst().get();
        }
        try (FileChannel ch = FileChannel.open(first, StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.wrap(new byte[] {(byte) 0xff, (byte) 0xfe}), SegmentHeader.LENGTH + 200);
        }
        IngestLog.forgetCleanShutdown(log);
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> IngestLog.open(log, "d", OPTIONS))
                .isInstanceOf(CorruptLogException.class);
    }

    private static void append(IngestLog l, long firstSeq, int count) {
        for (long seq = firstSeq; seq < firstSeq + count; seq++) {
            if (seq % 7 == 0) {
                l.offer(IngestRecord.tag(seq, 1, seq, (byte) 1, "tag-" + seq), null);
                continue;
            }
            byte[] data = data(seq);
            CRC32C c = new CRC32C();
            c.update(data);
            assertThat(l.offer(IngestRecord.write(seq, 1, seq, seq * 512, data.length, (int) c.getValue(), false),
                    Unpooled.wrappedBuffer(data))).isEqualTo(OfferResult.ACCEPTED);
        }
    }

    private static byte[] data(long seq) {
        byte[] d = new byte[1024];
        java.util.Arrays.fill(d, (byte) seq);
        return d;
    }

    private static void assertReadable(IngestLog l, long applied, long last) throws IOException {
        assertThat(l.lastDurableSeq()).isEqualTo(last);
        List<StoredRecord> all = new ArrayList<>();
        long after = applied;
        while (after < last) {
            List<StoredRecord> batch = l.readDurable(after, 1 << 20);
            assertThat(batch).isNotEmpty();
            all.addAll(batch);
            after = batch.get(batch.size() - 1).record().seq();
        }
        assertThat(all).hasSize((int) (last - applied));
        for (StoredRecord r : all) {
            if (r.record().type() == IngestRecord.Type.WRITE) {
                assertThat(r.payload()).isEqualTo(data(r.record().seq()));
            } else {
                assertThat(r.record().tagName()).isEqualTo("tag-" + r.record().seq());
            }
        }
    }

    private static void copy(Path from, Path to) throws IOException {
        Files.createDirectories(to);
        try (Stream<Path> s = Files.list(from)) {
            for (Path p : s.toList()) {
                Files.copy(p, to.resolve(p.getFileName()));
            }
        }
    }
}
