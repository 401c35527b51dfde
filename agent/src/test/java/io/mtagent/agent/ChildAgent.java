package io.mtagent.agent;

import static org.awaitility.Awaitility.await;

import org.awaitility.core.ConditionTimeoutException;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicReference;
import io.mtagent.protocol.client.ClientOptions;
import io.mtagent.protocol.client.ReplicationClient;
import io.mtagent.protocol.client.ReplicationException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The real agent in a child JVM ({@code mtagent run --config}) for the kill -9 tests: start, connect or reconnect a
 * client with retries while it starts, and on failure an assertion that carries the tail of the agent's log.
 * Each start appends to the same log file. Not thread-safe: one test thread.
 */
final class ChildAgent implements AutoCloseable {
    private static final long START_SECONDS = 60;

    private final Path config;
    private final Path log;
    private Process process;

    ChildAgent(Path config, Path log) {
        this.config = config;
        this.log = log;
    }

    /** Starts a new agent process (the previous one must be gone). */
    void start() throws IOException {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        process = new ProcessBuilder(java, "-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
                "-cp", System.getProperty("java.class.path"), "io.mtagent.agent.cli.MtAgentCli", "run", "--config",
                config.toString())
                .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
    }

    /** SIGKILL, and waits for the process to be gone; false when it did not go within the time. */
    boolean kill(long seconds) throws InterruptedException {
        process.destroyForcibly();
        return process.waitFor(seconds, TimeUnit.SECONDS);
    }

    /** Waits up to {@code seconds} for the agent to exit by itself; its exit code, or -1 when it still runs. */
    int waitForExit(long seconds) throws InterruptedException {
        return process.waitFor(seconds, TimeUnit.SECONDS) ? process.exitValue() : -1;
    }

    /** The agent process's id. */
    long pid() {
        return process.pid();
    }

    /** The whole log of every start so far. */
    String log() throws IOException {
        return Files.readString(log);
    }

    /** SIGTERM (a clean shutdown) and waits for it. */
    void stop(long seconds) throws InterruptedException {
        process.destroy();
        process.waitFor(seconds, TimeUnit.SECONDS);
    }

    /** Connects a client once the agent accepts connections (retrying while it starts). */
    ReplicationClient connect(ClientOptions options) throws Exception {
        return retryWhileStarting(() -> ReplicationClient.connect(options), "");
    }

    /**
     * Reconnects the client to the restarted agent; a refusal with an error code, or a report of acknowledged writes
     * lost, fails at once (that is the broken promise these tests look for), anything else is retried.
     */
    void reconnect(ReplicationClient client, String context) throws Exception {
        retryWhileStarting(() -> {
            client.reconnect();
            return client;
        }, context);
    }

    /** One connection attempt. */
    private interface Attempt<T> {
        T run() throws ReplicationException, InterruptedException;
    }

    /**
     * Retries {@code attempt} every 50 ms while the agent starts, up to {@value #START_SECONDS} s; fails at once
     * when the agent died, or when a refusal carries an error code or reports acknowledged writes lost (the broken
     * promise these tests look for).
     */
    private <T> T retryWhileStarting(Attempt<T> attempt, String context) throws Exception {
        AtomicReference<ReplicationException> last = new AtomicReference<>();
        try {
            return await().atMost(START_SECONDS, TimeUnit.SECONDS).pollInterval(Duration.ofMillis(50))
                    .pollInSameThread().until(() -> {
                        try {
                            return attempt.run();
                        } catch (ReplicationException e) {
                            last.set(e);
                            if (!context.isEmpty() && (e.code() != null
                                    || (e.getMessage() != null && e.getMessage().contains("lost")))) {
                                throw new AssertionError(context + ": " + e.getMessage() + "\n" + tail(), e);
                            }
                            if (!process.isAlive()) {
                                throw new AssertionError("the agent refused to start (exit " + process.exitValue()
                                        + "):\n" + tail(), e);
                            }
                            return null;
                        }
                    }, Objects::nonNull);
        } catch (ConditionTimeoutException late) {
            throw new AssertionError("the agent did not accept connections within " + START_SECONDS + " s:\n"
                    + tail(), last.get());
        }
    }

    /** The last 30 lines of the agent's log. */
    String tail() throws IOException {
        List<String> lines = Files.readAllLines(log);
        return String.join("\n", lines.subList(Math.max(0, lines.size() - 30), lines.size()));
    }

    @Override
    public void close() throws InterruptedException {
        if (process != null) {
            kill(10);
        }
    }
}
