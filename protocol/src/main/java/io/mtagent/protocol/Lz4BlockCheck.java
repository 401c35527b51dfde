package io.mtagent.protocol;

import io.netty.buffer.ByteBuf;

/**
 * Walks the sequences of one LZ4 block (https://github.com/lz4/lz4/blob/dev/doc/lz4_Block_format.md) without
 * decompressing it, to refuse what SPEC.md §10 calls invalid but lz4-java's safe decompressor accepts: a match
 * offset of 0 (it would copy from the byte being written). The decompressor still does the decoding and every
 * other bounds check; this only looks at the offsets and at the output count they refer to.
 *
 * <pre>
 *   sequence = token:u8 [literal length extension: u8* while 255] literals
 *              [offset:u16 little-endian] [match length extension: u8* while 255]
 *   token    = high 4 bits literal length (15 = extended), low 4 bits match length − 4 (15 = extended)
 *   the last sequence has literals only: the block ends right after them
 * </pre>
 *
 * Stateless and thread-safe.
 */
final class Lz4BlockCheck {
    private Lz4BlockCheck() {
    }

    /**
     * Why the block is invalid, or null when every match offset is in 1..(bytes produced so far). A truncated
     * block is left to the decompressor (null), which refuses it with its own message.
     */
    static String invalidOffset(ByteBuf block) {
        int pos = block.readerIndex();
        int end = block.writerIndex();
        long produced = 0;
        while (pos < end) {
            int token = block.getUnsignedByte(pos++);
            long literals = token >>> 4;
            if (literals == 15) {
                int b;
                do {
                    if (pos >= end) {
                        return null;
                    }
                    b = block.getUnsignedByte(pos++);
                    literals += b;
                } while (b == 255);
            }
            pos += literals;
            produced += literals;
            if (pos >= end) {
                return null; // the last sequence: literals only
            }
            if (pos + 2 > end) {
                return null;
            }
            int offset = block.getUnsignedByte(pos) | block.getUnsignedByte(pos + 1) << 8;
            pos += 2;
            if (offset == 0) {
                return "LZ4 match offset 0 after " + produced + " output bytes";
            }
            if (offset > produced) {
                return "LZ4 match offset " + offset + " reaches before the start of the output (" + produced
                        + " bytes produced)";
            }
            long match = (token & 0x0F) + 4L;
            if ((token & 0x0F) == 15) {
                int b;
                do {
                    if (pos >= end) {
                        return null;
                    }
                    b = block.getUnsignedByte(pos++);
                    match += b;
                } while (b == 255);
            }
            produced += match;
        }
        return null;
    }
}
