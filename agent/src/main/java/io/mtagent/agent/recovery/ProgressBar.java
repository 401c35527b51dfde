package io.mtagent.agent.recovery;

import io.mtagent.agent.config.HumanSize;
import java.io.PrintStream;
import java.time.Duration;
import java.util.Locale;

/**
 * A progress bar for the CLI: on a terminal one line redrawn in place at most every 200 ms ({@link TerminalLine}:
 * carriage return, the line fitted to the terminal's width, erase to the end of the line), the bar itself as wide
 * as the width leaves; otherwise (logs, pipes) one plain line every {@code plainInterval}, plus always the final
 * line. Not thread-safe: one working thread reports.
 */
public final class ProgressBar implements ProgressListener {
    private static final int MIN_BAR = 10;
    private static final int MAX_BAR = 40;
    private final PrintStream out;
    private final String label;
    private final boolean tty;
    private final TerminalLine line;
    private final long intervalNanos;
    private long lastPrint = Long.MIN_VALUE;

    public ProgressBar(PrintStream out, String label, boolean tty, Duration plainInterval) {
        this.out = out;
        this.label = label;
        this.tty = tty;
        this.line = new TerminalLine(out);
        this.intervalNanos = tty ? 200_000_000L : plainInterval.toNanos();
    }

    /** A bar on standard output; a terminal when the JVM has a console. */
    public static ProgressBar forConsole(String label) {
        return forConsole(System.out, label);
    }

    /**
     * A bar on {@code out} (standard error when standard output carries a JSON document); a terminal when the JVM
     * has a console.
     */
    public static ProgressBar forConsole(PrintStream out, String label) {
        return new ProgressBar(out, label, System.console() != null, Duration.ofSeconds(5));
    }

    @Override
    public void progress(Progress p) {
        long now = System.nanoTime();
        if (!p.finished() && lastPrint != Long.MIN_VALUE && now - lastPrint < intervalNanos) {
            return;
        }
        lastPrint = now;
        if (!tty) {
            out.println(render(p, label, MAX_BAR));
            out.flush();
            return;
        }
        String text = fitted(p);
        if (p.finished()) {
            line.finish(text);
        } else {
            line.redraw(text);
        }
    }

    /**
     * The line for the terminal's width: the figures always whole; the label shortened in the middle when it must
     * be, and the bar as wide as what is left (at most 40, at least 10 columns).
     */
    private String fitted(Progress p) {
        int room = line.width();
        if (p.totalBytes() <= 0) {
            return render(p, shorten(label, room - 8), 0);
        }
        int figures = render(p, "", 0).length(); // the label's place holds one separating space
        String shown = label;
        int labelRoom = room - figures - (MIN_BAR + 3);
        if (shown.length() > labelRoom) {
            shown = shorten(shown, Math.max(8, labelRoom));
        }
        int bar = Math.max(MIN_BAR, Math.min(MAX_BAR, room - render(p, shown, 0).length() - 3));
        return render(p, shown, bar);
    }

    /** {@code text} cut in the middle to {@code max} characters ("export dis…4b5c6"). */
    static String shorten(String text, int max) {
        if (text.length() <= max) {
            return text;
        }
        int head = (max - 1) / 2;
        int tail = max - 1 - head;
        return text.substring(0, head) + "\u2026" + text.substring(text.length() - tail);
    }

    /**
     * One line: label, bar, percent, done/total in binary units, MB/s, ETA; for a step that reports no total (a
     * phase without bytes to count) only the label and "working" or "done".
     */
    String render(Progress p, String label, int barWidth) {
        if (p.totalBytes() <= 0) {
            return label + (p.finished() ? " done" : " working");
        }
        int filled = (int) Math.round(p.fraction() * barWidth);
        String bar = barWidth == 0 ? "" : "[" + "#".repeat(filled) + ".".repeat(barWidth - filled) + "] ";
        return String.format(Locale.ROOT, "%s %s%3d%% %s/%s %.1f MB/s %s", label, bar,
                (int) Math.floor(p.fraction() * 100), HumanSize.of(p.doneBytes()), HumanSize.of(p.totalBytes()),
                p.megabytesPerSecond(), eta(p));
    }

    String render(Progress p) {
        return render(p, label, MAX_BAR);
    }

    private static String eta(Progress p) {
        if (p.finished()) {
            return "done";
        }
        if (p.eta() == null) {
            return "ETA --:--";
        }
        long s = p.eta().toSeconds();
        return "ETA " + (s >= 3600 ? String.format(Locale.ROOT, "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60)
                : String.format(Locale.ROOT, "%d:%02d", s / 60, s % 60));
    }
}
