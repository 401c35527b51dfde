package io.mtagent.agent.recovery;

import io.mtagent.agent.journal.PointInTimeView;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The export's copy of a view at or below the applied point: the view hands its bytes over in the order they read
 * fastest ({@link PointInTimeView#stream}: the journal in file order, the target where no before-image lies), and
 * each piece is written at its place with a positioned write. The output is a file or a device that is synced only
 * at the end ({@link ExportService}), so the order of the writes does not matter, except for pieces that overwrite
 * bytes written before: those come after them, and positioned writes of one thread after another's are ordered
 * by the page cache like any two writes.
 *
 * <p>Sparse (to a file): zero blocks of a piece are not written (the file was sized up front as a hole, so they
 * read as zeros), except in a piece that overwrites (the bytes under it are not zeros). Progress is reported at most
 * every {@code reportNanos}, from the reading threads, one at a time; an exception the listener throws (a cancelled
 * job) stops the export and is what it throws, once every reader has stopped.
 */
final class StreamedCopy {
    private final PointInTimeView view;
    private final FileChannel ch;
    private final boolean sparse;
    private final long start;
    private final long reportNanos;
    private final ProgressListener listener;
    private final AtomicLong written = new AtomicLong();
    private final AtomicLong done = new AtomicLong();
    /** Guarded by itself: when progress was last reported. */
    private final long[] lastReport;
    /** What the listener threw, if it did. */
    private final AtomicReference<RuntimeException> stoppedBy = new AtomicReference<>();

    private StreamedCopy(PointInTimeView view, FileChannel ch, boolean sparse, long start, long reportNanos,
                         ProgressListener listener) {
        this.view = view;
        this.ch = ch;
        this.sparse = sparse;
        this.start = start;
        this.reportNanos = reportNanos;
        this.listener = listener;
        this.lastReport = new long[] {start};
    }

    /** @return bytes written */
    static long copy(PointInTimeView view, FileChannel ch, boolean sparse, long start, long reportNanos,
                     ProgressListener listener) throws IOException {
        StreamedCopy copy = new StreamedCopy(view, ch, sparse, start, reportNanos, listener);
        listener.progress(new ProgressListener.Progress(0, view.size(), 0, null, false));
        try {
            view.stream(0, view.size(), copy::write);
        } catch (IOException | RuntimeException e) {
            RuntimeException stop = copy.stoppedBy.get();
            if (stop != null) {
                throw stop; // the listener's own exception (a cancelled job), not the readers' wrapping of it
            }
            throw e;
        }
        return copy.written.get();
    }

    private void write(long offset, ByteBuffer bytes, boolean overwrites) throws IOException {
        ByteBuffer b = bytes.slice();
        written.addAndGet(sparse && !overwrites ? ExportService.writeSparse(ch, offset, b)
                : ExportService.writeAll(ch, offset, b));
        long passed = overwrites ? done.get() : done.addAndGet(b.remaining());
        long size = view.size();
        long now = System.nanoTime();
        synchronized (lastReport) {
            if (now - lastReport[0] >= reportNanos && passed < size) {
                lastReport[0] = now;
                try {
                    listener.progress(ExportService.progress(passed, size, now - start, false));
                } catch (RuntimeException e) { // a cancelled job stops here: every reader stops, then it is thrown
                    stoppedBy.compareAndSet(null, e);
                    throw new InterruptedIOException("the export was stopped: " + e);
                }
            }
        }
    }
}
