package io.mtagent.agent.retention;

import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.time.temporal.TemporalAccessor;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * The one syntax of a recovery point, for every command ({@code export --point}, {@code nbd --point},
 * {@code recover --to}, {@code test-failover}), the control API and the offline paths. Whatever
 * {@code mtagent points} prints (text or {@code --json}: a kind, a name, a seq, a time) is accepted back:
 * <pre>
 *   latest                                  everything acknowledged
 *   latest-processed | "latest processed"   what is applied to the target
 *   latest-app | latest-app-consistent      the newest app-consistent tag
 *   seq:N | N                               the state after write N
 *   tag:NAME | NAME                         the newest tag of that name (a bare NAME that is one of the words
 *                                           above, a number or a time means that; say tag:NAME for such a tag)
 *   2026-11-23T10:42:17Z                    a time with a zone (Z or +01:00, optionally [Europe/Paris]): the prefix of
 *   2026-11-23T11:42:17+01:00               the stream written at or before it; a time without a zone is refused
 * </pre>
 * {@link #canonical()} is the form the resolvers take: {@code latest}, {@code latest-processed},
 * {@code latest-app}, {@code seq:N}, {@code tag:NAME}, or an instant in UTC ({@link Instant#toString()}).
 * Immutable.
 */
public record PointSpec(Kind kind, long seq, String name, Instant time) {
    /** What the point names. */
    public enum Kind { LATEST, LATEST_PROCESSED, LATEST_APP, SEQ, TAG, TIME }

    /** The message of every refusal of a malformed point, with the grammar. */
    public static final String GRAMMAR = "use latest, latest-processed, latest-app, seq:N (or N), tag:NAME (or NAME)"
            + " or a time with a zone such as 2026-11-23T10:42:17Z; 'mtagent points' lists them";

    private static final Pattern DIGITS = Pattern.compile("[0-9]{1,18}");
    private static final Pattern LOOKS_LIKE_TIME = Pattern.compile("[0-9]{4}-[0-9]{2}-[0-9]{2}[T ].*");

    /**
     * Parses an operator's point.
     *
     * @throws IllegalArgumentException naming what is wrong and the grammar
     */
    public static PointSpec parse(String text) {
        String s = text == null ? "" : text.strip();
        if (s.isEmpty()) {
            throw new IllegalArgumentException("no point given: " + GRAMMAR);
        }
        switch (s.toLowerCase(Locale.ROOT)) {
            case "latest":
                return new PointSpec(Kind.LATEST, -1, null, null);
            case "latest-processed", "latest processed", "latest_processed":
                return new PointSpec(Kind.LATEST_PROCESSED, -1, null, null);
            case "latest-app", "latest-app-consistent", "latest app-consistent", "latest_app":
                return new PointSpec(Kind.LATEST_APP, -1, null, null);
            default:
                break;
        }
        if (s.regionMatches(true, 0, "seq:", 0, 4)) {
            String n = s.substring(4).strip();
            if (!DIGITS.matcher(n).matches()) {
                throw new IllegalArgumentException("'" + s + "' is not a point: seq:N takes a sequence number; "
                        + GRAMMAR);
            }
            return new PointSpec(Kind.SEQ, Long.parseLong(n), null, null);
        }
        if (DIGITS.matcher(s).matches()) {
            return new PointSpec(Kind.SEQ, Long.parseLong(s), null, null);
        }
        if (s.regionMatches(true, 0, "tag:", 0, 4)) {
            String name = s.substring(4);
            if (name.isEmpty()) {
                throw new IllegalArgumentException("'" + s + "' is not a point: tag:NAME takes a tag name; " + GRAMMAR);
            }
            return new PointSpec(Kind.TAG, -1, name, null);
        }
        if (LOOKS_LIKE_TIME.matcher(s).matches()) {
            return new PointSpec(Kind.TIME, -1, null, time(s));
        }
        return new PointSpec(Kind.TAG, -1, s, null);
    }

    private static Instant time(String s) {
        String iso = s.length() > 10 && s.charAt(10) == ' ' ? s.substring(0, 10) + "T" + s.substring(11) : s;
        TemporalAccessor parsed;
        try {
            // An offset (Z, +01:00), a region ([Europe/Paris]) or both make a zoned time; neither a local one.
            parsed = DateTimeFormatter.ISO_DATE_TIME.parseBest(iso, ZonedDateTime::from, LocalDateTime::from);
        } catch (DateTimeParseException e) {
            throw new IllegalArgumentException("'" + s + "' is not a time: write it as 2026-11-23T10:42:17Z (ISO-8601,"
                    + " with a zone); " + GRAMMAR);
        }
        if (parsed instanceof ZonedDateTime z) {
            return z.toInstant();
        }
        throw new IllegalArgumentException("'" + s + "' has no time zone, so it could mean any of 24 hours: add Z for"
                + " UTC (" + iso + "Z) or the offset, e.g. " + iso + "+01:00");
    }

    /** The form the resolvers take (see the class comment). */
    public String canonical() {
        return switch (kind) {
            case LATEST -> "latest";
            case LATEST_PROCESSED -> "latest-processed";
            case LATEST_APP -> "latest-app";
            case SEQ -> "seq:" + seq;
            case TAG -> "tag:" + name;
            case TIME -> time.toString();
        };
    }

    /** The canonical form of {@code text}: {@code parse(text).canonical()}. */
    public static String canonical(String text) {
        return parse(text).canonical();
    }
}
