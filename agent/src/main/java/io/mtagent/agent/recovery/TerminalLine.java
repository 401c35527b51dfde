package io.mtagent.agent.recovery;

import java.io.PrintStream;

/**
 * One status line rewritten in place on a terminal: carriage return, the line cut to the terminal's width minus
 * one (a line as wide as the terminal wraps, and the next carriage return then rewrites only its last row, which
 * scrolls), then erase-to-end-of-line ({@code ESC [ K}) so a shorter line leaves no debris of a longer one. The
 * width is {@code $COLUMNS} when set, else 80. Not thread-safe: one thread draws a line.
 */
public final class TerminalLine {
    /** ANSI (ECMA-48) "erase in line", from the cursor to the end. */
    static final String ERASE_TO_END = "\u001b[K";

    private final PrintStream out;
    private final int width;

    public TerminalLine(PrintStream out) {
        this(out, columns());
    }

    TerminalLine(PrintStream out, int width) {
        this.out = out;
        this.width = width;
    }

    /** The terminal's width: {@code $COLUMNS} (40 or more), else 80. */
    public static int columns() {
        String columns = System.getenv("COLUMNS");
        if (columns != null && columns.matches("[0-9]{1,4}") && Integer.parseInt(columns) >= 40) {
            return Integer.parseInt(columns);
        }
        return 80;
    }

    /** The usable width of a line (one less than the terminal's, so it never wraps). */
    public int width() {
        return width - 1;
    }

    /** Replaces the current line with {@code line}. */
    public void redraw(String line) {
        String fitted = line.length() > width() ? line.substring(0, width()) : line;
        out.print("\r" + fitted + ERASE_TO_END);
        out.flush();
    }

    /** Replaces the current line with {@code line} and ends it: the next output starts on a new line. */
    public void finish(String line) {
        redraw(line);
        out.print(System.lineSeparator());
        out.flush();
    }
}
