package io.mtagent.agent.config;

import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.function.Function;

/**
 * How the text of a setting becomes a typed value and back. {@link #parse} throws {@link IllegalArgumentException}
 * whose message says what is allowed; {@link ConfigDef} adds the setting's name, origin and value.
 *
 * <p>Implementations are stateless and thread-safe.
 *
 * @param <T> the Java type of the value
 */
public interface ConfigType<T> {
    ConfigType<String> STRING = of("text", text -> text, Function.identity());
    ConfigType<Boolean> BOOLEAN = of("true or false", ConfigType::parseBoolean, String::valueOf);
    ConfigType<Integer> INT = of("a whole number", ConfigType::parseInt, String::valueOf);
    ConfigType<Long> SIZE = of("a size, e.g. 64MiB", Units::parseSize, Units::formatSize);
    ConfigType<Duration> DURATION = of("a duration, e.g. 2ms, 5s, 15min", Units::parseDuration,
            Units::formatDuration);
    ConfigType<HostPort> HOST_PORT = of("host:port", HostPort::parse, HostPort::toString);
    /** A listening address that may be left empty, which means "do not listen". */
    ConfigType<Optional<HostPort>> OPTIONAL_HOST_PORT = of("host:port, or empty for none",
            text -> text.isEmpty() ? Optional.empty() : Optional.of(HostPort.parse(text)),
            value -> value.map(HostPort::toString).orElse(""));
    ConfigType<Path> PATH = of("a path", ConfigType::parsePath, Path::toString);
    /** A path that may be left empty, which means "not set". */
    ConfigType<Optional<Path>> OPTIONAL_PATH = of("a path, or empty for none",
            text -> text.isEmpty() ? Optional.empty() : Optional.of(parsePath(text)),
            value -> value.map(Path::toString).orElse(""));

    /** Comma-separated paths; empty text is the empty list. */
    ConfigType<List<Path>> PATH_LIST = of("paths separated by commas, or empty",
            text -> text.isEmpty() ? List.of() : Arrays.stream(text.split(","))
                    .map(String::trim).map(ConfigType::parsePath).toList(),
            value -> String.join(",", value.stream().map(Path::toString).toList()));

    /** Parses trimmed text; throws {@link IllegalArgumentException} saying what is allowed. */
    T parse(String text);

    /** The text {@link #parse} turns back into {@code value}. */
    String format(T value);

    /** A few words for the help table, e.g. "a size, e.g. 64MiB". */
    String describe();

    static <T> ConfigType<T> of(String description, Function<String, T> parser, Function<T, String> formatter) {
        return new ConfigType<>() {
            @Override
            public T parse(String text) {
                return parser.apply(text);
            }

            @Override
            public String format(T value) {
                return formatter.apply(value);
            }

            @Override
            public String describe() {
                return description;
            }
        };
    }

    private static Boolean parseBoolean(String text) {
        switch (text.toLowerCase(Locale.ROOT)) {
            case "true": return Boolean.TRUE;
            case "false": return Boolean.FALSE;
            default: throw new IllegalArgumentException("use true or false");
        }
    }

    private static Integer parseInt(String text) {
        try {
            return Integer.valueOf(text);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("not a whole number");
        }
    }

    private static Path parsePath(String text) {
        if (text.isEmpty()) {
            throw new IllegalArgumentException("a path is required");
        }
        try {
            return Path.of(text);
        } catch (InvalidPathException e) {
            throw new IllegalArgumentException("not a valid path: " + e.getReason());
        }
    }
}
