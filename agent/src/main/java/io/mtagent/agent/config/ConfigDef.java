package io.mtagent.agent.config;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SortedSet;
import java.util.TreeSet;

/**
 * The table of every setting the agent knows (Kafka's {@code ConfigDef}): plain keys and {@link IndexedKeys}
 * families. It turns raw {@link Setting}s into {@link ConfigValues}, refusing unknown names (with the closest known
 * name as a hint, because a misspelt key silently falling back to its default is the classic configuration bug)
 * and values that do not parse or break their constraint. All problems are reported at once.
 *
 * <p>Immutable after construction and thread-safe.
 */
public final class ConfigDef {
    /** Suggestions further away than this many edits would be guesses rather than hints. */
    private static final int MAX_SUGGESTION_DISTANCE = 3;
    private static final int HELP_WIDTH = 100;

    private final Map<String, ConfigKey<?>> keys = new LinkedHashMap<>();
    private final List<IndexedKeys> groups = new ArrayList<>();

    /**
     * @param keys   the plain keys, in the order the help table lists them
     * @param groups the indexed families, listed after the plain keys
     */
    public ConfigDef(List<ConfigKey<?>> keys, List<IndexedKeys> groups) {
        for (ConfigKey<?> key : keys) {
            if (this.keys.put(key.name(), key) != null) {
                throw new IllegalArgumentException("key defined twice: " + key.name());
            }
        }
        this.groups.addAll(groups);
    }

    /** The plain keys in definition order. */
    public List<ConfigKey<?>> keys() {
        return List.copyOf(keys.values());
    }

    public List<IndexedKeys> groups() {
        return List.copyOf(groups);
    }

    /**
     * Parses settings; a later setting of the same name replaces an earlier one (pass the file first, then the
     * command-line overrides).
     *
     * @throws ConfigException listing every unknown name, bad value and missing required key
     */
    public ConfigValues parse(List<Setting> settings) {
        Map<String, Setting> effective = new LinkedHashMap<>();
        settings.forEach(s -> effective.put(s.name(), s));
        List<String> problems = new ArrayList<>();
        Map<String, Object> values = new HashMap<>();
        Map<String, String> origins = new HashMap<>();
        Map<String, SortedSet<String>> instances = new HashMap<>();
        for (Setting setting : effective.values()) {
            ConfigKey<?> key = keys.get(setting.name());
            if (key == null) {
                Optional<IndexedKeys.Match> indexed = matchGroup(setting.name());
                if (indexed.isEmpty()) {
                    problems.add(unknown(setting));
                    continue;
                }
                String instance = indexed.get().instance();
                if (!IndexedKeys.INSTANCE_NAME.matcher(instance).matches()) {
                    problems.add("setting '" + setting.name() + "' (" + setting.origin() + "): the name '" + instance
                            + "' must be 1 to 64 characters of a-z, 0-9, '_' and '-'");
                    continue;
                }
                instances.computeIfAbsent(indexed.get().group().prefix(), g -> new TreeSet<>()).add(instance);
                key = indexed.get().key();
            }
            try {
                values.put(setting.name(), key.parse(setting.value()));
                origins.put(setting.name(), setting.origin());
            } catch (IllegalArgumentException e) {
                problems.add("bad value for '" + setting.name() + "' (" + setting.origin() + "): '" + setting.value()
                        + "' — " + e.getMessage());
            }
        }
        for (IndexedKeys group : groups) {
            for (String instance : instances.getOrDefault(group.prefix(), new TreeSet<>())) {
                for (ConfigKey<?> key : group.keys()) {
                    String name = group.fullName(instance, key);
                    if (key.required() && !effective.containsKey(name)) {
                        problems.add("setting '" + name + "' is required because other " + group.prefix() + "."
                                + instance + ".* settings are given: " + key.doc());
                    }
                }
            }
        }
        for (ConfigKey<?> key : keys.values()) {
            if (key.required() && !effective.containsKey(key.name())) {
                problems.add("setting '" + key.name() + "' is required: " + key.doc());
            }
        }
        if (!problems.isEmpty()) {
            throw new ConfigException(problems);
        }
        return new ConfigValues(values, origins, instances);
    }

