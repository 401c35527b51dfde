package io.mtagent.agent.ingest;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.zip.CRC32C;
import net.jpountz.lz4.LZ4Exception;
import net.jpountz.lz4.LZ4Factory;
import net.jpountz.lz4.LZ4SafeDecompressor;

/**
 * Turns a stored WRITE payload back into its uncompressed bytes: bounded safe LZ4 decompression into exactly
 * {@code length} bytes and a CRC-32C check. A mismatch means the stored record is corrupt. Thread-safe.
 */
public final class RecordPayloads {
    private static final LZ4SafeDecompressor LZ4 = LZ4Factory.fastestInstance().safeDecompressor();
    private static final ThreadLocal<CRC32C> CRC = ThreadLocal.withInitial(CRC32C::new);

    private RecordPayloads() {
    }

    /**
     * Decodes into {@code dst} (cleared; must hold {@code rec.length()} bytes, callers check the length against
     * their cap first); on return dst's position is 0 and its limit the length. An uncompressed payload's data
     * CRC is checked against {@link StoredRecord#payloadCrc()} (computed when the record was read and verified)
     * rather than by another pass over the bytes; a decompressed one is checked by a CRC of the result.
     */
    public static ByteBuffer decode(StoredRecord stored, ByteBuffer dst) throws IOException {
        IngestRecord rec = stored.record();
        int length = rec.length();
        dst.clear().limit(length);
        if (rec.compressed()) {
            ByteBuffer src = stored.directPayload() != null ? stored.directPayload() : ByteBuffer.wrap(stored.payload());
            try {
                int n = LZ4.decompress(src, src.position(), src.remaining(), dst, 0, length);
                if (n != length) {
                    throw new IOException("record seq " + rec.seq() + " decompressed to " + n + " bytes, not " + length);
                }
            } catch (LZ4Exception e) {
                throw new IOException("record seq " + rec.seq() + ": corrupt LZ4 data", e);
            }
            dst.position(0).limit(length);
            CRC32C crc = CRC.get();
            crc.reset();
            crc.update(dst.duplicate());
            checkDataCrc(rec, (int) crc.getValue());
        } else {
            checkUncompressed(stored);
            if (stored.directPayload() != null) {
                dst.put(stored.directPayload().duplicate());
            } else {
                dst.put(stored.payload());
            }
            dst.position(0).limit(length);
        }
        return dst;
    }

    /**
     * The uncompressed bytes of a payload held in direct memory and stored uncompressed, checked (length and data
     * CRC): a view of the stored buffer itself, no copy, aligned as the buffer is. Null when the record is
     * compressed or held on the heap: decode it into a buffer instead.
     */
    public static ByteBuffer storedAsIs(StoredRecord stored) throws IOException {
        return stored.directPayload() == null || stored.record().compressed() ? null : view(stored);
    }

    /**
     * The uncompressed bytes, checked, as a buffer to read from (position 0, limit the length): a view of the
     * stored payload when it is uncompressed, direct or not (no copy), else a new heap array holding the
     * decompressed bytes. Valid as long as the record's payload is. Callers only read the result.
     */
    public static ByteBuffer view(StoredRecord stored) throws IOException {
        if (stored.record().compressed()) {
            return ByteBuffer.wrap(decode(stored));
        }
        checkUncompressed(stored);
        return stored.directPayload() != null ? stored.directPayload().duplicate() : ByteBuffer.wrap(stored.payload());
    }

    /**
     * The uncompressed bytes, checked: a new array when the payload is compressed or held in direct memory, the
     * payload array itself when it is neither (after the same length and CRC checks; no copy, which was one
     * allocation and one copy per write on the journaling path). Callers only read the result.
     */
    public static byte[] decode(StoredRecord stored) throws IOException {
        if (!stored.record().compressed() && stored.directPayload() == null) {
            checkUncompressed(stored);
            return stored.payload();
        }
        ByteBuffer b = decode(stored, ByteBuffer.allocate(stored.record().length()));
        return b.array();
    }

    private static void checkUncompressed(StoredRecord stored) throws IOException {
        IngestRecord rec = stored.record();
        if (stored.payloadLength() != rec.length()) {
            throw new IOException("record seq " + rec.seq() + " holds " + stored.payloadLength() + " bytes, not "
                    + rec.length());
        }
        checkDataCrc(rec, stored.payloadCrc());
    }

    private static void checkDataCrc(IngestRecord rec, int crc) throws IOException {
        if (crc != rec.crc32c()) {
            throw new IOException("record seq " + rec.seq() + " fails its data CRC: the stored record is corrupt");
        }
    }
}
