package io.mtagent.agent.ingest;

import java.nio.charset.StandardCharsets;
import java.util.zip.CRC32C;

/**
 * The metadata of one ingest-log record (its payload travels separately). Immutable.
 *
 * @param type WRITE or TAG
 * @param seq the disk's sequence number (≥ 1)
 * @param epoch the stream epoch it was received under
 * @param timestampMicros the source's time of the write (clamped non-decreasing by the agent)
 * @param offset WRITE: byte offset on the target
 * @param length WRITE: uncompressed length
 * @param crc32c WRITE: CRC-32C of the uncompressed data; TAG: CRC-32C of the name (for re-send comparison)
 * @param compressed WRITE: payload is one raw LZ4 block
 * @param tagType TAG: 1 crash-consistent, 2 app-consistent, 3 group
 * @param tagName TAG: the tag's name
 */
public record IngestRecord(Type type, long seq, long epoch, long timestampMicros, long offset, int length, int crc32c,
                           boolean compressed, byte tagType, String tagName) {

    public enum Type { WRITE, TAG }

    public static IngestRecord write(long seq, long epoch, long ts, long offset, int length, int crc32c, boolean compressed) {
        return new IngestRecord(Type.WRITE, seq, epoch, ts, offset, length, crc32c, compressed, (byte) 0, null);
    }

    public static IngestRecord tag(long seq, long epoch, long ts, byte tagType, String name) {
        CRC32C c = new CRC32C();
        c.update(name.getBytes(StandardCharsets.UTF_8));
        return new IngestRecord(Type.TAG, seq, epoch, ts, 0, 0, (int) c.getValue() ^ tagType, false, tagType, name);
    }
}
