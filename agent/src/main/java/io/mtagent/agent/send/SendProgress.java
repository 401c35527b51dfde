package io.mtagent.agent.send;

import io.mtagent.agent.recovery.ProgressListener;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One progress line for all disks of a run: the disks send in parallel and each adds the bytes it finished;
 * the total grows as each disk learns how much it has to do (a bitmap's dirty bytes, a disk's size). Thread-safe:
 * the listener is called under this object's lock, so a listener that is not thread-safe (the terminal bar) is fine.
 */
public final class SendProgress {
    private final ProgressListener listener;
    private final AtomicLong total = new AtomicLong();
    private final AtomicLong done = new AtomicLong();
    private final long startNanos = System.nanoTime();

    public SendProgress(ProgressListener listener) {
        this.listener = listener;
    }

    /** A disk will handle {@code bytes} more. */
    void plan(long bytes) {
        total.addAndGet(bytes);
    }

    /** A disk finished {@code bytes} more. */
    void advance(long bytes) {
        done.addAndGet(bytes);
        report(false);
    }

    /** The final line. */
    public void finish() {
        report(true);
    }

    private synchronized void report(boolean finished) {
        double secs = (System.nanoTime() - startNanos) / 1e9;
        long d = done.get();
        long t = Math.max(d, total.get());
        double rate = secs > 0 ? d / secs : 0;
        Duration eta = finished ? Duration.ZERO : rate <= 0 ? null : Duration.ofSeconds((long) ((t - d) / rate));
        listener.progress(new ProgressListener.Progress(finished ? t : d, t, rate, eta, finished));
    }
}
