package io.mtagent.agent.service;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** First SIGTERM starts the clean shutdown; a second one while it runs forces the exit (child JVM, real signals). */
class ShutdownSignalsTest {
    /** The child: a clean shutdown that never finishes, so only the second signal can end the process. */
    public static final class Probe {
        public static void main(String[] args) throws Exception {
            ShutdownSignals.install(() -> {
                System.out.println("clean shutdown started");
                System.out.flush();
                try {
                    Thread.sleep(Long.MAX_VALUE); // the child's clean shutdown that never ends (not a wait in a test)
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
            System.out.println("installed");
            System.out.flush();
            Thread.sleep(Long.MAX_VALUE); // the child idles until a signal ends it
        }
    }

    @Test
    void secondSignalForcesTheExit() throws Exception {
        assumeTrue(!System.getProperty("os.name").toLowerCase().contains("win"), "POSIX signals");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process p = new ProcessBuilder(java, "-Xmx64m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-cp",
                System.getProperty("java.class.path"), Probe.class.getName()).redirectErrorStream(true).start();
        try (BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            assertThat(out.readLine()).isEqualTo("installed");
            kill(p, "TERM");
            String line;
            do {
                line = out.readLine();
            } while (line != null && !line.equals("clean shutdown started"));
            assertThat(line).isEqualTo("clean shutdown started");
            assertThat(p.waitFor(500, TimeUnit.MILLISECONDS)).as("still shutting down cleanly").isFalse();
            kill(p, "TERM");
            assertThat(p.waitFor(20, TimeUnit.SECONDS)).isTrue();
            assertThat(p.exitValue()).isEqualTo(130);
        } finally {
            p.destroyForcibly();
        }
    }

    private static void kill(Process p, String signal) throws Exception {
        assertThat(new ProcessBuilder("kill", "-" + signal, Long.toString(p.pid())).start().waitFor()).isZero();
    }
}
