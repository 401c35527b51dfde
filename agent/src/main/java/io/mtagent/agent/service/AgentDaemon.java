package io.mtagent.agent.service;

import io.micrometer.core.instrument.MeterRegistry;
import io.mtagent.agent.Agent;
import io.mtagent.agent.config.AgentConfig;
import io.mtagent.agent.disk.ReplicatedDisk;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.function.Consumer;

/**
 * The agent as a service: start (recovery progress → {@link ServiceLifecycle#starting}), ready, watchdog, and
 * one idempotent clean {@link #stop} that any thread may call — a signal handler, the Windows control handler, a
 * shutdown hook — even while recovery is still running (the stop then happens as soon as the start finishes).
 *
 * <p>READY is sent when {@link Agent#start} returns, which is when the data server listens and every ingest log
 * is recovered. Hook for the control plane: its HTTPS server must start inside {@link Agent#start} (before it
 * returns), then READY covers it with no change here.
 */
public final class AgentDaemon {
    /** An applier with durable work and no progress for this long is hung (see {@link AgentHealth}). */
    static final Duration STALL_LIMIT = Duration.ofMinutes(5);

    private final ServiceLifecycle lifecycle;
    private final CountDownLatch stopped = new CountDownLatch(1);
    private Agent agent;             // guarded by this
    private boolean stopRequested;   // guarded by this
    private boolean stopping;        // guarded by this
    private ServiceWatchdog watchdog;

    public AgentDaemon(ServiceLifecycle lifecycle) {
        this.lifecycle = lifecycle;
    }

    /**
     * Starts the agent and reports READY; returns null if a stop was requested while it started (it is then
     * already stopped cleanly).
     */
    public Agent start(AgentConfig config, MeterRegistry registry, Consumer<String> console)
            throws IOException, InterruptedException {
        Agent a;
        try {
            a = Agent.start(config, registry, line -> {
                console.accept(line);
                lifecycle.starting(line);
            });
        } catch (IOException | InterruptedException | RuntimeException e) {
            stopped.countDown();
            throw e;
        }
        synchronized (this) {
            agent = a;
            if (stopRequested) {
                stopNow();
                return null;
            }
        }
        List<AgentHealth.DiskView> views = a.disks().all().stream().map(AgentHealth::view).toList();
        AgentHealth health = new AgentHealth(STALL_LIMIT, System::nanoTime);
        // READY first: the watchdog pings at once, and WATCHDOG=1 before READY=1 tells systemd nothing useful.
        lifecycle.ready("ready; data server on " + a.dataAddress() + ", " + a.disks().all().size() + " disk(s)");
        watchdog = ServiceWatchdog.start(lifecycle, () -> health.hangReason(views));
        return a;
    }

    /** Clean shutdown (idempotent, any thread); returns when the agent is closed or was never started. */
    public void stop() {
        synchronized (this) {
            stopRequested = true;
            if (agent == null || stopping) {
                return;
            }
            stopping = true;
        }
        stopNow();
    }

    private void stopNow() {
        lifecycle.stopping("stopping: no new connections, flushing ingest logs");
        try {
            agent.close();
        } finally {
            if (watchdog != null) {
                watchdog.close();
            }
            stopped.countDown();
        }
    }

    /** Blocks until {@link #stop} finished (or the start failed). */
    public void awaitStopped() throws InterruptedException {
        stopped.await();
    }

    /** The disks, for status (null before start). */
    public synchronized List<ReplicatedDisk> disks() {
        return agent == null ? List.of() : List.copyOf(agent.disks().all());
    }
}
