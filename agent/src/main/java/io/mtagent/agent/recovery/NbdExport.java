package io.mtagent.agent.recovery;

import io.mtagent.agent.disk.ReplicatedDisk;
import io.mtagent.agent.journal.PointInTimeView;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.TimeoutException;

/**
 * One export of the NBD server: a name the client asks for, the size it is told, and how to open the view when
 * a client enters transmission with it.
 *
 * @param name export name, 1 to 4096 UTF-8 bytes (for example {@code disk-0@seq:1234})
 * @param description free text shown by {@code NBD_INFO_DESCRIPTION} (may be empty)
 * @param size bytes of the view (a multiple of 512)
 * @param opener opens a lease per connection; runs on a Netty event loop, so it must not block (no waiting
 *               for the applier: resolve the point before the export is added)
 * @param writable whether clients may write (a test failover: its leases write to a scratch file); a read-only
 *                 export refuses writes with EPERM
 */
public record NbdExport(String name, String description, long size, Opener opener, boolean writable) {

    /** Opens the view for one connection; an exception refuses that client with the message. */
    @FunctionalInterface
    public interface Opener {
        ViewLease open() throws IOException;
    }

    /** A read-only export. */
    public NbdExport(String name, String description, long size, Opener opener) {
        this(name, description, size, opener, false);
    }

    public NbdExport {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(description, "description");
        Objects.requireNonNull(opener, "opener");
        if (name.isEmpty() || name.getBytes(StandardCharsets.UTF_8).length > 4096) {
            throw new IllegalArgumentException("an NBD export name has 1 to 4096 UTF-8 bytes: '" + name + "'");
        }
        if (size < 0 || size % 512 != 0) {
            throw new IllegalArgumentException("export size must be a multiple of 512: " + size);
        }
    }

    /** The conventional name of the view of {@code diskId} at sequence number {@code point}. */
    public static String nameOf(String diskId, long point) {
        return diskId + "@seq:" + point;
    }

    /** Whether {@code exportName} is a view of {@code diskId} named by {@link #nameOf}. */
    public static boolean isViewOf(String exportName, String diskId) {
        return exportName.startsWith(diskId + "@seq:");
    }

    /**
     * An export of {@code disk} at {@code point}, named {@link #nameOf}: waits (up to {@code maxWait}) until the
     * applier has reached the point, then every connection gets a lease on that view. The leases pin nothing:
     * until pruning exists nothing needs pinning; the retention service replaces the opener with a pinning one.
     */
    public static NbdExport of(ReplicatedDisk disk, long point, Duration maxWait)
            throws InterruptedException, TimeoutException {
        PointInTimeView view = disk.view(point, maxWait);
        return new NbdExport(nameOf(disk.id(), point), "disk " + disk.id() + " at recovery point seq " + point,
                view.size(), () -> ViewLease.of(view, () -> { }));
    }
}
