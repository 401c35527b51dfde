package io.mtagent.agent.config;

import java.time.Duration;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Parses and prints sizes ({@code 64MiB}, {@code 1GiB}, {@code 512KiB}, plain bytes) and durations ({@code 2ms},
 * {@code 5s}, {@code 15min}, {@code 24h}). Units are case-insensitive.
 *
 * <p>Decimal units ({@code MB}) and the bare {@code m} are refused rather than guessed: {@code 64MB} could mean
 * 64,000,000 or 64 MiB and {@code 5m} minutes or milliseconds, and a wrong guess silently sizes a cache by a
 * factor of 1.05 or a timeout by a factor of 60,000.
 *
 * <p>Stateless and thread-safe.
 */
final class Units {
    static final String SIZE_SYNTAX = "a whole number of bytes with an optional KiB, MiB, GiB or TiB suffix"
            + " (powers of 1024), e.g. 64MiB";
    static final String DURATION_SYNTAX = "a whole number with a unit: ms, s, min, h or d, e.g. 2ms, 5s, 15min";

    private static final Pattern NUMBER_AND_UNIT = Pattern.compile("(\\d+)\\s*([A-Za-z]*)");
    private static final String[] SIZE_UNITS = {"B", "KiB", "MiB", "GiB", "TiB"};

    private Units() {
    }

    static long parseSize(String text) {
        Matcher m = NUMBER_AND_UNIT.matcher(text.trim());
        if (!m.matches()) {
            throw new IllegalArgumentException("not a size: use " + SIZE_SYNTAX);
        }
        int shift;
        switch (m.group(2).toLowerCase(Locale.ROOT)) {
            case "": case "b": shift = 0; break;
            case "kib": shift = 10; break;
            case "mib": shift = 20; break;
            case "gib": shift = 30; break;
            case "tib": shift = 40; break;
            default: throw new IllegalArgumentException("unknown size unit '" + m.group(2) + "': use " + SIZE_SYNTAX);
        }
        try {
            long number = Long.parseLong(m.group(1));
            if (number > (Long.MAX_VALUE >> shift)) {
                throw new NumberFormatException();
            }
            return number << shift;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("size too large");
        }
    }

    /** The largest unit that represents {@code bytes} exactly: 1048576 prints as 1MiB, 1536 as 1536. */
    static String formatSize(long bytes) {
        int unit = 0;
        while (unit < SIZE_UNITS.length - 1 && bytes != 0 && (bytes & 1023) == 0) {
            bytes >>= 10;
            unit++;
        }
        return unit == 0 ? Long.toString(bytes) : bytes + SIZE_UNITS[unit];
    }

    static Duration parseDuration(String text) {
        String trimmed = text.trim();
        if (trimmed.equals("0")) {
            return Duration.ZERO;
        }
        Matcher m = NUMBER_AND_UNIT.matcher(trimmed);
        if (!m.matches() || m.group(2).isEmpty()) {
            throw new IllegalArgumentException("not a duration: use " + DURATION_SYNTAX);
        }
        long number;
        try {
            number = Long.parseLong(m.group(1));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("duration too large");
        }
        try {
            switch (m.group(2).toLowerCase(Locale.ROOT)) {
                case "ms": return Duration.ofMillis(number);
                case "s": return Duration.ofSeconds(number);
                case "min": return Duration.ofMinutes(number);
                case "h": return Duration.ofHours(number);
                case "d": return Duration.ofDays(number);
                case "m": throw new IllegalArgumentException("'m' is ambiguous: write 'min' for minutes or 'ms' for"
                        + " milliseconds");
                default: throw new IllegalArgumentException("unknown duration unit '" + m.group(2) + "': use "
                        + DURATION_SYNTAX);
            }
        } catch (ArithmeticException e) {
            throw new IllegalArgumentException("duration too large");
        }
    }

    /** The largest unit that represents {@code duration} exactly, in the syntax {@link #parseDuration} reads. */
    static String formatDuration(Duration duration) {
        if (duration.isZero()) {
            return "0";
        }
        long millis = duration.toMillis();
        if (millis % 86_400_000 == 0) {
            return millis / 86_400_000 + "d";
        } else if (millis % 3_600_000 == 0) {
            return millis / 3_600_000 + "h";
        } else if (millis % 60_000 == 0) {
            return millis / 60_000 + "min";
        } else if (millis % 1000 == 0) {
            return millis / 1000 + "s";
        }
        return millis + "ms";
    }
}
