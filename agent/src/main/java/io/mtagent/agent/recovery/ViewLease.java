package io.mtagent.agent.recovery;

import io.mtagent.agent.retention.PointInTimeView;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A point-in-time view held open by a reader (an NBD client connection, an export). While a lease is open the
 * journal segments the view reads must not be pruned: whoever creates leases (the retention service) pins the
 * segments when it opens one and unpins them in {@link #close}.
 *
 * <p>{@link #close} is idempotent and may be called from any thread; the NBD server calls it once the
 * connection is gone <em>and</em> its last read has finished, never while a read is still using the view.
 */
public interface ViewLease extends AutoCloseable {

    PointInTimeView view();

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
