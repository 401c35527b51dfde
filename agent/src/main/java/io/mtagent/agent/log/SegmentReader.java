package io.mtagent.agent.log;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.util.zip.CRC32C;

/**
 * The one reader of segment records, for both logs: recovery, index rebuilds, online verify, the applier and image
 * reads all decide what a good record is here. A record is good when its length word is in bounds
 * ({@link SegmentKind#maxBodyLength}) and inside the file, its CRC (plain or chained, {@link RecordFraming})
 * matches, its incarnation is the segment's and its header agrees with its length.
 *
 * <p>Sequential use ({@link #next}) reads from a position to the end of the file as it was when the reader was
 * made, and stops at the clean end or at the first record that does not verify; {@link #stop()} says which, typed
 * ({@link ReadStop}): never a message to parse. Random access ({@link #readAt}, {@link #readAtInto},
 * {@link #verifyIn}) reads one record whose place and length an index gave, and throws
 * {@link RecordDamageException} when it does not verify.
 *
 * <p>Not thread-safe: one reader per scan. It never closes or moves the channel (except {@link #readAtInto},
 * whose caller owns the channel).
 */
public final class SegmentReader {
    private final SegmentKind kind;
    private final Path file;
    private final FileChannel channel;
    private final long size;
    private final long incarnation;
    private final CRC32C crc = new CRC32C();
    private final ByteBuffer prefix = ByteBuffer.allocate(RecordFraming.PREFIX_LENGTH);
    private long position;
    private int chain;
    private ReadStop stop;

    /** Reads a segment's records from the first one, up to the file's size now. */
    public SegmentReader(SegmentKind kind, Path file, FileChannel channel, SegmentHeader header) throws IOException {
        this(kind, file, channel, header.incarnation(), SegmentHeader.LENGTH, header.chainSeed());
    }

    /**
     * Reads from {@code position} (a record boundary an index gave), whose record chains from {@code chainBefore}
     * (ignored for a plain kind), up to the file's size now.
     */
    public SegmentReader(SegmentKind kind, Path file, FileChannel channel, long incarnation, long position,
                         int chainBefore) throws IOException {
        this.kind = kind;
        this.file = file;
        this.channel = channel;
        this.size = channel.size();
        this.incarnation = incarnation;
        this.position = position;
        this.chain = chainBefore;
    }

    /** The next verified record, or null once the reader stopped ({@link #stop()} says why). */
    public VerifiedRecord next() throws IOException {
        if (stop != null) {
            return null;
        }
        long left = size - position;
        if (left == 0) {
            return stopAt(ReadStop.Reason.CLEAN_END, "");
        }
        if (left < RecordFraming.PREFIX_LENGTH) {
            return stopAt(ReadStop.Reason.TRUNCATED_PREFIX, "");
        }
        if (!readFully(prefix.clear(), position)) {
            return stopAt(ReadStop.Reason.TRUNCATED_PREFIX, "");
        }
        int bodyLength = prefix.getInt(RecordFraming.BODY_LENGTH_OFFSET);
        int storedCrc = prefix.getInt(RecordFraming.CRC_OFFSET);
        ReadStop.Reason bad = checkLength(kind, bodyLength, storedCrc);
        if (bad != null) {
            return stopAt(bad, bad == ReadStop.Reason.BAD_LENGTH ? Integer.toUnsignedString(bodyLength) : "");
        }
        if (RecordFraming.PREFIX_LENGTH + (long) bodyLength > left) {
            return stopAt(ReadStop.Reason.TRUNCATED_RECORD, "of " + bodyLength + " bytes, " + left + " left");
        }
        ByteBuffer body = ByteBuffer.allocate(bodyLength);
        if (!readFully(body, position + RecordFraming.PREFIX_LENGTH)) {
            return stopAt(ReadStop.Reason.TRUNCATED_RECORD, "(the file shrank while it was read)");
        }
        int h = kind.bodyHeaderLength();
        try {
            VerifiedRecord r = verify(kind, file, position, storedCrc, body.slice(0, h),
                    body.slice(h, bodyLength - h), incarnation, true, chain, crc);
            position = r.end();
            chain = r.crc();
            return r;
        } catch (RecordDamageException e) {
            stop = e.stop();
            return null;
        }
    }

    /** Why the reader stopped (null while it has not). */
    public ReadStop stop() {
        return stop;
    }

    /** Where the good records end: after the last one returned. */
    public long position() {
        return position;
    }

    /** The chained CRC after the last record returned (the header's seed before the first). */
    public int chain() {
        return chain;
    }

    private VerifiedRecord stopAt(ReadStop.Reason reason, String detail) {
        stop = new ReadStop(reason, file, position, detail);
        return null;
    }

    /** Reusable direct buffer for {@link #readAt}, grown to the largest record read (one per reader thread). */
    public static final class Scratch {
        private ByteBuffer buffer;

