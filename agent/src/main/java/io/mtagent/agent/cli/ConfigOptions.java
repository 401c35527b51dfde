package io.mtagent.agent.cli;

import io.mtagent.agent.config.AgentConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import picocli.CommandLine.Option;

/**
 * Where the configuration comes from, shared by every command: {@code --config FILE}, else the file named by
 * {@code $MTAGENT_CONFIG}, else {@value #SYSTEM_CONFIG} when it exists, else the embedded default (file-backed
 * disks under {@code ./mtagent-data}, no root needed). {@code --set key=value} overrides any setting. So
 * {@code export MTAGENT_CONFIG=/srv/mt/agent.properties} once makes every later command (status, points, recover)
 * talk to that agent: its control address, token and certificate are in that file.
 */
final class ConfigOptions {
    static final String SYSTEM_CONFIG = "/etc/mtagent/mtagent.properties";
    static final String ENV = "MTAGENT_CONFIG";

    @Option(names = {"-c", "--config"}, paramLabel = "FILE",
            description = "Configuration file (java.properties). Default: $" + ENV + ", else " + SYSTEM_CONFIG
                    + " if present, else the embedded default in ./mtagent-data.")
    Path config;

    @Option(names = "--set", paramLabel = "KEY=VALUE",
            description = "Override one setting, e.g. --set data.listen=0.0.0.0:9443 (repeatable). "
                    + "'mtagent run --help-config' lists every setting.")
    Map<String, String> overrides = new LinkedHashMap<>();

    /** The file in use, or null for the embedded default. */
    Path file() {
        if (config != null) {
            return config;
        }
        String env = System.getenv(ENV);
        if (env != null && !env.isBlank()) {
            Path p = Path.of(env.trim());
            if (!Files.isRegularFile(p)) {
                throw new IllegalStateException(ENV + "=" + env + " names no file: correct or unset it, or give"
                        + " --config FILE");
            }
            return p;
        }
        return Files.exists(Path.of(SYSTEM_CONFIG)) ? Path.of(SYSTEM_CONFIG) : null;
    }

    /** True when no file is used. */
    boolean embedded() {
        return file() == null;
    }

    AgentConfig load() {
        Path file = file();
        return file != null ? AgentConfig.load(file, overrides) : AgentConfig.embeddedDefault(Path.of("."), overrides);
    }
}
