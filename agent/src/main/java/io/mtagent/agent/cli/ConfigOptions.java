package io.mtagent.agent.cli;

import io.mtagent.agent.config.AgentConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import picocli.CommandLine.Option;

/**
 * Where the configuration comes from, shared by every command: {@code --config FILE}, else
 * {@value #SYSTEM_CONFIG} when it exists, else the embedded default (file-backed disks under
 * {@code ./mtagent-data}, no root needed). {@code --set key=value} overrides any setting.
 */
final class ConfigOptions {
    static final String SYSTEM_CONFIG = "/etc/mtagent/mtagent.properties";

    @Option(names = {"-c", "--config"}, paramLabel = "FILE",
            description = "Configuration file (java.properties). Default: " + SYSTEM_CONFIG
                    + " if present, else the embedded default in ./mtagent-data.")
    Path config;

    @Option(names = "--set", paramLabel = "KEY=VALUE",
            description = "Override one setting, e.g. --set data.listen=0.0.0.0:9443 (repeatable). "
                    + "'mtagent run --help-config' lists every setting.")
    Map<String, String> overrides = new LinkedHashMap<>();

    /** True when neither a file nor the system file is used. */
    boolean embedded() {
        return config == null && !Files.exists(Path.of(SYSTEM_CONFIG));
    }

    AgentConfig load() {
        if (config != null) {
            return AgentConfig.load(config, overrides);
        }
        if (Files.exists(Path.of(SYSTEM_CONFIG))) {
            return AgentConfig.load(Path.of(SYSTEM_CONFIG), overrides);
        }
        return AgentConfig.embeddedDefault(Path.of("."), overrides);
    }
}
