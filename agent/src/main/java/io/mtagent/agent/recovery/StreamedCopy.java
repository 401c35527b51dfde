package io.mtagent.agent.recovery;

import io.mtagent.agent.retention.PointInTimeView;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.util.concurrent.atomic.AtomicLong;

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
 * every {@code reportNanos}, by one thread at a time.
 */
final class StreamedCopy {
    private StreamedCopy() {
    }

    /** @return bytes written */
    static long copy(PointInTimeView view, FileChannel ch, boolean sparse, long start, long reportNanos,
                     ProgressListener listener) throws IOException {
        long size = view.size();
        AtomicLong written = new AtomicLong();
        AtomicLong done = new AtomicLong();
        long[] lastReport = {start};
        listener.progress(new ProgressListener.Progress(0, size, 0, null, false));
        view.stream(0, size, (offset, bytes, overwrites) -> {
            ByteBuffer b = bytes.slice();
            written.addAndGet(sparse && !overwrites ? ExportService.writeSparse(ch, offset, b)
                    : ExportService.writeAll(ch, offset, b));
            long passed = overwrites ? done.get() : done.addAndGet(b.remaining());
            long now = System.nanoTime();
            synchronized (lastReport) {
                if (now - lastReport[0] >= reportNanos && passed < size) {
                    lastReport[0] = now;
                    listener.progress(ExportService.progress(passed, size, now - start, false));
                }
            }
        });
        return written.get();
    }
}
