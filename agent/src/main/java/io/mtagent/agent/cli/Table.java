package io.mtagent.agent.cli;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A text table that fits the terminal: every column is as wide as its widest cell (a 32-character WWN is never cut
 * or pushed out of line), and the last column takes the rest of the width ({@link #width()}), wrapped at spaces
 * onto continuation lines. Not thread-safe: built and printed by one command.
 */
final class Table {
    /** The narrowest the last column gets, even on a tiny terminal. */
    private static final int MIN_LAST = 20;

    private final String[] headers;
    private final List<String[]> rows = new ArrayList<>();

    Table(String... headers) {
        this.headers = headers.clone();
    }

    void row(String... cells) {
        if (cells.length != headers.length) {
            throw new IllegalArgumentException("a row of " + cells.length + " cells in a table of " + headers.length);
        }
        rows.add(cells.clone());
    }

    /**
     * The width to fit: {@code $COLUMNS} when set (shells export it to commands on a terminal when asked, and a
     * user can set it), else 80 on a terminal, else unlimited (a pipe or a file keeps whole lines for scripts).
     */
    static int width() {
        String columns = System.getenv("COLUMNS");
        if (columns != null && columns.matches("[0-9]{1,4}") && Integer.parseInt(columns) >= 40) {
            return Integer.parseInt(columns);
        }
        return System.console() != null ? 80 : Integer.MAX_VALUE;
    }

    void print(PrintStream out) {
        int n = headers.length;
        int[] w = new int[n];
        for (int i = 0; i < n; i++) {
            w[i] = headers[i].length();
            for (String[] r : rows) {
                w[i] = Math.max(w[i], r[i].length());
            }
        }
        int fixed = 0;
        for (int i = 0; i < n - 1; i++) {
            fixed += w[i] + 2;
        }
        int total = width();
        int last = total == Integer.MAX_VALUE ? Integer.MAX_VALUE : Math.max(MIN_LAST, total - fixed);
        line(out, headers, w, last);
        for (String[] r : rows) {
            line(out, r, w, last);
        }
    }

    private static void line(PrintStream out, String[] cells, int[] w, int lastWidth) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < cells.length - 1; i++) {
            sb.append(cells[i]).append(" ".repeat(w[i] - cells[i].length() + 2));
        }
        int indent = sb.length();
        List<String> wrapped = wrap(cells[cells.length - 1], lastWidth);
        sb.append(wrapped.get(0));
        out.println(sb.toString().stripTrailing());
        for (String more : wrapped.subList(1, wrapped.size())) {
            out.println(" ".repeat(indent) + more);
        }
    }

    /** Splits {@code text} into lines of at most {@code width} characters, at spaces where it can. */
    static List<String> wrap(String text, int width) {
        if (text.length() <= width) {
            return List.of(text);
        }
        List<String> lines = new ArrayList<>();
        StringBuilder current = new StringBuilder();
        for (String word : Arrays.asList(text.split(" "))) {
            while (word.length() > width) { // a word longer than the column: cut it
                if (current.length() > 0) {
                    lines.add(current.toString());
                    current.setLength(0);
                }
                lines.add(word.substring(0, width));
                word = word.substring(width);
            }
            if (current.length() > 0 && current.length() + 1 + word.length() > width) {
                lines.add(current.toString());
                current.setLength(0);
            }
            if (current.length() > 0) {
                current.append(' ');
            }
            current.append(word);
        }
        if (current.length() > 0) {
            lines.add(current.toString());
        }
        return lines;
    }
}
