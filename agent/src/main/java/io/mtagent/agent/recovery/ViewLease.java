package io.mtagent.agent.recovery;

import io.mtagent.agent.journal.PointInTimeView;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A point-in-time view held open by a reader (an NBD client connection, an export). While a lease is open the
 * journal segments the view reads must not be pruned: whoever creates leases (the retention service) pins the
 * segments when it opens one and unpins them in {@link #close}.
 *
 * <p>What an NBD connection does with the disk goes through the lease: {@link #read} (the view, or for a test
 * failover the view under its scratch writes) and, when {@link #writable()}, {@link #write},
 * {@link #writeZeroes} and {@link #flush}. A plain view lease is read-only.
 *
 * <p>{@link #close} is idempotent and may be called from any thread; the NBD server calls it once the
 * connection is gone <em>and</em> its last request has finished, never while a request is still using the view.
 */
public interface ViewLease extends AutoCloseable {

    PointInTimeView view();

    /** Reads [offset, offset + dst.remaining()) into {@code dst} (not moved); 512-aligned. */
    default void read(long offset, ByteBuffer dst) throws IOException {
        view().read(offset, dst);
    }

    /** True when the connection may write ({@link #write}); a plain view is read-only. */
    default boolean writable() {
        return false;
    }

    /**
     * Writes {@code src} at {@code offset} (any alignment).
     *
     * @throws ScratchFullException when the write needs more scratch space than the cap allows (ENOSPC)
     */
    default void write(long offset, ByteBuffer src) throws IOException {
        throw new UnsupportedOperationException("read-only view");
    }

    /** Writes {@code length} zero bytes at {@code offset}. */
    default void writeZeroes(long offset, long length) throws IOException {
        throw new UnsupportedOperationException("read-only view");
    }

    /** Makes completed writes visible to every later read (they always are; a scratch is never kept). */
    default void flush() throws IOException {
    }

    @Override
    void close();

    /** A lease on {@code view} that runs {@code onClose} exactly once, on the first {@link #close}. */
    static ViewLease of(PointInTimeView view, Runnable onClose) {
        AtomicBoolean closed = new AtomicBoolean();
        return new ViewLease() {
            @Override
            public PointInTimeView view() {
                return view;
            }

            @Override
            public void close() {
                if (closed.compareAndSet(false, true)) {
                    onClose.run();
                }
            }
        };
    }
}