    /**
     * The help table: every key with its default, its documentation and what is allowed, wrapped for a terminal.
     * Used by {@code mtagent run --help-config} and pasted into the README.
     */
    public String renderHelp() {
        StringBuilder out = new StringBuilder();
        for (ConfigKey<?> key : keys.values()) {
            renderKey(out, key.name(), key);
        }
        for (IndexedKeys group : groups) {
            out.append('\n');
            wrap(out, group.doc(), "");
            for (ConfigKey<?> key : group.keys().stream().sorted(Comparator.comparing(ConfigKey::name)).toList()) {
                renderKey(out, group.prefix() + ".<name>." + key.name(), key);
            }
        }
        return out.toString();
    }

    private static void renderKey(StringBuilder out, String name, ConfigKey<?> key) {
        String defaultText = key.defaultText().isEmpty() ? "(empty)" : key.defaultText();
        out.append(name).append(" = ").append(defaultText).append('\n');
        wrap(out, key.doc() + " Allowed: " + key.allowed() + ".", "    ");
    }

    private static void wrap(StringBuilder out, String text, String indent) {
        StringBuilder line = new StringBuilder(indent);
        for (String word : text.split(" ")) {
            if (line.length() > indent.length() && line.length() + 1 + word.length() > HELP_WIDTH) {
                out.append(line).append('\n');
                line = new StringBuilder(indent);
            }
            if (line.length() > indent.length()) {
                line.append(' ');
            }
            line.append(word);
        }
        out.append(line).append('\n');
    }

    private Optional<IndexedKeys.Match> matchGroup(String name) {
        for (IndexedKeys group : groups) {
            Optional<IndexedKeys.Match> match = group.match(name);
            if (match.isPresent()) {
                return match;
            }
        }
        return Optional.empty();
    }

    private String unknown(Setting setting) {
        String message = "unknown setting '" + setting.name() + "' (" + setting.origin() + ")";
        Optional<String> suggestion = closestKnownName(setting.name());
        return message + suggestion.map(s -> " — did you mean '" + s + "'?").orElse(
                " — 'mtagent run --help-config' lists the known settings");
    }

    /** The known name with the fewest edits from {@code name}, if close enough to be a typo. */
    Optional<String> closestKnownName(String name) {
        List<String> candidates = new ArrayList<>(keys.keySet());
        for (IndexedKeys group : groups) {
            // Offer the family's keys under the instance name the operator wrote (disk.d0.pth -> disk.d0.path).
            String[] parts = name.split("\\.", 3);
            String instance = parts.length >= 2 ? parts[1] : "<name>";
            for (ConfigKey<?> key : group.keys()) {
                candidates.add(group.fullName(instance, key));
            }
        }
        String best = null;
        int bestDistance = Integer.MAX_VALUE;
        for (String candidate : candidates) {
            // A name cut short ("disk.d0.sector") is as likely a slip as a typo, however many characters are missing.
            int distance = candidate.startsWith(name + ".") ? 1 : editDistance(name, candidate);
            if (distance < bestDistance) {
                best = candidate;
                bestDistance = distance;
            }
        }
        return bestDistance <= Math.min(MAX_SUGGESTION_DISTANCE, Math.max(1, name.length() / 3))
                ? Optional.of(best) : Optional.empty();
    }

    /** Levenshtein distance; names are short, so the quadratic table is fine. */
    static int editDistance(String a, String b) {
        int[] previous = new int[b.length() + 1];
        int[] current = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) {
            previous[j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            current[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                int substitution = previous[j - 1] + (a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1);
                current[j] = Math.min(substitution, Math.min(previous[j], current[j - 1]) + 1);
            }
            int[] swap = previous;
            previous = current;
            current = swap;
        }
        return previous[b.length()];
    }
}
