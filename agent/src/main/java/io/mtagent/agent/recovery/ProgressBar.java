package io.mtagent.agent.recovery;

import java.io.PrintStream;
import java.time.Duration;

/**
 * A terminal progress bar for the CLI: on a TTY one line rewritten in place (carriage return) at most every
 * 200 ms; otherwise (logs, pipes) one plain line every {@code plainInterval}, plus always the final line.
 * Not thread-safe: one working thread reports.
 */
public final class ProgressBar implements ProgressListener {
    private static final int WIDTH = 30;
    private final PrintStream out;
    private final String label;
    private final boolean tty;
    private final long intervalNanos;
    private long lastPrint = Long.MIN_VALUE;

    public ProgressBar(PrintStream out, String label, boolean tty, Duration plainInterval) {
        this.out = out;
        this.label = label;
        this.tty = tty;
        this.intervalNanos = tty ? 200_000_000L : plainInterval.toNanos();
    }

    /** A bar on standard output; a TTY when the JVM has a console. */
    public static ProgressBar forConsole(String label) {
        return new ProgressBar(System.out, label, System.console() != null, Duration.ofSeconds(5));
    }

    @Override
    public void progress(Progress p) {
        long now = System.nanoTime();
        if (!p.finished() && lastPrint != Long.MIN_VALUE && now - lastPrint < intervalNanos) {
            return;
        }
        lastPrint = now;
        String line = render(p);
        if (tty) {
            out.print("\r" + line + (p.finished() ? "\n" : ""));
        } else {
            out.println(line);
        }
        out.flush();
    }

    /** One line: label, bar, percent, MiB done/total, MB/s, ETA. */
    String render(Progress p) {
        int filled = (int) Math.round(p.fraction() * WIDTH);
        String bar = "#".repeat(filled) + ".".repeat(WIDTH - filled);
        return String.format("%s [%s] %3d%% %,.1f/%,.1f MiB %,.1f MB/s ETA %s", label, bar,
                (int) Math.floor(p.fraction() * 100), p.doneBytes() / 1048576.0, p.totalBytes() / 1048576.0,
                p.megabytesPerSecond(), eta(p));
    }

    private static String eta(Progress p) {
        if (p.finished()) {
            return "done";
        }
        if (p.eta() == null) {
            return "--:--";
        }
        long s = p.eta().toSeconds();
        return s >= 3600 ? String.format("%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60)
                : String.format("%d:%02d", s / 60, s % 60);
    }
}
