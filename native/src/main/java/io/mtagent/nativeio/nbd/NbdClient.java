package io.mtagent.nativeio.nbd;

import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.NativeLong;
import com.sun.jna.Pointer;
import java.lang.ref.Reference;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Iterator;
import java.util.List;

/**
 * A read-only client of one NBD export through libnbd: connect by URI ({@code nbd://}, {@code nbds://} with TLS,
 * {@code nbd+unix:///export?socket=PATH}, as libnbd's {@code nbd_connect_uri(3)} parses them), the export's size,
 * its metadata contexts ({@code base:allocation}, {@code qemu:dirty-bitmap:NAME}) through NBD block status, and
 * reads, pipelined for throughput ({@link #readRanges}).
 *
 * <p>Not thread-safe: one thread uses a client at a time (libnbd would serialise calls on the handle anyway).
 * Read buffers are native memory owned by the client; they stay allocated until {@link #close()}, so a read still
 * in flight when a call fails can never write into freed memory.
 */
public final class NbdClient implements AutoCloseable {
    /** The allocation context every NBD server with structured replies offers: holes and zero ranges. */
    public static final String BASE_ALLOCATION = "base:allocation";
    /** Prefix of QEMU's dirty-bitmap contexts ({@code qemu:dirty-bitmap:NAME}). */
    public static final String DIRTY_BITMAP_PREFIX = "qemu:dirty-bitmap:";
    /** {@code base:allocation} flag: the range is a hole. */
    public static final int STATE_HOLE = LibNbd.LIBNBD_STATE_HOLE;
    /** {@code base:allocation} flag: the range reads as zeros. */
    public static final int STATE_ZERO = LibNbd.LIBNBD_STATE_ZERO;
    /** {@code qemu:dirty-bitmap:NAME} flag: the range changed since the bitmap was enabled. */
    public static final int STATE_DIRTY = LibNbd.QEMU_STATE_DIRTY;

    /** Most bytes asked per block-status request (not all servers take 4 GiB or more). */
    private static final long MAX_STATUS_BYTES = 1L << 30;
    /** How long a pipelined read may go without any progress before the server counts as hung. */
    private static final int STALL_MILLIS = 60_000;

    private final LibNbd nbd;
    private final String uri;
    private final long size;
    private Pointer handle;
    private Memory[] slots = new Memory[0];
    private int slotBytes;
    /** A read failed while others were in flight: their buffers must outlive them, so none is ever replaced. */
    private boolean abandonedReads;

    private NbdClient(LibNbd nbd, Pointer handle, String uri, long size) {
        this.nbd = nbd;
        this.handle = handle;
        this.uri = uri;
        this.size = size;
    }

    /** Receives extents of one metadata context, in offset order, clipped to the range asked for. */
    @FunctionalInterface
    public interface ExtentSink {
        void accept(long offset, long length, int flags) throws Exception;
    }

    /** Receives the data of one read; {@code data} is valid only during the call. */
    @FunctionalInterface
    public interface DataSink {
        void accept(long offset, ByteBuffer data) throws Exception;
    }

    /** Whether libnbd can be loaded here; {@link #unavailableReason()} says why not. */
    public static boolean available() {
        return unavailableReason() == null;
    }

    /** Null when libnbd loads, else the message naming the package to install. */
    public static String unavailableReason() {
        try {
            Holder.lib();
            return null;
        } catch (NbdUnavailableException e) {
            return e.getMessage();
        }
    }

    /**
     * Connects to {@code uri} asking for the metadata {@code contexts} (negotiated at connect; check each with
     * {@link #hasMetaContext}). Local files named in the URI ({@code tls-psk-file=}, {@code tls-certificates=})
     * are allowed: the URI comes from the operator.
     *
     * @throws NbdException with libnbd's reason (refused, unknown export, TLS failure, ...)
     * @throws NbdUnavailableException when libnbd is not installed
     */
    public static NbdClient connect(String uri, Collection<String> contexts) throws NbdException {
        LibNbd nbd = Holder.lib();
        Pointer h = nbd.nbd_create();
        if (h == null) {
            throw error(nbd, "cannot create an NBD handle");
        }
        try {
            check(nbd, nbd.nbd_set_handle_name(h, "mtagent-send"), "nbd_set_handle_name");
            check(nbd, nbd.nbd_set_uri_allow_local_file(h, true), "nbd_set_uri_allow_local_file");
            for (String c : contexts) {
                check(nbd, nbd.nbd_add_meta_context(h, c), "nbd_add_meta_context " + c);
            }
            check(nbd, nbd.nbd_connect_uri(h, uri), "cannot connect to " + uri);
            long size = nbd.nbd_get_size(h);
            if (size < 0) {
                throw error(nbd, "cannot read the size of " + uri);
            }
            NbdClient c = new NbdClient(nbd, h, uri, size);
            h = null;
            return c;
        } finally {
            if (h != null) {
                nbd.nbd_close(h);
            }
        }
    }

