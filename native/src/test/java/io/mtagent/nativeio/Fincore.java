package io.mtagent.nativeio;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * Page-cache checks for tests (in the test-jar): how much of a file is resident, per util-linux's {@code fincore},
 * and whether {@link PageCache} can act here. Every skip is loud: on stderr and in the report.
 */
public final class Fincore {
    private Fincore() {
    }

    /** Skips the calling test when {@link PageCache} has no libc binding here (it would do nothing). */
    public static void requirePageCacheControl() {
        skipUnless(PageCache.supported(), "no native libc binding here, PageCache does nothing");
    }

    /** Resident bytes of {@code file}; skips the calling test when the tool is missing or fails. */
    public static long residentBytes(Path file) throws IOException, InterruptedException {
        Process p;
        try {
            p = new ProcessBuilder("fincore", "--bytes", "--noheadings", "--output", "RES", file.toString())
                    .redirectErrorStream(true).start();
        } catch (IOException e) {
            skipUnless(false, "fincore (util-linux) is not installed: " + e.getMessage());
            throw e;
        }
        String out = new String(p.getInputStream().readAllBytes()).trim();
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).as("fincore finished").isTrue();
        skipUnless(p.exitValue() == 0, "fincore failed: " + out);
        return Long.parseLong(out);
    }

    /** Skips the calling test with {@code why}, on stderr and in the report, unless {@code ok}. */
    public static void skipUnless(boolean ok, String why) {
        if (!ok) {
            System.err.println("SKIPPED: page-cache test: " + why);
            assumeTrue(false, "SKIPPED: " + why);
        }
    }
}
