package io.mtagent.agent.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.Logger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The Windows service's rotating log file (the service has no console), exercised on this platform. */
class LogSetupTest {
    @TempDir
    Path dir;

    @AfterEach
    void restore() {
        LogSetup.install(Level.INFO); // drops the file handler
    }

    @Test
    void theRotatingFileKeepsTheNewestLinesInAFixedNumberOfFiles() throws Exception {
        LogSetup.install(Level.INFO);
        Path newest = LogSetup.addRotatingFile(dir.resolve("logs"), 4096, 3);
        Logger log = Logger.getLogger("io.mtagent.agent.test.Rotation");
        for (int i = 0; i < 200; i++) {
            log.info("line " + i + " " + "x".repeat(80));
        }
        log.fine("a debug line, below the level");
        for (Handler h : Logger.getLogger("").getHandlers()) {
            h.flush();
        }
        assertThat(newest).exists();
        assertThat(Files.readString(newest)).contains("INFO Rotation: line 199").doesNotContain("debug line");
        try (var files = Files.list(dir.resolve("logs"))) {
            assertThat(files.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".log")))
                    .containsExactlyInAnyOrder("mtagent.0.log", "mtagent.1.log", "mtagent.2.log");
        }
        assertThat(Files.size(dir.resolve("logs/mtagent.1.log"))).isLessThanOrEqualTo(4096 + 200);
    }
}
