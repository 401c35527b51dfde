package io.mtagent.agent.ingest;

import io.mtagent.agent.log.CorruptLogException;
import io.mtagent.agent.log.LogFileNames;
import io.mtagent.agent.log.ReadStop;
import io.mtagent.agent.log.RecordDamageException;
import io.mtagent.agent.log.SegmentReader;
import io.mtagent.agent.log.VerifiedRecord;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.LongConsumer;
import java.util.zip.CRC32C;

/**
 * Reads durable records of an ingest log by their index entries, every record verified by the
 * {@link SegmentReader} (CRC, incarnation, length) however it is read: the applier's batches ({@link #readDurable},
 * applier thread, its own file handles kept per segment), point-in-time views beyond the applied point
 * ({@link #readRange}, any thread, handles of its own) and online verify ({@link #verifyUnapplied}).
 */
final class IngestReader {
    private final Path dir;
    private final IngestIndex index;

    /** A segment open for reading, and its file (named in a damage report). */
    private record OpenSegment(Path file, FileChannel channel) {
    }

    // Applier thread only: the segments' read handles, the reusable read buffers and the CRC.
    private final Map<Long, OpenSegment> readChannels = new HashMap<>();
    private final SegmentReader.Scratch scratch = new SegmentReader.Scratch();
    private final ByteBuffer readHeader = ByteBuffer.allocateDirect(SegmentFormat.RECORD_HEADER_LENGTH);
    private final CRC32C readCrc = new CRC32C();

    IngestReader(Path dir, IngestIndex index) {
        this.dir = dir;
        this.index = index;
    }

    private Path file(long segment) {
        return dir.resolve(LogFileNames.segment(SegmentFormat.KIND, segment));
    }

    /** See {@link IngestLog#readDurable(long, int, DirectPayloadBuffers.Lease)}. Applier thread only. */
    List<StoredRecord> readDurable(long afterSeq, int maxBytes, DirectPayloadBuffers.Lease lease) throws IOException {
        List<IngestIndex.Location> where = index.durableAfter(afterSeq, maxBytes);
        long bytes = 0;
        for (IngestIndex.Location w : where) {
            bytes += w.length();
        }
        if (lease != null && !lease.takesBatchOf(bytes)) {
            lease = null; // a quiet disk's small batch: read onto the heap (DirectPayloadBuffers#takesBatchOf)
        }
        List<StoredRecord> out = new ArrayList<>(where.size());
        long decodedBytes = 0;
        for (IngestIndex.Location w : where) {
            if (!out.isEmpty() && decodedBytes >= maxBytes) {
                break; // compressible data: the batch's decoded size, which its consumers hold in memory, is the bound
            }
            OpenSegment seg = readChannels.get(w.segment());
            if (seg == null) {
                Path file = file(w.segment());
                seg = new OpenSegment(file, FileChannel.open(file, StandardOpenOption.READ));
                readChannels.put(w.segment(), seg);
            }
            ByteBuffer direct = lease == null || w.tag() ? null
                    : lease.tryAcquire(Math.max(0, w.length() - SegmentFormat.RECORD_HEADER_LENGTH));
            VerifiedRecord r;
            try {
                r = direct != null
                        ? SegmentReader.readAtInto(SegmentFormat.KIND, seg.file(), seg.channel(), w.incarnation(), 0,
                                w.position(), w.length(), readHeader, direct, readCrc)
                        : SegmentReader.readAt(SegmentFormat.KIND, seg.file(), seg.channel(), w.incarnation(), 0,
                                w.position(), w.length(), scratch, readCrc);
            } catch (RecordDamageException e) {
                throw new CorruptLogException(e.stop().file(), e.stop().offset(),
                        "a durable record no longer verifies (" + e.stop().describe() + ")");
            }
            IngestRecord rec = SegmentFormat.decode(r);
            if (direct != null && rec.type() == IngestRecord.Type.WRITE) {
                out.add(new StoredRecord(rec, null, r.payloadCrc(), direct));
            } else {
                out.add(new StoredRecord(rec, r.payloadBytes(), r.payloadCrc()));
            }
            decodedBytes += Math.max(w.length(), rec.type() == IngestRecord.Type.WRITE ? rec.length() : 0);
        }
        return out;
    }

