package io.mtagent.agent.retention;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.util.zip.CRC32C;

/**
 * Reads one journal segment's records in order ({@link JournalFormat}), verifying each: its length word is in
 * bounds and inside the file, its chained CRC follows the previous record's, its incarnation is the segment's
 * and its payload length agrees with its body length. It stops at the clean end of the file or at the first
 * record that does not verify, and says which ({@link #failure()}). Recovery, the rebuild of an index and
 * online verify all read segments through it, so they agree on what a good record is.
 *
 * <p>Not thread-safe: one reader per scan. It does not close the channel.
 */
final class SegmentReader {
    private final FileChannel channel;
    private final long size;
    private final long incarnation;
    private final CRC32C crc = new CRC32C();
    private final ByteBuffer prefix = ByteBuffer.allocate(JournalFormat.PREFIX_LENGTH);
    private long position;
    private long end = JournalFormat.HEADER_LENGTH;
    private int chainBefore;
    private int chain;
    private String failure;

    /** Reads the records of a segment whose header is {@code header}, up to {@code size} bytes of the file. */
    SegmentReader(FileChannel channel, long size, JournalFormat.Header header) {
        this.channel = channel;
        this.size = size;
        this.incarnation = header.incarnation();
        this.chain = header.chainSeed();
        this.chainBefore = chain;
    }

    /**
     * The next record's body (type byte first), or null at the end of the file or at a record that does not
     * verify ({@link #failure()} says which; {@link #end()} is where the good records end).
     */
    ByteBuffer next() throws IOException {
        if (end + JournalFormat.PREFIX_LENGTH > size) {
            failure = end == size ? null : "truncated record";
            return null;
        }
        readFully(prefix.clear(), end);
        int bodyLength = prefix.getInt(0);
        if (bodyLength < JournalFormat.BODY_HEADER_LENGTH
                || bodyLength > JournalFormat.BODY_HEADER_LENGTH + JournalFormat.MAX_PAYLOAD
                || end + JournalFormat.PREFIX_LENGTH + bodyLength > size) {
            failure = "bad record length";
            return null;
        }
        ByteBuffer body = ByteBuffer.allocate(bodyLength);
        readFully(body, end + JournalFormat.PREFIX_LENGTH);
        int c = JournalFormat.chainedCrc(crc, chain, body);
        if (c != prefix.getInt(4) || body.getLong(8) != incarnation
                || body.getInt(4) != bodyLength - JournalFormat.BODY_HEADER_LENGTH) {
            failure = "record does not verify (chained CRC or incarnation)";
            return null;
        }
        position = end;
        end += JournalFormat.recordLength(body.getInt(4));
        chainBefore = chain;
        chain = c;
        return body;
    }

    /** Where the record {@link #next()} returned last starts. */
    long position() {
        return position;
    }

    /** The chained CRC before that record (what an index entry keeps to verify it alone). */
    int chainBefore() {
        return chainBefore;
    }

    /** Where the good records end (after the last one returned). */
    long end() {
        return end;
    }

    /** The chained CRC after the last record returned. */
    int chain() {
        return chain;
    }

    /** Why reading stopped: null at the clean end of the file. */
    String failure() {
        return failure;
    }

    private void readFully(ByteBuffer b, long at) throws IOException {
        while (b.hasRemaining()) {
            if (channel.read(b, at + b.position()) < 0) {
                break;
            }
        }
        b.flip();
    }
}
