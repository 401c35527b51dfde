package io.mtagent.agent.log;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * The two logs built on this package, and what differs between their segments. Everything else (the header's
 * first 40 bytes, the 8-byte record prefix, 8-byte alignment, the body fields at offsets 0-23, the reader, the
 * recovery rule, the checkpoint) is common ({@link SegmentHeader}, {@link RecordFraming}).
 *
 * <table>
 *   <caption>Segment kinds</caption>
 *   <tr><th>kind</th><th>magic</th><th>suffix</th><th>CRC</th><th>body header</th><th>header extra</th></tr>
 *   <tr><td>INGEST</td><td>MTINGEST</td><td>.seg</td><td>plain: CRC-32C of the body</td><td>64 bytes</td>
 *       <td>none (header CRC at 40)</td></tr>
 *   <tr><td>JOURNAL</td><td>MTJOURNL</td><td>.jrn</td><td>chained: CRC-32C of (previous record's CRC ‖ body),
 *       across segments</td><td>48 bytes</td><td>chainSeed u32 at 40 (header CRC at 44)</td></tr>
 * </table>
 * The record bodies beyond offset 24 are the log's own (ingest: {@code ingest/SegmentFormat}, journal:
 * {@code journal/JournalFormat}).
 */
public enum SegmentKind {
    /** The ingest log: the redo log each received write lands in before it is acknowledged. */
    INGEST("MTINGEST", LogFileNames.INGEST_SEGMENT_SUFFIX, CrcMode.PLAIN, 64),
    /** The retention journal: before-images and recovery points. */
    JOURNAL("MTJOURNL", LogFileNames.JOURNAL_SEGMENT_SUFFIX, CrcMode.CHAINED, 48);

    /** How a record's CRC is computed. */
    public enum CrcMode {
        /** CRC-32C of the record body. */
        PLAIN,
        /**
         * CRC-32C of (the previous record's CRC as 4 big-endian bytes ‖ body); the first record of a segment
         * chains from the header's {@code chainSeed}, so a record cannot be moved, dropped or replayed.
         */
        CHAINED
    }

    /** Record types both logs use (1 and 2); anything else in a verified body is a writer bug, refused. */
    static final int MIN_TYPE = 1;
    static final int MAX_TYPE = 2;
    /** Largest payload of either log: a 16 MiB write (the config's upper bound) or before-image, or a tag name. */
    public static final int MAX_PAYLOAD = 16 << 20;

    private final byte[] magic;
    private final String suffix;
    private final CrcMode crcMode;
    private final int bodyHeaderLength;

    SegmentKind(String magic, String suffix, CrcMode crcMode, int bodyHeaderLength) {
        this.magic = magic.getBytes(StandardCharsets.US_ASCII);
        this.suffix = suffix;
        this.crcMode = crcMode;
        this.bodyHeaderLength = bodyHeaderLength;
    }

    /** The 8 magic bytes at the start of every segment of this kind. */
    byte[] magic() {
        return magic.clone();
    }

    boolean hasMagic(byte[] candidate) {
        return Arrays.equals(magic, candidate);
    }

    /** The segment file suffix (".seg", ".jrn"). */
    public String suffix() {
        return suffix;
    }

    public CrcMode crcMode() {
        return crcMode;
    }

    /** Bytes of the fixed body header before the payload. */
    public int bodyHeaderLength() {
        return bodyHeaderLength;
    }

    /** Whether the header carries a chain seed (bytes 40-43) before its CRC. */
    boolean hasChainSeed() {
        return crcMode == CrcMode.CHAINED;
    }

    /** Largest body length a reader accepts before it allocates anything. */
    public int maxBodyLength() {
        return bodyHeaderLength + MAX_PAYLOAD;
    }
}