        ByteBuffer atLeast(int bytes) {
            if (buffer == null || buffer.capacity() < bytes) {
                buffer = ByteBuffer.allocateDirect((bytes + 4095) & ~4095);
            }
            return buffer.clear().limit(bytes);
        }
    }

    /**
     * Reads the record at {@code position}, whose whole length the caller's index gave, with one positional read
     * into {@code scratch} (a direct buffer: no bounce copy, the CRC runs on it in place), and verifies it exactly
     * as {@link #next} does. The record's buffers are views of the scratch buffer, valid until its next use. The
     * file may end inside the record's padding (a tail cut there by recovery).
     */
    public static VerifiedRecord readAt(SegmentKind kind, Path file, FileChannel channel, long incarnation,
                                        int chainBefore, long position, int recordLength, Scratch scratch,
                                        CRC32C crc) throws IOException {
        checkIndexedLength(kind, file, position, recordLength);
        ByteBuffer b = scratch.atLeast(recordLength);
        while (b.hasRemaining()) {
            if (channel.read(b, position + b.position()) < 0) {
                break;
            }
        }
        int got = b.position();
        if (got < RecordFraming.PREFIX_LENGTH) {
            throw damage(ReadStop.Reason.TRUNCATED_PREFIX, file, position, "");
        }
        int bodyLength = b.getInt(RecordFraming.BODY_LENGTH_OFFSET);
        checkIndexedBody(kind, file, position, recordLength, bodyLength, b.getInt(RecordFraming.CRC_OFFSET));
        if (RecordFraming.PREFIX_LENGTH + bodyLength > got) {
            throw damage(ReadStop.Reason.TRUNCATED_RECORD, file, position, "");
        }
        int h = kind.bodyHeaderLength();
        return verify(kind, file, position, b.getInt(RecordFraming.CRC_OFFSET),
                b.slice(RecordFraming.PREFIX_LENGTH, h), b.slice(RecordFraming.PREFIX_LENGTH + h, bodyLength - h),
                incarnation, true, chainBefore, crc);
    }

    /**
     * Reads the record at {@code position} as {@link #readAt} does, but with one scattering read: prefix and body
     * header into {@code header} (a buffer of at least {@link RecordFraming#payloadOffset} bytes) and the payload
     * straight into {@code payload} (capacity at least {@code recordLength} minus that), so an aligned
     * {@code payload} holds the bytes at its start, ready for an O_DIRECT write, with no copy. On success
     * {@code payload} has position 0 and limit the payload's length. Moves the channel's position: the caller must
     * own the channel.
     */
    public static VerifiedRecord readAtInto(SegmentKind kind, Path file, FileChannel channel, long incarnation,
                                            int chainBefore, long position, int recordLength, ByteBuffer header,
                                            ByteBuffer payload, CRC32C crc) throws IOException {
        checkIndexedLength(kind, file, position, recordLength);
        int headerLength = RecordFraming.payloadOffset(kind);
        header.clear().limit(headerLength);
        payload.clear().limit(recordLength - headerLength);
        ByteBuffer[] parts = {header, payload};
        channel.position(position);
        while (payload.hasRemaining()) {
            if (channel.read(parts) < 0) {
                break;
            }
        }
        try {
            if (header.hasRemaining()) {
                throw damage(header.position() < RecordFraming.PREFIX_LENGTH ? ReadStop.Reason.TRUNCATED_PREFIX
                        : ReadStop.Reason.TRUNCATED_RECORD, file, position, "");
            }
            int bodyLength = header.getInt(RecordFraming.BODY_LENGTH_OFFSET);
            int storedCrc = header.getInt(RecordFraming.CRC_OFFSET);
            checkIndexedBody(kind, file, position, recordLength, bodyLength, storedCrc);
            int payloadLength = bodyLength - kind.bodyHeaderLength();
            if (payload.position() < payloadLength) {
                throw damage(ReadStop.Reason.TRUNCATED_RECORD, file, position, "");
            }
            payload.limit(payloadLength).position(0);
            return verify(kind, file, position, storedCrc, header.slice(RecordFraming.PREFIX_LENGTH,
                    kind.bodyHeaderLength()), payload, incarnation, true, chainBefore, crc);
        } catch (RecordDamageException e) {
            payload.clear().limit(0);
            throw e;
        }
    }

