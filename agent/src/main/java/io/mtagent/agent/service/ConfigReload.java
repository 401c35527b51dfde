package io.mtagent.agent.service;

import io.mtagent.agent.Agent;
import io.mtagent.agent.config.AgentConfig;
import io.mtagent.agent.config.AgentConfigKeys;
import io.mtagent.agent.control.RuntimeSettings;
import io.mtagent.agent.retention.RetentionEnforcer;
import java.io.IOException;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;

/**
 * A configuration reload of a running agent ({@code SIGHUP}, {@code systemctl reload mtagent}): the freshly read
 * configuration is compared with the one in force, and what can change at run time is applied:
 * <ul>
 *   <li>disks declared since the start are opened (as {@code POST /v1/disks/rescan});</li>
 *   <li>{@code health.rpo.threshold}, {@code health.app.consistent.frequency};</li>
 *   <li>{@code retention.window}, {@code retention.max.bytes} (the next pruning pass applies them);</li>
 *   <li>{@code log.level}.</li>
 * </ul>
 * Every other changed setting is reported as needing a restart, and left as it is. The outcome says exactly which
 * settings were applied (with old and new value), which need a restart, and what was refused.
 *
 * <p>Thread-safe: reloads are serialized; the values it changes are each thread-safe on their own.
 */
public final class ConfigReload {
    private final Agent agent;
    private final Consumer<String> logLevel;
    /** The settings in force: those of the start, with what reloads applied since. */
    private final Map<String, String> inForce;

    /** What one reload did. */
    public record Outcome(List<String> applied, List<String> needRestart, List<String> refused) {
        /** One line for the log. */
        public String describe() {
            if (applied.isEmpty() && needRestart.isEmpty() && refused.isEmpty()) {
                return "nothing changed";
            }
            List<String> parts = new ArrayList<>();
            if (!applied.isEmpty()) {
                parts.add("applied " + String.join(", ", applied));
            }
            if (!needRestart.isEmpty()) {
                parts.add("changed but needs a restart (not applied): " + String.join(", ", needRestart));
            }
            if (!refused.isEmpty()) {
                parts.add("refused: " + String.join("; ", refused));
            }
            return String.join("; ", parts);
        }
    }

    /**
     * @param agent    the running agent, started from {@code agent.config()}
     * @param logLevel sets the log level by its {@code log.level} name
     */
    public ConfigReload(Agent agent, Consumer<String> logLevel) {
        this.agent = agent;
        this.logLevel = logLevel;
        this.inForce = settings(agent.config());
    }

    /** Applies {@code fresh} (the configuration file read again, with the same command-line overrides). */
    public synchronized Outcome apply(AgentConfig fresh) {
        Map<String, String> before = new LinkedHashMap<>(inForce);
        Map<String, String> after = settings(fresh);
        Set<String> changed = new LinkedHashSet<>();
        after.forEach((k, v) -> {
            if (!v.equals(before.get(k))) {
                changed.add(k);
            }
        });
        before.keySet().stream().filter(k -> !after.containsKey(k)).forEach(changed::add);
        List<String> applied = new ArrayList<>();
        List<String> needRestart = new ArrayList<>();
        List<String> refused = new ArrayList<>();
        Set<String> appliedKeys = new LinkedHashSet<>();

        Map<String, String> runtime = new LinkedHashMap<>();
        for (String key : List.of(AgentConfigKeys.HEALTH_RPO_THRESHOLD.name(),
                AgentConfigKeys.HEALTH_APP_CONSISTENT_FREQUENCY.name())) {
            if (changed.remove(key)) {
                runtime.put(key, after.get(key));
            }
        }
        if (!runtime.isEmpty()) {
            RuntimeSettings.Result r = agent.runtimeSettings().apply(runtime);
            r.applied().forEach((k, v) -> {
                applied.add(k + "=" + v + " (was " + before.get(k) + ")");
                appliedKeys.add(k);
            });
            r.refused().forEach((k, why) -> refused.add(k + ": " + why));
        }
        String window = AgentConfigKeys.RETENTION_WINDOW.name();
        String cap = AgentConfigKeys.RETENTION_MAX_BYTES.name();
        boolean windowChanged = changed.remove(window);
        boolean capChanged = changed.remove(cap);
        if (windowChanged || capChanged) {
            RetentionEnforcer retention = agent.retention();
            if (retention == null || fresh.retentionDir().isEmpty()) {
                refused.add(window + "/" + cap + ": no retention journal is kept (retention.dir needs a restart)");
            } else {
                try {
                    long capacity = Files.getFileStore(fresh.retentionDir().get()).getTotalSpace();
                    retention.changePolicy(fresh.retentionWindow(), fresh.retentionMaxBytesFor(capacity));
                    if (windowChanged) {
                        applied.add(window + "=" + after.get(window) + " (was " + before.get(window) + ")");
                        appliedKeys.add(window);
                    }
                    if (capChanged) {
                        applied.add(cap + "=" + after.get(cap) + " (was " + before.get(cap) + ")");
                        appliedKeys.add(cap);
                    }
                } catch (IOException e) {
                    refused.add(window + "/" + cap + ": cannot read the retention volume (" + e.getMessage() + ")");
                }
            }
        }
        String level = AgentConfigKeys.LOG_LEVEL.name();
        if (changed.remove(level)) {
            logLevel.accept(fresh.logLevel());
            applied.add(level + "=" + fresh.logLevel() + " (was " + before.get(level) + ")");
            appliedKeys.add(level);
        }
        List<String> diskKeys = changed.stream().filter(k -> k.startsWith("disk.")).toList();
        if (!diskKeys.isEmpty()) {
            try {
                List<String> added = agent.disks().rescan(fresh.disks());
                if (!added.isEmpty()) {
                    applied.add("disks opened: " + String.join(", ", added));
                }
                Set<String> addedKeys = new LinkedHashSet<>();
                fresh.disks().stream().filter(d -> added.contains(d.id()))
                        .forEach(d -> diskKeys.stream().filter(k -> k.startsWith("disk." + d.name() + "."))
                                .forEach(addedKeys::add));
                diskKeys.stream().filter(k -> !addedKeys.contains(k)).forEach(needRestart::add);
                appliedKeys.addAll(addedKeys);
            } catch (IOException | RuntimeException e) {
                refused.add("disks: " + e.getMessage());
                needRestart.addAll(diskKeys);
            }
            changed.removeAll(diskKeys);
        }
        needRestart.addAll(changed);
        // What was applied is now in force; what needs a restart is not, so the next reload reports it again.
        for (String k : appliedKeys) {
            if (after.containsKey(k)) {
                inForce.put(k, after.get(k));
            } else {
                inForce.remove(k);
            }
        }
        return new Outcome(applied, needRestart, refused);
    }

    /** {@code name → value} of every effective setting ({@link AgentConfig#toString()} holds no secret). */
    private static Map<String, String> settings(AgentConfig config) {
        Map<String, String> m = new LinkedHashMap<>();
        for (String line : config.toString().split("\n")) {
            int eq = line.indexOf('=');
            if (eq > 0) {
                m.put(line.substring(0, eq), line.substring(eq + 1));
            }
        }
        return m;
    }
}
