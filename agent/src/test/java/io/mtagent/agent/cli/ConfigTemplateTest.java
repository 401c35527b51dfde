package io.mtagent.agent.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Properties;
import org.junit.jupiter.api.Test;

/**
 * The commented example shipped as {@code systemd/mtagent.properties} says what the installed configuration
 * ({@code service install} writes {@link ConfigTemplate#render()}) does: every value it sets is either set the same
 * in the installed file or is the default that file lists. An example that drifts would teach operators settings
 * the installed agent does not have.
 */
class ConfigTemplateTest {
    private static final Path EXAMPLE = Path.of("..", "systemd", "mtagent.properties");

    @Test
    void theShippedExampleAgreesWithTheInstalledConfiguration() throws IOException {
        Properties example = new Properties();
        try (Reader in = Files.newBufferedReader(EXAMPLE)) {
            example.load(in);
        }
        assertThat(example).as("settings in %s", EXAMPLE).isNotEmpty();
        List<String> installed = ConfigTemplate.render().lines().toList();
        for (String key : example.stringPropertyNames()) {
            String line = key + "=" + example.getProperty(key);
            assertThat(installed).as("%s in the example: set so, or listed as the default, in the installed file", line)
                    .containsAnyOf(line, "#" + line);
        }
        for (var e : ConfigTemplate.INSTALLED.entrySet()) {
            assertThat(example.getProperty(e.getKey())).as("the example shows the installed service's %s", e.getKey())
                    .isEqualTo(e.getValue());
        }
    }
}
