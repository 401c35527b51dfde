package io.mtagent.agent.storage;

import io.mtagent.protocol.Crc32cCombine;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.util.zip.CRC32C;

/**
 * Reads records of one segment in order, verifying each (length bound, CRC, incarnation). Stops at the first
 * record that does not verify and reports where and why; the caller decides whether that is a torn tail
 * (after the checkpoint) or corruption (before it). Not thread-safe; one per scan.
 */
final class SegmentScanner {
    private final FileChannel channel;
    private final long fileSize;
    private final long incarnation;
    private final CRC32C crc = new CRC32C();
    private final ByteBuffer prefix = ByteBuffer.allocate(SegmentFormat.RECORD_PREFIX_LENGTH);
    private long position;
    private String stopReason;

    /**
     * One verified record and where it lies; {@code payloadCrc} is the CRC-32C of the payload as stored, computed
     * while verifying the record, so a reader of an uncompressed write need not run over its bytes again.
     */
    record Scanned(IngestRecord record, byte[] payload, long position, int length, int payloadCrc) {
    }

    SegmentScanner(FileChannel channel, long incarnation) throws IOException {
        this(channel, incarnation, SegmentFormat.HEADER_LENGTH);
    }

    /** A scanner starting at {@code position} (a record boundary known from the index). */
    SegmentScanner(FileChannel channel, long incarnation, long position) throws IOException {
        this.channel = channel;
        this.fileSize = channel.size();
        this.incarnation = incarnation;
        this.position = position;
    }

    /** The next verified record, or null at the end or at the first bad record ({@link #stopReason()}). */
    Scanned next() throws IOException {
        if (position + SegmentFormat.RECORD_PREFIX_LENGTH > fileSize) {
            stopReason = position == fileSize ? null : "truncated record prefix";
            return null;
        }
        prefix.clear();
        readFully(prefix, position);
        int bodyLength = prefix.getInt(0);
        int storedCrc = prefix.getInt(4);
        if (bodyLength == 0 && storedCrc == 0) {
            // The writer never preallocates, so zeroes where a record should start are not a clean end: they
            // are a torn tail (after the checkpoint) or a zeroed sector (before it), and the caller must know.
            stopReason = "zeroed record header";
            return null;
        }
        if (bodyLength < SegmentFormat.BODY_HEADER_LENGTH || bodyLength > SegmentFormat.MAX_BODY_LENGTH
                || position + SegmentFormat.RECORD_PREFIX_LENGTH + bodyLength > fileSize) {
            stopReason = "bad record length " + Integer.toUnsignedString(bodyLength);
            return null;
        }
        ByteBuffer body = ByteBuffer.allocate(bodyLength);
        readFully(body, position + SegmentFormat.RECORD_PREFIX_LENGTH);
        String[] why = new String[1];
        Scanned s = verify(body, storedCrc, incarnation, position, crc, why);
        if (s == null) {
            stopReason = why[0];
            return null;
        }
        position += s.length();
        return s;
    }