    /**
     * The metadata contexts the export at {@code uri} offers that match {@code query} (e.g.
     * {@value #DIRTY_BITMAP_PREFIX} for its dirty bitmaps), by NBD_OPT_LIST_META_CONTEXT on a short-lived
     * connection in option mode. For error messages: which bitmaps there are when the one asked for is not.
     */
    public static List<String> listMetaContexts(String uri, String query) throws NbdException {
        LibNbd nbd = Holder.lib();
        Pointer h = nbd.nbd_create();
        if (h == null) {
            throw error(nbd, "cannot create an NBD handle");
        }
        List<String> names = new ArrayList<>();
        LibNbd.ContextFunction fn = (userData, name) -> {
            names.add(name);
            return 0;
        };
        LibNbd.ContextCallback.ByValue cb = new LibNbd.ContextCallback.ByValue();
        cb.callback = fn;
        try {
            check(nbd, nbd.nbd_set_uri_allow_local_file(h, true), "nbd_set_uri_allow_local_file");
            check(nbd, nbd.nbd_set_opt_mode(h, true), "nbd_set_opt_mode");
            check(nbd, nbd.nbd_add_meta_context(h, query), "nbd_add_meta_context " + query);
            check(nbd, nbd.nbd_connect_uri(h, uri), "cannot connect to " + uri);
            check(nbd, nbd.nbd_opt_list_meta_context(h, cb), "cannot list the metadata contexts of " + uri);
            nbd.nbd_opt_abort(h);
            return names;
        } finally {
            nbd.nbd_close(h);
            keepAlive(fn, cb);
        }
    }

    public String uri() {
        return uri;
    }

    /** The export's size in bytes. */
    public long size() {
        return size;
    }

    /** Whether {@code context} was negotiated (asked for at connect and offered by the server). */
    public boolean hasMetaContext(String context) throws NbdException {
        int r = nbd.nbd_can_meta_context(open(), context);
        if (r < 0) {
            throw error(nbd, "nbd_can_meta_context " + context);
        }
        return r == 1;
    }

    /** Whether the connection runs over TLS. */
    public boolean tlsNegotiated() {
        return nbd.nbd_get_tls_negotiated(open()) == 1;
    }

    /**
     * Reports the extents of {@code context} over {@code [offset, offset + length)} to {@code sink}, in order and
     * without gaps, by as many block-status requests as the server needs (it may answer fewer bytes than asked).
     *
     * @throws NbdException when a request fails or the server answers nothing for the context (not negotiated)
     */
    public void extents(long offset, long length, String context, ExtentSink sink) throws Exception {
        long end = offset + length;
        if (offset < 0 || length < 0 || end > size) {
            throw new IllegalArgumentException("extents " + offset + "+" + length + " outside the export (" + size + " bytes)");
        }
        List<long[]> got = new ArrayList<>();
        LibNbd.ExtentFunction fn = (userData, meta, at, entries, count, error) -> {
            if (context.equals(meta)) {
                int n = (int) count.longValue();
                int[] pairs = entries.getIntArray(0, n);
                long pos = at;
                for (int i = 0; i + 1 < n; i += 2) {
                    long len = Integer.toUnsignedLong(pairs[i]);
                    got.add(new long[] {pos, len, pairs[i + 1]});
                    pos += len;
                }
            }
            return 0;
        };
        LibNbd.ExtentCallback.ByValue cb = new LibNbd.ExtentCallback.ByValue();
        cb.callback = fn;
        try {
            long pos = offset;
            while (pos < end) {
                got.clear();
                long ask = Math.min(MAX_STATUS_BYTES, end - pos);
                check(nbd, nbd.nbd_block_status(open(), ask, pos, cb, 0), uri + ": block status " + context + " at " + pos);
                long before = pos;
                for (long[] e : got) {
                    long from = Math.max(e[0], pos);
                    long to = Math.min(e[0] + e[1], end);
                    if (e[0] > pos) {
                        throw new NbdException(uri + ": block status " + context + " skipped " + pos + ".." + e[0], 0);
                    }
                    if (to > from) {
                        sink.accept(from, to - from, (int) e[2]);
                        pos = to;
                    }
                }
                if (pos == before) {
                    throw new NbdException(uri + ": the server answered no extents of " + context + " at " + pos
                            + " (is the context negotiated?)", 0);
                }
            }
        } finally {
            keepAlive(fn, cb);
        }
    }

    /** Reads exactly {@code dst.remaining()} bytes at {@code offset} into the direct buffer {@code dst} (consumed). */
    public void read(long offset, ByteBuffer dst) throws NbdException {
        int n = dst.remaining();
        if (n == 0) {
            return;
        }
        if (dst.isDirect()) {
            Pointer p = Native.getDirectBufferPointer(dst).share(dst.position());
            check(nbd, nbd.nbd_pread(open(), p, new NativeLong(n), offset, 0), uri + ": read " + n + " bytes at " + offset);
            dst.position(dst.limit());
            return;
        }
        Memory m = new Memory(n);
        check(nbd, nbd.nbd_pread(open(), m, new NativeLong(n), offset, 0), uri + ": read " + n + " bytes at " + offset);
        dst.put(m.getByteBuffer(0, n));
    }

