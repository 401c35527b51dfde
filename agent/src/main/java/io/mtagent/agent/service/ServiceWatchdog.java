package io.mtagent.agent.service;

import java.time.Duration;
import java.util.Optional;
import java.util.function.Supplier;
import java.util.logging.Logger;

/**
 * Pings the service manager's watchdog at half its timeout from its own daemon thread ("service-watchdog"),
 * but only while {@code healthCheck} says the agent is not hung. When it is hung, the pings stop and systemd
 * (WatchdogSec=) kills and restarts the service; the reason is logged once first.
 */
public final class ServiceWatchdog implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(ServiceWatchdog.class.getName());
    private final Thread thread;
    private volatile boolean stopped;

    private ServiceWatchdog(ServiceLifecycle lifecycle, Duration period, Supplier<Optional<String>> healthCheck) {
        this.thread = new Thread(() -> loop(lifecycle, period, healthCheck), "service-watchdog");
        this.thread.setDaemon(true);
    }

    /** Starts pinging if the manager asked for a watchdog; otherwise returns a watchdog that does nothing. */
    public static ServiceWatchdog start(ServiceLifecycle lifecycle, Supplier<Optional<String>> healthCheck) {
        Optional<Duration> timeout = lifecycle.watchdogTimeout();
        Duration period = timeout.map(t -> t.dividedBy(2)).orElse(null);
        ServiceWatchdog w = new ServiceWatchdog(lifecycle, period, healthCheck);
        if (period != null && !period.isZero()) {
            LOG.info("service watchdog: pinging every " + period.toMillis() + " ms while the appliers are alive");
            w.thread.start();
        }
        return w;
    }

    private void loop(ServiceLifecycle lifecycle, Duration period, Supplier<Optional<String>> healthCheck) {
        boolean reported = false;
        while (!stopped) {
            Optional<String> hang = healthCheck.get();
            if (hang.isEmpty()) {
                lifecycle.watchdog();
                reported = false;
            } else if (!reported) {
                reported = true;
                LOG.severe("agent looks hung: " + hang.get() + "; no more watchdog pings, the service manager will "
                        + "restart it (acknowledged writes are safe in the ingest log)");
            }
            try {
                Thread.sleep(Math.max(1, period.toMillis()));
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    @Override
    public void close() {
        stopped = true;
        thread.interrupt();
    }
}
