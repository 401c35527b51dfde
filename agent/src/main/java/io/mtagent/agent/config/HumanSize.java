package io.mtagent.agent.config;

import java.util.Locale;

/**
 * Sizes as an operator reads them: {@code 1536} is "1.5 KiB", binary units with one decimal (the units the
 * configuration takes, {@link Units}). Stateless and thread-safe.
 */
public final class HumanSize {
    private static final String[] UNITS = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};

    private HumanSize() {
    }

    /** Bytes in the largest binary unit that keeps the number at least 1; below 1 KiB plain bytes. */
    public static String of(long bytes) {
        if (bytes < 0) {
            return "?";
        }
        if (bytes < 1024) {
            return bytes + " B";
        }
        double v = bytes;
        int u = -1;
        while (v >= 1024 && u < UNITS.length - 1) {
            v /= 1024;
            u++;
        }
        return String.format(Locale.ROOT, "%.1f %s", v, UNITS[u]);
    }
}
