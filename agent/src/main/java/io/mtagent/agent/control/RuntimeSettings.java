package io.mtagent.agent.control;

import io.mtagent.agent.config.AgentConfig;
import io.mtagent.agent.config.AgentConfigKeys;
import io.mtagent.agent.config.ConfigKey;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The settings that may change while the agent runs (health thresholds), starting from the configuration file and
 * changed by the configuration server's heartbeat answers. Every value is validated through the configuration key
 * table, so a value the file would refuse is refused here too.
 *
 * <p>Thread-safe: values are volatile and replaced whole.
 */
public final class RuntimeSettings {
    private volatile Duration rpoThreshold;
    private volatile Duration appConsistentFrequency;

    public RuntimeSettings(AgentConfig config) {
        this.rpoThreshold = config.healthRpoThreshold();
        this.appConsistentFrequency = config.healthAppConsistentFrequency();
    }

    public Duration rpoThreshold() {
        return rpoThreshold;
    }

    public Duration appConsistentFrequency() {
        return appConsistentFrequency;
    }

    /** Outcome of {@link #apply}: key to "applied" or to the reason it was refused. */
    public record Result(Map<String, String> applied, Map<String, String> refused) {
    }

    /** Validates and applies what is runtime-changeable; refuses the rest with the reason. */
    public Result apply(Map<String, String> settings) {
        Map<String, String> applied = new LinkedHashMap<>();
        Map<String, String> refused = new LinkedHashMap<>();
        settings.forEach((name, value) -> {
            try {
                if (name.equals(AgentConfigKeys.HEALTH_RPO_THRESHOLD.name())) {
                    rpoThreshold = parse(AgentConfigKeys.HEALTH_RPO_THRESHOLD, value);
                } else if (name.equals(AgentConfigKeys.HEALTH_APP_CONSISTENT_FREQUENCY.name())) {
                    appConsistentFrequency = parse(AgentConfigKeys.HEALTH_APP_CONSISTENT_FREQUENCY, value);
                } else if (AgentConfigKeys.DEF.keys().stream().anyMatch(k -> k.name().equals(name))) {
                    refused.put(name, "not changeable at run time; set it in the configuration file and restart");
                    return;
                } else {
                    refused.put(name, "unknown setting");
                    return;
                }
                applied.put(name, value);
            } catch (IllegalArgumentException e) {
                refused.put(name, e.getMessage());
            }
        });
        return new Result(applied, refused);
    }

    private static <T> T parse(ConfigKey<T> key, String value) {
        return key.parse(value == null ? "" : value);
    }
}
