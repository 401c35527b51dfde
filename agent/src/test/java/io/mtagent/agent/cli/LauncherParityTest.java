package io.mtagent.agent.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.mtagent.agent.bench.AgentSpawner;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * {@code mtagent bench --spawn} promises the figures of an installed agent: the child it starts must run with what
 * the launcher ({@code dist/src/bin/mtagent}, which the systemd unit runs) gives the daemon. A change to one that
 * forgets the other fails here.
 */
class LauncherParityTest {
    private static String launcher() throws Exception {
        Path script = Path.of("..", "dist", "src", "bin", "mtagent"); // tests run in the agent module's folder
        assertThat(script).as("the launcher script").exists();
        return Files.readString(script);
    }

    @Test
    void theSpawnedAgentGetsTheLaunchersJavaOptionsAndMallocArenaCap() throws Exception {
        String script = launcher();
        for (String opt : BenchCommand.LAUNCHER_JAVA_OPTS) {
            String asInScript = opt.replace("1g", "\"$heap\"");
            assertThat(script).as("launcher option %s", opt).contains(opt.startsWith("-Xm") ? asInScript : opt);
        }
        assertThat(script).contains("export " + AgentSpawner.LAUNCHER_MALLOC_ARENA_MAX_ENV + "=\"${"
                + AgentSpawner.LAUNCHER_MALLOC_ARENA_MAX_ENV + ":-" + AgentSpawner.LAUNCHER_MALLOC_ARENA_MAX + "}\"");
    }
}