    /** See {@link IngestLog#readRange}. Any thread. */
    List<StoredRecord> readRange(long afterSeq, long throughSeq) throws IOException {
        List<IngestIndex.Location> where = index.durableRange(afterSeq, throughSeq);
        if (where == null) {
            return null;
        }
        Handles handles = new Handles();
        try {
            List<StoredRecord> out = new ArrayList<>(where.size());
            for (IngestIndex.Location w : where) {
                StoredRecord r = readOne(handles, w);
                if (r == null) {
                    return null; // the segment was applied and deleted or recycled under us
                }
                out.add(r);
            }
            return out;
        } finally {
            closeAll(handles.channels);
        }
    }

    /** See {@link IngestLog#verifyUnapplied}. Any thread. */
    String verifyUnapplied(LongConsumer progress) throws IOException {
        List<IngestIndex.Location> where = index.durableUnapplied();
        Handles handles = new Handles();
        try {
            long checked = 0;
            for (IngestIndex.Location w : where) {
                Path file = file(w.segment());
                StoredRecord r;
                try {
                    r = readOne(handles, w);
                } catch (RecordDamageException e) {
                    return file + " at " + w.position() + ": a durable record does not verify ("
                            + e.stop().describe() + ")";
                }
                if (r == null) {
                    continue; // applied and pruned meanwhile
                }
                if (r.record().type() == IngestRecord.Type.WRITE) {
                    try {
                        RecordPayloads.decode(r);
                    } catch (IOException bad) {
                        return file + " at " + w.position() + ": " + bad.getMessage();
                    }
                }
                progress.accept(++checked);
            }
            return null;
        } finally {
            closeAll(handles.channels);
        }
    }

    /** The caller's handles and buffers for reads off the applier thread. */
    private static final class Handles {
        final Map<Long, FileChannel> channels = new HashMap<>();
        final SegmentReader.Scratch scratch = new SegmentReader.Scratch();
        final CRC32C crc = new CRC32C();
    }

    /**
     * Reads one located record with the caller's handles: null when it was applied meanwhile (its file gone, or
     * recycled and holding something else there now); {@link RecordDamageException} when it does not verify or is
     * not the record the index names, and is not applied.
     */
    private StoredRecord readOne(Handles h, IngestIndex.Location w) throws IOException {
        Path file = file(w.segment());
        FileChannel ch = h.channels.get(w.segment());
        if (ch == null) {
            try {
                ch = FileChannel.open(file, StandardOpenOption.READ);
            } catch (NoSuchFileException gone) {
                return null;
            }
            h.channels.put(w.segment(), ch);
        }
        try {
            VerifiedRecord r = SegmentReader.readAt(SegmentFormat.KIND, file, ch, w.incarnation(), 0, w.position(),
                    w.length(), h.scratch, h.crc);
            if (r.seq() != w.seq()) {
                throw new RecordDamageException(new ReadStop(ReadStop.Reason.INCONSISTENT_HEADER, file,
                        w.position(), "(seq " + r.seq() + " where the index has " + w.seq() + ")"));
            }
            return new StoredRecord(SegmentFormat.decode(r), r.payloadBytes(), r.payloadCrc());
        } catch (RecordDamageException e) {
            if (index.get(i -> i.appliedSeq) >= w.seq()) {
                return null; // the segment was retired under us: applied meanwhile
            }
            throw e;
        }
    }

    /** Closes the handle of a segment the applier no longer needs. Applier thread. */
    void forget(long segment) throws IOException {
        OpenSegment seg = readChannels.remove(segment);
        if (seg != null) {
            seg.channel().close();
        }
    }

    void close() throws IOException {
        for (OpenSegment seg : readChannels.values()) {
            seg.channel().close();
        }
        readChannels.clear();
    }

    private static void closeAll(Map<Long, FileChannel> channels) throws IOException {
        for (FileChannel ch : channels.values()) {
            ch.close();
        }
        channels.clear();
    }
}
