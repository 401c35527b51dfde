package io.mtagent.agent.recovery;

import java.time.Duration;

/** Receives progress of a long operation (export, rollback); called on the working thread, must be quick. */
@FunctionalInterface
public interface ProgressListener {
    ProgressListener NONE = p -> { };

    void progress(Progress p);

    /**
     * @param doneBytes bytes finished so far
     * @param totalBytes bytes in all
     * @param bytesPerSecond average rate since the start
     * @param eta estimated time left (zero when done, null while the rate is unknown)
     * @param finished true on the last call
     */
    record Progress(long doneBytes, long totalBytes, double bytesPerSecond, Duration eta, boolean finished) {
        public double megabytesPerSecond() {
            return bytesPerSecond / 1e6;
        }

        public double fraction() {
            return totalBytes == 0 ? 1 : (double) doneBytes / totalBytes;
        }
    }
}
