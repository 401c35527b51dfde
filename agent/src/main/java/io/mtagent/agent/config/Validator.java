package io.mtagent.agent.config;

import java.util.Arrays;
import java.util.List;
import java.util.function.Function;
import java.util.function.Predicate;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * A constraint on a parsed value, with its description for error messages and the help table. Descriptions take
 * the key's formatter so a size range reads "between 4KiB and 16MiB", not in raw bytes.
 *
 * <p>Implementations are immutable and thread-safe.
 *
 * @param <T> the value type
 */
public interface Validator<T> {
    /** Whether {@code value} is allowed. */
    boolean test(T value);

    /** What is allowed, completing "must be ...", e.g. "between 4KiB and 16MiB". */
    String describe(Function<? super T, String> format);

    /** Everything is allowed. */
    static <T> Validator<T> any() {
        return of(value -> true, format -> "");
    }

    static <T extends Comparable<T>> Validator<T> between(T min, T max) {
        return of(value -> value.compareTo(min) >= 0 && value.compareTo(max) <= 0,
                format -> "between " + format.apply(min) + " and " + format.apply(max));
    }

    static <T extends Comparable<T>> Validator<T> atLeast(T min) {
        return of(value -> value.compareTo(min) >= 0, format -> "at least " + format.apply(min));
    }

    @SafeVarargs
    static <T> Validator<T> oneOf(T... allowed) {
        List<T> list = List.of(allowed);
        return of(list::contains, format -> "one of "
                + list.stream().map(format).collect(Collectors.joining(", ")));
    }

    static Validator<Long> multipleOf(long unit) {
        return of(value -> value % unit == 0, format -> "a multiple of " + format.apply(unit));
    }

    static Validator<String> matches(String regex, String description) {
        Pattern pattern = Pattern.compile(regex);
        return of(value -> pattern.matcher(value).matches(), format -> description);
    }

    @SafeVarargs
    static <T> Validator<T> allOf(Validator<T>... validators) {
        return of(value -> Arrays.stream(validators).allMatch(v -> v.test(value)),
                format -> Arrays.stream(validators).map(v -> v.describe(format)).collect(Collectors.joining(", ")));
    }

    private static <T> Validator<T> of(Predicate<T> test,
            Function<Function<? super T, String>, String> description) {
        return new Validator<>() {
            @Override
            public boolean test(T value) {
                return test.test(value);
            }

            @Override
            public String describe(Function<? super T, String> format) {
                return description.apply(format);
            }
        };
    }
}
