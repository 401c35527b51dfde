package io.mtagent.nativeio;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/** How much of a file is in the page cache, per util-linux's {@code fincore} (tests; in the test-jar). */
public final class Fincore {
    private Fincore() {
    }

    /** Resident bytes of {@code file}; skips the calling test loudly when the tool is missing or fails. */
    public static long residentBytes(Path file) throws IOException, InterruptedException {
        Process p;
        try {
            p = new ProcessBuilder("fincore", "--bytes", "--noheadings", "--output", "RES", file.toString())
                    .redirectErrorStream(true).start();
        } catch (IOException e) {
            assumeTrue(false, "SKIPPED LOUDLY: fincore (util-linux) is not installed: " + e.getMessage());
            throw e;
        }
        String out = new String(p.getInputStream().readAllBytes()).trim();
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).as("fincore finished").isTrue();
        assumeTrue(p.exitValue() == 0, "SKIPPED LOUDLY: fincore failed: " + out);
        return Long.parseLong(out);
    }
}
