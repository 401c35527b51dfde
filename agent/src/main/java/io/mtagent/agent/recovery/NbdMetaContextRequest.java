package io.mtagent.agent.recovery;

import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * The data of {@code NBD_OPT_LIST_META_CONTEXT} and {@code NBD_OPT_SET_META_CONTEXT} (NBD {@code doc/proto.md}):
 * {@code u32 export name length, name, u32 query count, count × (u32 query length, query)}, and which of the
 * contexts this server offers the queries select. The one context is {@value Nbd#META_BASE_ALLOCATION}
 * (allocation as the view sees it). The option data was capped by the decoder before it was read, so parsing
 * allocates at most that much.
 *
 * @param exportName the export the client asks about
 * @param queries the query strings, in order
 */
record NbdMetaContextRequest(String exportName, List<String> queries) {

    /** Parses option data; throws {@link IllegalArgumentException} with the reason when it is malformed. */
    static NbdMetaContextRequest parse(byte[] data) {
        ByteBuffer b = ByteBuffer.wrap(data);
        try {
            String name = string(b, "export name");
            long count = Integer.toUnsignedLong(b.getInt());
            if (count > b.remaining() / 4) {
                throw new IllegalArgumentException("query count " + count + " does not fit the option's length");
            }
            List<String> queries = new ArrayList<>();
            for (long i = 0; i < count; i++) {
                queries.add(string(b, "query"));
            }
            if (b.hasRemaining()) {
                throw new IllegalArgumentException(b.remaining() + " bytes after the last query");
            }
            return new NbdMetaContextRequest(name, queries);
        } catch (BufferUnderflowException e) {
            throw new IllegalArgumentException("option data ends inside a field");
        }
    }

    private static String string(ByteBuffer b, String what) {
        long length = Integer.toUnsignedLong(b.getInt());
        if (length > b.remaining()) {
            throw new IllegalArgumentException(what + " length " + length + " exceeds the option");
        }
        byte[] bytes = new byte[(int) length];
        b.get(bytes);
        return new String(bytes, StandardCharsets.UTF_8);
    }

    /**
     * The contexts these queries select. For a list, no query means every context and {@code "base:"} every
     * context of that namespace; a set takes exact names only. Unknown queries select nothing (the protocol
     * answers them with silence).
     */
    Set<String> selected(boolean list) {
        Set<String> out = new LinkedHashSet<>();
        if (list && queries.isEmpty()) {
            out.add(Nbd.META_BASE_ALLOCATION);
        }
        for (String q : queries) {
            if (q.equals(Nbd.META_BASE_ALLOCATION) || (list && q.equals("base:"))) {
                out.add(Nbd.META_BASE_ALLOCATION);
            }
        }
        return out;
    }
}
