package io.mtagent.agent.service;

import io.mtagent.nativeio.systemd.SystemdNotifier;
import java.time.Duration;
import java.util.Optional;

/**
 * {@link ServiceLifecycle} for {@code Type=notify} units: {@code STATUS=}, {@code READY=1}, {@code WATCHDOG=1},
 * {@code STOPPING=1}. Every progress line during recovery also sends {@code EXTEND_TIMEOUT_USEC} so a long
 * journal recovery is not killed by {@code TimeoutStartSec=} while it is visibly making progress (systemd ≥ 236;
 * older versions ignore the line). A no-op when {@code NOTIFY_SOCKET} is unset.
 */
public final class SystemdLifecycle implements ServiceLifecycle {
    /** Each progress line buys this much more start time. */
    static final Duration EXTEND_PER_STEP = Duration.ofMinutes(5);

    private final SystemdNotifier notifier;

    public SystemdLifecycle(SystemdNotifier notifier) {
        this.notifier = notifier;
    }

    public boolean enabled() {
        return notifier.enabled();
    }

    @Override
    public void starting(String status) {
        notifier.notify("STATUS=" + oneLine(status) + "\nEXTEND_TIMEOUT_USEC=" + EXTEND_PER_STEP.toNanos() / 1000);
    }

    @Override
    public void ready(String status) {
        notifier.notify("READY=1\nSTATUS=" + oneLine(status) + "\nMAINPID=" + ProcessHandle.current().pid());
    }

    @Override
    public void watchdog() {
        notifier.notify("WATCHDOG=1");
    }

    @Override
    public void stopping(String status) {
        notifier.notify("STOPPING=1\nSTATUS=" + oneLine(status));
    }

    @Override
    public Optional<Duration> watchdogTimeout() {
        return notifier.watchdogTimeout();
    }

    private static String oneLine(String s) {
        return s.replace('\n', ' ');
    }
}
