package io.mtagent.protocol;

import io.netty.buffer.ByteBuf;
import java.nio.charset.StandardCharsets;

/** Field helpers for frame bodies: bounded strings and fixed byte arrays (SPEC.md §2). */
final class Wire {
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
        String s = in.toString(in.readerIndex(), len, StandardCharsets.UTF_8);
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
