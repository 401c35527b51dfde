package io.mtagent.agent.config;

import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * A family of keys repeated per named instance: {@code <prefix>.<name>.<suffix>}, e.g. {@code disk.<name>.path}.
 * Instance names match {@code [a-z0-9_-]{1,64}}, so they cannot contain a dot and the split is unambiguous.
 *
 * <p>Immutable and thread-safe.
 */
public final class IndexedKeys {
    public static final Pattern INSTANCE_NAME = Pattern.compile("[a-z0-9_-]{1,64}");

    private final String prefix;
    private final List<ConfigKey<?>> keys;
    private final String doc;

    /**
     * @param prefix the first name segment, e.g. {@code disk}
     * @param keys   the per-instance keys, each named by its suffix (which may contain dots: {@code sector.size})
     * @param doc    what one instance is, for the help table
     */
    public IndexedKeys(String prefix, List<ConfigKey<?>> keys, String doc) {
        this.prefix = prefix;
        // Longest suffix first, so "disk.a.sector.size" matches "sector.size", not "size" with the name "a.sector".
        this.keys = keys.stream().sorted(Comparator.comparingInt((ConfigKey<?> k) -> -k.name().length())).toList();
        this.doc = doc;
    }

    public String prefix() {
        return prefix;
    }

    /** The per-instance keys, longest suffix first. */
    public List<ConfigKey<?>> keys() {
        return keys;
    }

    public String doc() {
        return doc;
    }

    /** {@code disk.d0.path} for instance {@code d0} and key {@code path}. */
    public String fullName(String instance, ConfigKey<?> key) {
        return prefix + "." + instance + "." + key.name();
    }

    /** A split of a full setting name into instance name and key; empty if no suffix of this family matches. */
    Optional<Match> match(String settingName) {
        if (!settingName.startsWith(prefix + ".")) {
            return Optional.empty();
        }
        for (ConfigKey<?> key : keys) {
            String tail = "." + key.name();
            if (settingName.endsWith(tail) && settingName.length() > prefix.length() + 1 + tail.length()) {
                String instance = settingName.substring(prefix.length() + 1, settingName.length() - tail.length());
                return Optional.of(new Match(this, instance, key));
            }
        }
        return Optional.empty();
    }

    /** The result of {@link #match}: the instance name is not yet checked against {@link #INSTANCE_NAME}. */
    record Match(IndexedKeys group, String instance, ConfigKey<?> key) {
    }
}