    /**
     * Reads the record at {@code position}, whose whole length ({@link SegmentFormat#recordLength}) the caller
     * knows from its index, with one positional read into {@code scratch} (grown when too small; a direct buffer
     * so the read needs no bounce copy and the CRC runs on it in place), and verifies it exactly as {@link #next}
     * does. Returns the record, or null with {@code why[0]} set. This is the applier's path for tags and for
     * payloads that do not fit its direct budget ({@link #readAtInto} for the rest): one read, one allocation (the
     * payload array) per record, where the scan's path reads twice and copies through heap buffers
     * (bench/RESULTS.md, "What limits it").
     */
    static Scanned readAt(FileChannel channel, long incarnation, long position, int recordLength,
                          ByteBuffer[] scratch, CRC32C crc, String[] why) throws IOException {
        if (recordLength < SegmentFormat.RECORD_PREFIX_LENGTH + SegmentFormat.BODY_HEADER_LENGTH
                || recordLength > SegmentFormat.recordLength(SegmentFormat.MAX_BODY_LENGTH)) {
            why[0] = "bad indexed record length " + recordLength;
            return null;
        }
        ByteBuffer b = scratch[0];
        if (b == null || b.capacity() < recordLength) {
            b = ByteBuffer.allocateDirect((recordLength + 4095) & ~4095); // per disk: keep it to the largest record
            scratch[0] = b;
        }
        b.clear().limit(recordLength);
        while (b.hasRemaining()) {
            if (channel.read(b, position + b.position()) < 0) {
                break; // the file may end inside the last record's padding (a torn tail truncated there): fine
            }
        }
        int got = b.position();
        if (got < SegmentFormat.RECORD_PREFIX_LENGTH) {
            why[0] = "truncated record prefix";
            return null;
        }
        int bodyLength = b.getInt(0);
        int storedCrc = b.getInt(4);
        if (bodyLength < SegmentFormat.BODY_HEADER_LENGTH
                || SegmentFormat.recordLength(bodyLength - SegmentFormat.BODY_HEADER_LENGTH) != recordLength) {
            why[0] = "bad record length " + Integer.toUnsignedString(bodyLength);
            return null;
        }
        if (SegmentFormat.RECORD_PREFIX_LENGTH + bodyLength > got) {
            why[0] = "truncated record";
            return null;
        }
        return verify(b.slice(SegmentFormat.RECORD_PREFIX_LENGTH, bodyLength), storedCrc, incarnation, position, crc,
                why);
    }

    /**
     * Reads the record at {@code position} as {@link #readAt} does, but with one scattering read: the record's
     * prefix and body header into {@code header} (a direct buffer of at least {@link SegmentFormat#RECORD_PREFIX_LENGTH}
     * + {@link SegmentFormat#BODY_HEADER_LENGTH} bytes) and its payload straight into {@code payload} (capacity at
     * least {@code recordLength} minus those), so an aligned {@code payload} holds the bytes at its start, ready for
     * an O_DIRECT write, with no copy. On success {@code payload} has position 0 and limit the payload's length and
     * the returned record's {@code payload} is null (tags aside: their name is copied out too). Moves the
     * channel's position: the caller must own the channel.
     */
    static Scanned readAtInto(FileChannel channel, long incarnation, long position, int recordLength,
                              ByteBuffer header, ByteBuffer payload, CRC32C crc, String[] why) throws IOException {
        int headerLength = SegmentFormat.RECORD_PREFIX_LENGTH + SegmentFormat.BODY_HEADER_LENGTH;
        if (recordLength < headerLength || recordLength > SegmentFormat.recordLength(SegmentFormat.MAX_BODY_LENGTH)) {
            why[0] = "bad indexed record length " + recordLength;
            return null;
        }
        header.clear().limit(headerLength);
        payload.clear().limit(recordLength - headerLength);
        ByteBuffer[] parts = {header, payload};
        channel.position(position);
        while (payload.hasRemaining()) {
            if (channel.read(parts) < 0) {
                break; // the file may end inside the last record's padding (a torn tail truncated there): fine
            }
        }
        if (header.hasRemaining()) {
            why[0] = header.position() < SegmentFormat.RECORD_PREFIX_LENGTH ? "truncated record prefix" : "truncated record";
            return null;
        }
        int bodyLength = header.getInt(0);
        int storedCrc = header.getInt(4);
        if (bodyLength < SegmentFormat.BODY_HEADER_LENGTH
                || SegmentFormat.recordLength(bodyLength - SegmentFormat.BODY_HEADER_LENGTH) != recordLength) {
            why[0] = "bad record length " + Integer.toUnsignedString(bodyLength);
            return null;
        }
        int payloadLength = bodyLength - SegmentFormat.BODY_HEADER_LENGTH;
        if (payload.position() < payloadLength) {
            why[0] = "truncated record";
            return null;
        }
        payload.limit(payloadLength).position(0);
        Scanned s = verifyParts(header.slice(SegmentFormat.RECORD_PREFIX_LENGTH, SegmentFormat.BODY_HEADER_LENGTH),
                payload, storedCrc, incarnation, position, crc, why);
        if (s == null) {
            payload.clear().limit(0);
        }
        return s;
    }

