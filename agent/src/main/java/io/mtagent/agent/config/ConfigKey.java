package io.mtagent.agent.config;

import java.util.Objects;

/**
 * One setting: its name, type, default, constraint and documentation (Kafka's {@code ConfigDef.ConfigKey}).
 * Keys of an {@link IndexedKeys} group are named by their suffix ({@code path} in {@code disk.<name>.path}).
 *
 * <p>A key has one of three kinds of default: a value; a value computed from elsewhere, which the owner of the key
 * fills in when {@link #defaultValue()} is {@code null} (the host name for {@code agent.name}), described by
 * {@link #defaultText()}; or none, when the key is {@link #required()}.
 *
 * <p>Immutable and thread-safe.
 *
 * @param <T> the type of the parsed value
 */
public final class ConfigKey<T> {
    private final String name;
    private final ConfigType<T> type;
    private final T defaultValue;
    private final String defaultText;
    private final boolean required;
    private final Validator<T> validator;
    private final String doc;

    private ConfigKey(String name, ConfigType<T> type, T defaultValue, String defaultText, boolean required,
            Validator<T> validator, String doc) {
        this.name = Objects.requireNonNull(name, "name");
        this.type = Objects.requireNonNull(type, "type");
        this.defaultValue = defaultValue;
        this.defaultText = defaultText;
        this.required = required;
        this.validator = Objects.requireNonNull(validator, "validator");
        this.doc = Objects.requireNonNull(doc, "doc");
        if (defaultValue != null && !validator.test(defaultValue)) {
            throw new IllegalArgumentException("the default of " + name + " breaks its own constraint");
        }
    }

    /** A key with a fixed default. */
    public static <T> ConfigKey<T> of(String name, ConfigType<T> type, T defaultValue, Validator<T> validator,
            String doc) {
        return new ConfigKey<>(name, type, Objects.requireNonNull(defaultValue, "defaultValue"),
                type.format(defaultValue), false, validator, doc);
    }

    /** A key whose default is computed by its owner; {@code defaultText} says what it is for the help table. */
    public static <T> ConfigKey<T> computed(String name, ConfigType<T> type, String defaultText,
            Validator<T> validator, String doc) {
        return new ConfigKey<>(name, type, null, defaultText, false, validator, doc);
    }

    /** A key without a default: leaving it out is an error. */
    public static <T> ConfigKey<T> required(String name, ConfigType<T> type, Validator<T> validator, String doc) {
        return new ConfigKey<>(name, type, null, "(required)", true, validator, doc);
    }

    public String name() {
        return name;
    }

    public ConfigType<T> type() {
        return type;
    }

    /** The default value, or {@code null} for computed and required keys. */
    public T defaultValue() {
        return defaultValue;
    }

    public String defaultText() {
        return defaultText;
    }

    public boolean required() {
        return required;
    }

    public String doc() {
        return doc;
    }

    /** What the value must be, e.g. "a size, e.g. 64MiB; between 4KiB and 16MiB". */
    public String allowed() {
        String constraint = validator.describe(type::format);
        return constraint.isEmpty() ? type.describe() : type.describe() + "; " + constraint;
    }

    /**
     * Parses and checks {@code text}.
     *
     * @throws IllegalArgumentException saying what is wrong and what is allowed
     */
    public T parse(String text) {
        T value;
        try {
            value = type.parse(text.trim());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(e.getMessage() + " (allowed: " + allowed() + ")", e);
        }
        if (!validator.test(value)) {
            throw new IllegalArgumentException("must be " + validator.describe(type::format));
        }
        return value;
    }

    @Override
    public String toString() {
        return name;
    }
}
