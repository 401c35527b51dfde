package io.mtagent.nativeio;

import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.logging.Logger;

/**
 * Drops a file's clean pages from the OS page cache ({@code posix_fadvise(POSIX_FADV_DONTNEED)}), for files that
 * are written once and read rarely, such as the retention journal.
 *
 * <p>Why: such a file's pages only crowd out useful ones, and each new page the kernel takes for an append costs
 * more than one it reuses: on a VM whose host reclaims the guest's free memory, the first touch of a fresh page
 * faults on the host (bench/RESULTS.md: 3.5–3.9 s of system time per 3 GB written to a fresh page cache against
 * 0.6–1.6 s right after pages were freed). Dropping the pages of each synced range hands them straight back to
 * the next appends.
 *
 * <p>Advice only: a dirty page is not dropped (sync first), the data is never affected, and on a platform without
 * the call (Windows, JNA unavailable) this does nothing. Thread-safe.
 */
public final class PageCache {
    private static final Logger LOG = Logger.getLogger(PageCache.class.getName());
    private static final NativeIO IO = NativeIOImpl.available() ? new NativeIOImpl() : null;
    private static final AtomicBoolean WARNED = new AtomicBoolean();
    /**
     * The largest page-cache folio (2 MiB: a PMD with 4 KiB pages). The kernel drops only folios wholly inside the
     * range, so a range must start at a folio boundary to take the one a previous range ended inside.
     */
    static final long FOLIO = 2L << 20;

    private PageCache() {
    }

    /** True when {@link #dropClean} can do anything here. */
    public static boolean supported() {
        return IO != null;
    }

    /**
     * Drops the clean cached pages of {@code file} that lie wholly in [{@code offset}, {@code offset + length})
     * after rounding {@code offset} down to {@link #FOLIO}: the large folio a previous call's range ended inside,
     * written in full since, goes too (the kernel keeps a folio the range only partly covers). Returns false when
     * nothing could be done (unsupported, or the file could not be opened: logged once, never thrown: this is an
     * optimisation, not part of any promise).
     */
    public static boolean dropClean(Path file, long offset, long length) {
        if (IO == null || length <= 0) {
            return false;
        }
        long from = offset & -FOLIO;
        int fd;
        try {
            fd = IO.open(file.toString(), NativeIO.O_RDONLY | NativeIO.O_CLOEXEC, 0);
        } catch (NativeIOException e) {
            warnOnce(file, e);
            return false;
        }
        try {
            IO.posixFadvise(fd, from, offset + length - from, NativeIO.POSIX_FADV_DONTNEED);
            return true;
        } catch (NativeIOException e) {
            warnOnce(file, e);
            return false;
        } finally {
            try {
                IO.close(fd);
            } catch (NativeIOException ignored) {
                // a read-only descriptor: nothing to lose
            }
        }
    }

    private static void warnOnce(Path file, NativeIOException e) {
        if (WARNED.compareAndSet(false, true)) {
            LOG.info(() -> "page cache advice not applied to " + file + " (" + e.getMessage()
                    + "); written journal data stays cached until the kernel evicts it");
        }
    }
}
