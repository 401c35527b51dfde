package io.mtagent.agent.service;

import java.time.Duration;
import java.util.Objects;

/**
 * The Windows service status protocol without Windows: what the agent tells the service control manager and
 * when. {@code WindowsServiceHost} only forwards {@link Status} to {@code SetServiceStatus} and controls to
 * {@link #control}; everything that can be wrong lives here and is tested on Linux.
 *
 * <pre>
 *   START_PENDING (checkpoint 1, 2, … with a wait hint per recovery step; no controls accepted)
 *     → RUNNING (accepts STOP and SHUTDOWN)
 *     → STOP_PENDING (checkpoint 1, 2, … while draining; wait hint)
 *     → STOPPED (exit code: 0, or ERROR_SERVICE_SPECIFIC_ERROR with our code)
 *   START_PENDING → STOPPED when the start fails (or a stop came during recovery).
 * </pre>
 * The SCM kills a pending service whose checkpoint does not advance within the wait hint, so every progress
 * line of a long journal recovery advances the checkpoint. Implements {@link ServiceLifecycle} so the agent
 * drives it exactly like systemd. Thread-safe (the SCM control thread and the service thread both call it).
 */
public final class ServiceStateMachine implements ServiceLifecycle {
    public static final int SERVICE_STOPPED = 1;
    public static final int SERVICE_START_PENDING = 2;
    public static final int SERVICE_STOP_PENDING = 3;
    public static final int SERVICE_RUNNING = 4;
    public static final int SERVICE_ACCEPT_STOP = 1;
    public static final int SERVICE_ACCEPT_SHUTDOWN = 4;
    public static final int SERVICE_CONTROL_STOP = 1;
    public static final int SERVICE_CONTROL_INTERROGATE = 4;
    public static final int SERVICE_CONTROL_SHUTDOWN = 5;
    public static final int NO_ERROR = 0;
    public static final int ERROR_CALL_NOT_IMPLEMENTED = 120;
    public static final int ERROR_SERVICE_SPECIFIC_ERROR = 1066;

    /** Per recovery step: generous, a disk's journal recovery reads its whole unapplied backlog. */
    static final Duration START_WAIT_HINT = Duration.ofMinutes(2);
    /** Draining: the final group commit and closing the logs. */
    static final Duration STOP_WAIT_HINT = Duration.ofSeconds(60);

    /** One SERVICE_STATUS as reported. */
    public record Status(int state, int controlsAccepted, int win32ExitCode, int serviceExitCode, int checkPoint,
                         int waitHintMillis) {
    }

    /** Where statuses go: SetServiceStatus on Windows, a list in tests. */
    public interface Reporter {
        void report(Status status);
    }

    private final Reporter reporter;
    private final Runnable stopRequest;
    private Status current;
    private boolean stopRequested;

    /**
     * @param stopRequest run once, on the calling (SCM) thread, for the first STOP or SHUTDOWN: it must only
     *        start the shutdown (e.g. on a new thread) and return, the SCM control handler must not block
     */
    public ServiceStateMachine(Reporter reporter, Runnable stopRequest) {
        this.reporter = Objects.requireNonNull(reporter);
        this.stopRequest = Objects.requireNonNull(stopRequest);
    }

    /** The service main began: START_PENDING, checkpoint 1. */
    public synchronized void begin() {
        if (current != null) {
            throw new IllegalStateException("already begun: " + current);
        }
        set(new Status(SERVICE_START_PENDING, 0, NO_ERROR, 0, 1, (int) START_WAIT_HINT.toMillis()));
    }

    @Override
    public synchronized void starting(String status) {
        if (current == null) {
            begin();
            return;
        }
        if (current.state != SERVICE_START_PENDING) {
            return; // late progress line: nothing to report
        }
        set(new Status(SERVICE_START_PENDING, 0, NO_ERROR, 0, current.checkPoint + 1, (int) START_WAIT_HINT.toMillis()));
    }

    @Override
    public synchronized void ready(String status) {
        requireState(SERVICE_START_PENDING, "RUNNING");
        set(new Status(SERVICE_RUNNING, SERVICE_ACCEPT_STOP | SERVICE_ACCEPT_SHUTDOWN, NO_ERROR, 0, 0, 0));
    }

    /** The SCM has no watchdog (its recovery actions handle crashes): nothing to report. */
    @Override
    public void watchdog() {
    }

    @Override
    public synchronized void stopping(String status) {
        if (current == null || current.state == SERVICE_STOPPED) {
            throw new IllegalStateException("STOP_PENDING from " + current);
        }
        int cp = current.state == SERVICE_STOP_PENDING ? current.checkPoint + 1 : 1;
        set(new Status(SERVICE_STOP_PENDING, 0, NO_ERROR, 0, cp, (int) STOP_WAIT_HINT.toMillis()));
    }

    /** The end: exit code 0 is a clean stop; anything else makes the SCM run the recovery (restart) actions. */
    public synchronized void stopped(int exitCode) {
        if (current == null || current.state == SERVICE_STOPPED) {
            throw new IllegalStateException("STOPPED from " + current);
        }
        set(exitCode == 0 ? new Status(SERVICE_STOPPED, 0, NO_ERROR, 0, 0, 0)
                : new Status(SERVICE_STOPPED, 0, ERROR_SERVICE_SPECIFIC_ERROR, exitCode, 0, 0));
    }

    /**
     * A control code from the SCM (HandlerEx). STOP/SHUTDOWN start the stop once (later ones are acknowledged
     * and ignored); INTERROGATE re-reports the current status; anything else is not implemented.
     *
     * @return the HandlerEx result
     */
    public int control(int code) {
        boolean runStop = false;
        synchronized (this) {
            switch (code) {
                case SERVICE_CONTROL_STOP, SERVICE_CONTROL_SHUTDOWN -> {
                    if (!stopRequested && current != null && current.state != SERVICE_STOPPED) {
                        stopRequested = true;
                        runStop = true;
                    }
                }
                case SERVICE_CONTROL_INTERROGATE -> {
                    if (current != null) {
                        reporter.report(current);
                    }
                }
                default -> {
                    return ERROR_CALL_NOT_IMPLEMENTED;
                }
            }
        }
        if (runStop) {
            stopRequest.run();
        }
        return NO_ERROR;
    }

    public synchronized Status current() {
        return current;
    }

    private void requireState(int state, String to) {
        if (current == null || current.state != state) {
            throw new IllegalStateException(to + " from " + current);
        }
    }

    private void set(Status s) {
        current = s;
        reporter.report(s);
    }
}
