package io.mtagent.protocol;

import io.netty.buffer.ByteBuf;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/** Field helpers for frame bodies: bounded strings and fixed byte arrays (SPEC.md §1). */
final class Wire {
    /**
     * Strict UTF-8: malformed input (stray bytes, overlong forms, encoded surrogates) is refused rather than
     * replaced by U+FFFD, so a decoded string always re-encodes to exactly the bytes received -- and within the
     * field's limit, which the frame records check again.
     */
    private static final ThreadLocal<CharsetDecoder> UTF8 = ThreadLocal.withInitial(() -> StandardCharsets.UTF_8
            .newDecoder().onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT));

    private Wire() {
    }

    /** {@code len:u16 utf8[len]}; the caller checked the encoded length against the field's limit. */
    static void writeString(ByteBuf out, byte[] utf8) {
        out.writeShort(utf8.length);
        out.writeBytes(utf8);
    }

    static byte[] utf8(String s, int max, String field) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        if (b.length > max) {
            throw new IllegalArgumentException(field + " is " + b.length + " bytes; at most " + max + " allowed");
        }
        return b;
    }

    static String readString(ByteBuf in, int max, String field) throws ProtocolException {
        need(in, 2, field);
        int len = in.readUnsignedShort();
        if (len > max) {
            throw new ProtocolException(ErrorCode.MALFORMED_FRAME, field + " length " + len + " exceeds " + max);
        }
        need(in, len, field);
        String s;
        try {
            s = UTF8.get().decode(in.nioBuffer(in.readerIndex(), len)).toString();
        } catch (CharacterCodingException e) {
            throw new ProtocolException(ErrorCode.MALFORMED_FRAME, field + " is not valid UTF-8");
        }
        in.skipBytes(len);
        return s;
    }

    static byte[] readFixed(ByteBuf in, int len, String field) throws ProtocolException {
        need(in, len, field);
        byte[] b = new byte[len];
        in.readBytes(b);
        return b;
    }

    static void need(ByteBuf in, int n, String field) throws ProtocolException {
        if (in.readableBytes() < n) {
            throw new ProtocolException(ErrorCode.MALFORMED_FRAME, "frame ends inside " + field);
        }
    }

    static int stringLength(byte[] utf8) {
        return 2 + utf8.length;
    }
}
