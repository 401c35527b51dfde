package io.mtagent.agent.storage;

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
     * their cap first); on return dst's position is 0 and its limit the length.
     */
    public static ByteBuffer decode(IngestRecord rec, byte[] payload, ByteBuffer dst) throws IOException {
        int length = rec.length();
        dst.clear().limit(length);
        if (rec.compressed()) {
            try {
                int n = LZ4.decompress(ByteBuffer.wrap(payload), 0, payload.length, dst, 0, length);
                if (n != length) {
                    throw new IOException("record seq " + rec.seq() + " decompressed to " + n + " bytes, not " + length);
                }
            } catch (LZ4Exception e) {
                throw new IOException("record seq " + rec.seq() + ": corrupt LZ4 data", e);
            }
        } else {
            if (payload.length != length) {
                throw new IOException("record seq " + rec.seq() + " holds " + payload.length + " bytes, not " + length);
            }
            dst.put(payload);
        }
        dst.position(0).limit(length);
        CRC32C crc = CRC.get();
        crc.reset();
        crc.update(dst.duplicate());
        if ((int) crc.getValue() != rec.crc32c()) {
            throw new IOException("record seq " + rec.seq() + " fails its data CRC: the stored record is corrupt");
        }
        return dst;
    }

    /**
     * The uncompressed bytes, checked: a new array when the payload is compressed, the payload array itself when
     * it is not (after the same length and CRC checks; no copy, which was one allocation and one copy per write
     * on the journaling path). Callers only read the result.
     */
    public static byte[] decode(IngestRecord rec, byte[] payload) throws IOException {
        if (!rec.compressed()) {
            if (payload.length != rec.length()) {
                throw new IOException("record seq " + rec.seq() + " holds " + payload.length + " bytes, not "
                        + rec.length());
            }
            CRC32C crc = CRC.get();
            crc.reset();
            crc.update(payload, 0, payload.length);
            if ((int) crc.getValue() != rec.crc32c()) {
                throw new IOException("record seq " + rec.seq() + " fails its data CRC: the stored record is corrupt");
            }
            return payload;
        }
        ByteBuffer b = decode(rec, payload, ByteBuffer.allocate(rec.length()));
        return b.array();
    }
}