    /**
     * Reads every range, split into requests of at most {@code requestBytes}, keeping up to {@code depth}
     * requests in flight on the connection (libnbd's AIO API), and hands each request's data to {@code sink} in
     * range order as soon as it and every earlier one completed. The sink runs on the calling thread while
     * later requests are still being served.
     */
    public void readRanges(Iterable<ByteRange> ranges, int depth, int requestBytes, DataSink sink) throws Exception {
        if (depth < 1 || requestBytes < 512) {
            throw new IllegalArgumentException("depth " + depth + " / request size " + requestBytes);
        }
        ensureSlots(depth, requestBytes);
        LibNbd.CompletionCallback.ByValue none = new LibNbd.CompletionCallback.ByValue();
        Iterator<ByteRange> it = ranges.iterator();
        ArrayDeque<Integer> free = new ArrayDeque<>();
        for (int i = 0; i < depth; i++) {
            free.add(i);
        }
        ArrayDeque<Integer> inFlight = new ArrayDeque<>();
        long[] cookie = new long[depth];
        long[] at = new long[depth];
        int[] len = new int[depth];
        ByteRange current = null;
        long next = 0;
        try {
            while (true) {
                while (!free.isEmpty()) {
                    if (current == null || next >= current.end()) {
                        if (!it.hasNext()) {
                            break;
                        }
                        current = it.next();
                        next = current.offset();
                        if (current.end() > size) {
                            throw new IllegalArgumentException("read " + current + " beyond the export (" + size + " bytes)");
                        }
                    }
                    int s = free.poll();
                    at[s] = next;
                    len[s] = (int) Math.min(requestBytes, current.end() - next);
                    next += len[s];
                    cookie[s] = nbd.nbd_aio_pread(open(), slots[s], new NativeLong(len[s]), at[s], none, 0);
                    if (cookie[s] < 0) {
                        throw error(nbd, uri + ": read " + len[s] + " bytes at " + at[s]);
                    }
                    inFlight.add(s);
                }
                if (inFlight.isEmpty()) {
                    return;
                }
                int s = inFlight.peek();
                awaitCompletion(cookie[s], at[s], len[s]);
                inFlight.poll();
                sink.accept(at[s], slots[s].getByteBuffer(0, len[s]));
                free.add(s);
            }
        } finally {
            if (!inFlight.isEmpty()) {
                abandonedReads = true; // a read or the sink failed while other requests may still land
            }
        }
    }

    private void awaitCompletion(long cookie, long offset, int length) throws NbdException {
        long lastProgress = System.nanoTime();
        while (true) {
            int done = nbd.nbd_aio_command_completed(open(), cookie);
            if (done == 1) {
                return;
            }
            if (done < 0) {
                throw error(nbd, uri + ": read " + length + " bytes at " + offset);
            }
            int r = nbd.nbd_poll(open(), 1000);
            if (r < 0) {
                throw error(nbd, "waiting for " + uri);
            }
            if (r > 0) {
                lastProgress = System.nanoTime();
            } else if (System.nanoTime() - lastProgress > STALL_MILLIS * 1_000_000L) {
                throw new NbdException(uri + ": no answer to a read at " + offset + " for " + STALL_MILLIS / 1000
                        + " s", 0);
            }
        }
    }

    private void ensureSlots(int depth, int bytes) {
        if (slots.length >= depth && slotBytes >= bytes) {
            return;
        }
        if (abandonedReads) {
            throw new IllegalStateException(uri + ": a failed read left requests in flight; connect again");
        }
        Memory[] grown = new Memory[depth];
        for (int i = 0; i < depth; i++) {
            grown[i] = new Memory(bytes);
        }
        slots = grown;
        slotBytes = bytes;
    }

    private Pointer open() {
        if (handle == null) {
            throw new IllegalStateException("NBD client of " + uri + " is closed");
        }
        return handle;
    }

    /** Closes the connection (libnbd sends NBD_CMD_DISC and drops any request still in flight). */
    @Override
    public void close() {
        if (handle != null) {
            nbd.nbd_shutdown(handle, 0);
            nbd.nbd_close(handle);
            handle = null;
            slots = new Memory[0];
        }
    }

    private static void check(LibNbd nbd, int rc, String what) throws NbdException {
        if (rc < 0) {
            throw error(nbd, what);
        }
    }

    private static NbdException error(LibNbd nbd, String what) {
        String msg = nbd.nbd_get_error();
        return new NbdException(what + ": " + (msg == null ? "unknown libnbd error" : msg), nbd.nbd_get_errno());
    }

    /** Keeps callback objects reachable until here: libnbd holds raw pointers to their native stubs. */
    private static void keepAlive(Object... callbacks) {
        Reference.reachabilityFence(callbacks);
    }

    /** Loads libnbd once, on first use. */
    private static final class Holder {
        private static final Object LOCK = new Object();
        private static LibNbd lib;
        private static NbdUnavailableException failure;

        static LibNbd lib() {
            synchronized (LOCK) {
                if (lib == null && failure == null) {
                    try {
                        lib = LibNbd.load();
                    } catch (NbdUnavailableException e) {
                        failure = e;
                    }
                }
                if (failure != null) {
                    throw failure;
                }
                return lib;
            }
        }
    }
}
