package io.mtagent.agent.config;

import java.util.Collections;
import java.util.Map;
import java.util.Set;
import java.util.SortedSet;
import java.util.TreeSet;

/**
 * The parsed, individually valid values of one configuration, before cross-key checks. Produced by
 * {@link ConfigDef#parse}; read by {@link AgentConfig}.
 *
 * <p>Immutable and thread-safe.
 */
public final class ConfigValues {
    private final Map<String, Object> values;
    private final Map<String, String> origins;
    private final Map<String, SortedSet<String>> instances;

    ConfigValues(Map<String, Object> values, Map<String, String> origins, Map<String, SortedSet<String>> instances) {
        this.values = Map.copyOf(values);
        this.origins = Map.copyOf(origins);
        this.instances = Map.copyOf(instances);
    }

    /** The value of a plain key: as set, else its default ({@code null} for a computed default). */
    @SuppressWarnings("unchecked")
    public <T> T get(ConfigKey<T> key) {
        return values.containsKey(key.name()) ? (T) values.get(key.name()) : key.defaultValue();
    }

    /** The value of {@code key} for one instance of a group, e.g. the path of disk {@code d0}. */
    @SuppressWarnings("unchecked")
    public <T> T get(IndexedKeys group, String instance, ConfigKey<T> key) {
        String name = group.fullName(instance, key);
        return values.containsKey(name) ? (T) values.get(name) : key.defaultValue();
    }

    /** The instance names of a group that have at least one setting, sorted. */
    public Set<String> instances(IndexedKeys group) {
        return Collections.unmodifiableSortedSet(instances.getOrDefault(group.prefix(), new TreeSet<>()));
    }

    /** Where a setting came from ("file line 3", "command line"), or "default" if it was not set. */
    public String origin(String settingName) {
        return origins.getOrDefault(settingName, "default");
    }
}