    /**
     * Verifies the record at index {@code at} of {@code buffer} (read in bulk with its neighbours; the buffer is not
     * moved), which an index says starts at {@code position} of {@code file}, has a body of {@code bodyLength}
     * bytes and chains from {@code chainBefore}. The incarnation is not checked: for a chained kind the CRC already
     * ties the record to its place. {@code file} may be null when the caller names the file in its own report.
     */
    public static VerifiedRecord verifyIn(SegmentKind kind, Path file, ByteBuffer buffer, int at, long position,
                                          int bodyLength, int chainBefore, CRC32C crc) throws RecordDamageException {
        if (buffer.limit() - at < RecordFraming.PREFIX_LENGTH + bodyLength) {
            throw damage(ReadStop.Reason.TRUNCATED_RECORD, file, position, "");
        }
        int stored = buffer.getInt(at + RecordFraming.BODY_LENGTH_OFFSET);
        if (stored != bodyLength) {
            throw damage(ReadStop.Reason.BAD_LENGTH, file, position, Integer.toUnsignedString(stored)
                    + " (indexed " + bodyLength + ")");
        }
        int h = kind.bodyHeaderLength();
        int body = at + RecordFraming.PREFIX_LENGTH;
        return verify(kind, file, position, buffer.getInt(at + RecordFraming.CRC_OFFSET), buffer.slice(body, h),
                buffer.slice(body + h, bodyLength - h), 0, false, chainBefore, crc);
    }

    /** The reason a length word is refused before anything is allocated, or null. */
    private static ReadStop.Reason checkLength(SegmentKind kind, int bodyLength, int storedCrc) {
        if (bodyLength == 0 && storedCrc == 0) {
            return ReadStop.Reason.ZEROED_PREFIX;
        }
        if (bodyLength < kind.bodyHeaderLength() || bodyLength > kind.maxBodyLength()) {
            return ReadStop.Reason.BAD_LENGTH;
        }
        return null;
    }

    private static void checkIndexedLength(SegmentKind kind, Path file, long position, int recordLength)
            throws RecordDamageException {
        if (recordLength < RecordFraming.payloadOffset(kind)
                || recordLength > RecordFraming.recordLength(kind, SegmentKind.MAX_PAYLOAD)) {
            throw damage(ReadStop.Reason.BAD_LENGTH, file, position, "(indexed) " + recordLength);
        }
    }

    private static void checkIndexedBody(SegmentKind kind, Path file, long position, int recordLength,
                                         int bodyLength, int storedCrc) throws RecordDamageException {
        ReadStop.Reason bad = checkLength(kind, bodyLength, storedCrc);
        if (bad == null && RecordFraming.recordLength(kind, bodyLength - kind.bodyHeaderLength()) != recordLength) {
            bad = ReadStop.Reason.BAD_LENGTH;
        }
        if (bad != null) {
            throw damage(bad, file, position, bad == ReadStop.Reason.BAD_LENGTH ? Integer.toUnsignedString(bodyLength)
                    : "");
        }
    }

    /**
     * Checks a record given as its body header and payload: CRC first (a torn or zeroed record never matches), then
     * the incarnation (a stale record of a reused file matches its CRC but not the segment), then the header's own
     * consistency. The payload's own CRC-32C comes out of the same single pass (combined, {@link RecordFraming}).
     */
    private static VerifiedRecord verify(SegmentKind kind, Path file, long position, int storedCrc,
                                         ByteBuffer bodyHeader, ByteBuffer payload, long incarnation,
                                         boolean checkIncarnation, int chainBefore, CRC32C crc)
            throws RecordDamageException {
        RecordFraming.beginCrc(crc, kind, chainBefore).update(bodyHeader.duplicate());
        int headerPartCrc = (int) crc.getValue();
        crc.reset();
        crc.update(payload.duplicate());
        int payloadCrc = (int) crc.getValue();
        int recordCrc = RecordFraming.combine(headerPartCrc, payloadCrc, payload.remaining());
        if (recordCrc != storedCrc) {
            throw damage(ReadStop.Reason.CRC_MISMATCH, file, position, "");
        }
        long found = bodyHeader.getLong(RecordFraming.INCARNATION_OFFSET);
        if (checkIncarnation && found != incarnation) {
            throw damage(ReadStop.Reason.STALE_INCARNATION, file, position, "");
        }
        int type = bodyHeader.get(RecordFraming.TYPE_OFFSET);
        if (bodyHeader.getInt(RecordFraming.PAYLOAD_LENGTH_OFFSET) != payload.remaining()
                || type < SegmentKind.MIN_TYPE || type > SegmentKind.MAX_TYPE) {
            throw damage(ReadStop.Reason.INCONSISTENT_HEADER, file, position, "");
        }
        return new VerifiedRecord(position, RecordFraming.recordLength(kind, payload.remaining()), bodyHeader, payload,
                payloadCrc, chainBefore, recordCrc);
    }

    private static RecordDamageException damage(ReadStop.Reason reason, Path file, long position, String detail) {
        return new RecordDamageException(new ReadStop(reason, file, position, detail));
    }

    /** Reads until {@code b} is full; false when the file ended first. Flips {@code b}. */
    private boolean readFully(ByteBuffer b, long at) throws IOException {
        while (b.hasRemaining()) {
            if (channel.read(b, at + b.position()) < 0) {
                b.flip();
                return false;
            }
        }
        b.flip();
        return true;
    }
}
