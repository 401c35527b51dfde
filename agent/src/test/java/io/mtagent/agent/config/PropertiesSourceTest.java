package io.mtagent.agent.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PropertiesSourceTest {
    @TempDir
    Path dir;

    @Test
    void valuesAreTrimmedAndCarryTheirLineThroughContinuationsAndComments() throws Exception {
        Path file = dir.resolve("a.properties");
        Files.writeString(file, """
                # comment ending in a backslash does not continue \\
                state.dir = /srv/\\
                    mtagent/state  \s
                ! another comment
                cache.dir:/srv/cache
                agent.name=ünïcode-is-utf8
                """);

        List<Setting> settings = PropertiesSource.read(file);

        assertThat(settings).containsExactly(
                new Setting("state.dir", "/srv/mtagent/state", file + " line 2"),
                new Setting("cache.dir", "/srv/cache", file + " line 5"),
                new Setting("agent.name", "ünïcode-is-utf8", file + " line 6"));
    }

    @Test
    void missingAndNonUtf8FilesFailWithTheFileName() throws Exception {
        Path missing = dir.resolve("missing.properties");
        assertThatThrownBy(() -> PropertiesSource.read(missing))
                .isInstanceOf(ConfigException.class).hasMessageContaining(missing.toString());

        Path latin1 = dir.resolve("latin1.properties");
        Files.write(latin1, new byte[] {'a', '=', (byte) 0xE9, '\n'});
        assertThatThrownBy(() -> PropertiesSource.read(latin1)).hasMessageContaining("not UTF-8");
    }
}