    /**
     * Checks a record body (CRC, incarnation, header consistency) and decodes it; null with {@code why[0]} set
     * when it does not verify. {@code body} holds exactly the body bytes.
     */
    private static Scanned verify(ByteBuffer body, int storedCrc, long expectedIncarnation, long at, CRC32C crc,
                                  String[] why) {
        ByteBuffer payloadPart = body.slice(body.position() + SegmentFormat.BODY_HEADER_LENGTH,
                body.remaining() - SegmentFormat.BODY_HEADER_LENGTH);
        Scanned s = verifyParts(body.slice(body.position(), SegmentFormat.BODY_HEADER_LENGTH), payloadPart, storedCrc,
                expectedIncarnation, at, crc, why);
        if (s == null || s.payload() != null) {
            return s;
        }
        byte[] payload = new byte[payloadPart.remaining()];
        payloadPart.get(0, payload);
        return new Scanned(s.record(), payload, s.position(), s.length(), s.payloadCrc());
    }

    /**
     * Checks a record given as its body header ({@link SegmentFormat#BODY_HEADER_LENGTH} bytes at index 0) and its
     * payload (position 0, limit the stored payload length); the returned record's payload is null for a write
     * (the caller keeps the bytes where they are) and the name's bytes for a tag.
     */
    private static Scanned verifyParts(ByteBuffer bodyHeader, ByteBuffer payload, int storedCrc,
                                       long expectedIncarnation, long at, CRC32C crc, String[] why) {
        // The record CRC covers body header and payload; computed as two CRCs and combined, so the payload's own
        // CRC comes out of the same single pass (one pass over the bytes instead of two: RecordPayloads).
        crc.reset();
        crc.update(bodyHeader.duplicate().position(0).limit(SegmentFormat.BODY_HEADER_LENGTH));
        int headerCrc = (int) crc.getValue();
        crc.reset();
        crc.update(payload.duplicate());
        int payloadCrc = (int) crc.getValue();
        if (Crc32cCombine.combine(headerCrc, payloadCrc, payload.remaining()) != storedCrc) {
            why[0] = "CRC mismatch";
            return null;
        }
        int payloadLength = bodyHeader.getInt(4);
        if (bodyHeader.getLong(8) != expectedIncarnation) {
            why[0] = "record of an earlier incarnation of this file";
            return null;
        }
        if (payloadLength != payload.remaining()
                || (bodyHeader.get(0) != SegmentFormat.TYPE_WRITE && bodyHeader.get(0) != SegmentFormat.TYPE_TAG)) {
            why[0] = "inconsistent record header";
            return null;
        }
        byte[] tagName = null;
        if (bodyHeader.get(0) == SegmentFormat.TYPE_TAG) {
            tagName = new byte[payloadLength];
            payload.get(0, tagName);
        }
        IngestRecord r = SegmentFormat.decodeBody(bodyHeader, tagName);
        return new Scanned(r, tagName, at, SegmentFormat.recordLength(payloadLength), payloadCrc);
    }

    /** Where the next record would start (after the last verified one). */
    long position() {
        return position;
    }

    /** Why the scan stopped early, or null when it reached a clean end. */
    String stopReason() {
        return stopReason;
    }

    private void readFully(ByteBuffer b, long pos) throws IOException {
        while (b.hasRemaining()) {
            int n = channel.read(b, pos + b.position());
            if (n < 0) {
                throw new java.io.EOFException();
            }
        }
        b.flip();
    }
}
