package io.mtagent.agent.service;

import java.time.Duration;
import java.util.Optional;

/**
 * What the service manager hears about the agent's life: systemd ({@link SystemdLifecycle}), the Windows SCM
 * ({@code WindowsServiceHost}) or nobody ({@link #NONE}, a foreground run). Calls never throw and never block
 * for long; they may come from any thread.
 */
public interface ServiceLifecycle {
    /** Still starting (journal recovery): a progress line; also extends the manager's start timeout. */
    void starting(String status);

    /** Every server listens and recovery is finished: the service is up. */
    void ready(String status);

    /** The agent's own threads are alive (called by {@link ServiceWatchdog} only when the health check passes). */
    void watchdog();

    /** Clean shutdown has begun. */
    void stopping(String status);

    /** How long the manager waits for a {@link #watchdog} before it kills the service; empty: no watchdog. */
    default Optional<Duration> watchdogTimeout() {
        return Optional.empty();
    }

    ServiceLifecycle NONE = new ServiceLifecycle() {
        @Override public void starting(String status) { }
        @Override public void ready(String status) { }
        @Override public void watchdog() { }
        @Override public void stopping(String status) { }
    };
}
