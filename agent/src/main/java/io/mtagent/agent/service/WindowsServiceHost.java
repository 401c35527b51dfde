package io.mtagent.agent.service;

import com.sun.jna.platform.win32.Advapi32;
import com.sun.jna.platform.win32.WinNT;
import com.sun.jna.platform.win32.Winsvc;
import io.micrometer.core.instrument.MeterRegistry;
import io.mtagent.agent.config.AgentConfig;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * {@code mtagent service run} on Windows: the process the service control manager starts. Thin glue over
 * jna-platform's Advapi32 — StartServiceCtrlDispatcher (blocks the main thread), ServiceMain (runs the agent
 * through {@link AgentDaemon}), a HandlerEx for STOP/SHUTDOWN/INTERROGATE — with every decision in
 * {@link ServiceStateMachine}. Compiles everywhere; runs only on Windows.
 */
public final class WindowsServiceHost {
    private static final Logger LOG = Logger.getLogger(WindowsServiceHost.class.getName());
    /** Exit code reported to the SCM when the agent could not start (triggers the recovery actions). */
    static final int EXIT_START_FAILED = 2;

    private final String serviceName;
    private final AgentConfig config;
    private final MeterRegistry registry;
    private volatile int exitCode;
    // Kept reachable: JNA callbacks must not be collected while the SCM may call them.
    private Winsvc.SERVICE_MAIN_FUNCTION main;
    private Winsvc.HandlerEx handler;

    public WindowsServiceHost(String serviceName, AgentConfig config, MeterRegistry registry) {
        this.serviceName = serviceName;
        this.config = config;
        this.registry = registry;
    }

    /** Blocks until the service stopped; returns its exit code. */
    public int run() {
        main = (argc, argv) -> serviceMain();
        Winsvc.SERVICE_TABLE_ENTRY entry = new Winsvc.SERVICE_TABLE_ENTRY();
        entry.lpServiceName = serviceName;
        entry.lpServiceProc = main;
        Winsvc.SERVICE_TABLE_ENTRY[] table = (Winsvc.SERVICE_TABLE_ENTRY[]) entry.toArray(2); // null-terminated
        if (!Advapi32.INSTANCE.StartServiceCtrlDispatcher(table)) {
            throw new IllegalStateException("StartServiceCtrlDispatcher failed (error "
                    + com.sun.jna.platform.win32.Kernel32.INSTANCE.GetLastError() + "): 'mtagent service run' is "
                    + "started by the service control manager; run 'mtagent run' in a console instead");
        }
        return exitCode;
    }

    private void serviceMain() {
        AgentDaemon[] daemon = new AgentDaemon[1];
        ServiceStateMachine[] machine = new ServiceStateMachine[1];
        handler = (control, eventType, eventData, context) -> machine[0] == null
                ? ServiceStateMachine.NO_ERROR : machine[0].control(control);
        Winsvc.SERVICE_STATUS_HANDLE handle = Advapi32.INSTANCE.RegisterServiceCtrlHandlerEx(serviceName, handler, null);
        machine[0] = new ServiceStateMachine(status -> report(handle, status),
                () -> new Thread(() -> daemon[0].stop(), "service-stop").start());
        daemon[0] = new AgentDaemon(machine[0]);
        machine[0].begin();
        try {
            daemon[0].start(config, registry, line -> LOG.info(line));
            daemon[0].awaitStopped();
            exitCode = 0;
        } catch (Exception e) {
            LOG.log(Level.SEVERE, "mtagent service failed: " + e.getMessage(), e);
            exitCode = EXIT_START_FAILED;
        }
        machine[0].stopped(exitCode);
    }

    private static void report(Winsvc.SERVICE_STATUS_HANDLE handle, ServiceStateMachine.Status s) {
        Winsvc.SERVICE_STATUS st = new Winsvc.SERVICE_STATUS();
        st.dwServiceType = WinNT.SERVICE_WIN32_OWN_PROCESS;
        st.dwCurrentState = s.state();
        st.dwControlsAccepted = s.controlsAccepted();
        st.dwWin32ExitCode = s.win32ExitCode();
        st.dwServiceSpecificExitCode = s.serviceExitCode();
        st.dwCheckPoint = s.checkPoint();
        st.dwWaitHint = s.waitHintMillis();
        if (!Advapi32.INSTANCE.SetServiceStatus(handle, st)) {
            LOG.warning("SetServiceStatus(" + s + ") failed");
        }
    }

}
