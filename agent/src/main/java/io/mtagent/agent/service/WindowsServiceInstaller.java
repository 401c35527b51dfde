package io.mtagent.agent.service;

import com.sun.jna.Structure;
import com.sun.jna.platform.win32.Advapi32;
import com.sun.jna.platform.win32.Kernel32;
import com.sun.jna.platform.win32.W32Service;
import com.sun.jna.platform.win32.W32ServiceManager;
import com.sun.jna.platform.win32.WinNT;
import com.sun.jna.platform.win32.Winsvc;
import java.io.PrintStream;
import java.util.List;

/**
 * {@code mtagent service install|uninstall|start|stop|status} on Windows through the SCM: an own-process
 * service, automatic (delayed) start, and recovery actions restart-after-10s ×3 (reset after a day), so a
 * crash or a non-zero exit brings it back. Thin; nothing here runs on Linux.
 */
public final class WindowsServiceInstaller {
    private static final int ONE_DAY_SECONDS = 86_400;

    /** SERVICE_DELAYED_AUTO_START_INFO (not in jna-platform 5.19.1). */
    @Structure.FieldOrder({"fDelayedAutostart"})
    public static class DelayedAutoStartInfo extends Winsvc.ChangeServiceConfig2Info {
        public int fDelayedAutostart;
    }

    private final String name;
    private final PrintStream out;

    public WindowsServiceInstaller(String name, PrintStream out) {
        this.name = name;
        this.out = out;
    }

    /** @param commandLine the full, quoted command the SCM runs, ending in {@code service run} */
    public void install(String commandLine) {
        try (W32ServiceManager scm = new W32ServiceManager(Winsvc.SC_MANAGER_ALL_ACCESS)) {
            scm.open(Winsvc.SC_MANAGER_ALL_ACCESS);
            Winsvc.SC_HANDLE h = Advapi32.INSTANCE.CreateService(scm.getHandle(), name, "mtagent master target",
                    Winsvc.SERVICE_ALL_ACCESS, WinNT.SERVICE_WIN32_OWN_PROCESS, WinNT.SERVICE_AUTO_START,
                    WinNT.SERVICE_ERROR_NORMAL, commandLine, null, null, null, null, null);
            if (h == null) {
                throw new IllegalStateException("CreateService failed (error " + Kernel32.INSTANCE.GetLastError()
                        + "): run from an elevated prompt; 'mtagent service uninstall' first if it exists");
            }
            try (W32Service svc = new W32Service(h)) {
                DelayedAutoStartInfo delayed = new DelayedAutoStartInfo();
                delayed.fDelayedAutostart = 1;
                Advapi32.INSTANCE.ChangeServiceConfig2(h, Winsvc.SERVICE_CONFIG_DELAYED_AUTO_START_INFO, delayed);
                Winsvc.SC_ACTION restart = new Winsvc.SC_ACTION();
                restart.type = Winsvc.SC_ACTION_RESTART;
                restart.delay = 10_000;
                svc.setFailureActions(List.of(restart, restart, restart), ONE_DAY_SECONDS, null, null);
                svc.setFailureActionsFlag(true); // also on a non-zero exit code, not only on a crash
            }
        }
        out.println("installed service " + name + " (automatic, delayed start; restarts on failure): " + commandLine);
    }

    public void uninstall() {
        withService(svc -> {
            svc.stopService(30_000);
            return null;
        }, true);
        try (W32ServiceManager scm = new W32ServiceManager(Winsvc.SC_MANAGER_ALL_ACCESS)) {
            scm.open(Winsvc.SC_MANAGER_ALL_ACCESS);
            Winsvc.SC_HANDLE h = Advapi32.INSTANCE.OpenService(scm.getHandle(), name, Winsvc.SERVICE_ALL_ACCESS);
            if (h == null || !Advapi32.INSTANCE.DeleteService(h)) {
                throw new IllegalStateException("DeleteService failed (error " + Kernel32.INSTANCE.GetLastError() + ")");
            }
            Advapi32.INSTANCE.CloseServiceHandle(h);
        }
        out.println("uninstalled service " + name + " (configuration and data are kept)");
    }

    public void start() {
        withService(svc -> {
            svc.startService();
            return null;
        }, false);
        out.println("started " + name);
    }

    public void stop() {
        withService(svc -> {
            svc.stopService(120_000);
            return null;
        }, false);
        out.println("stopped " + name);
    }

    public void status() {
        Winsvc.SERVICE_STATUS_PROCESS s = withService(W32Service::queryStatus, false);
        String state = switch (s.dwCurrentState) {
            case ServiceStateMachine.SERVICE_RUNNING -> "running";
            case ServiceStateMachine.SERVICE_START_PENDING -> "starting";
            case ServiceStateMachine.SERVICE_STOP_PENDING -> "stopping";
            case ServiceStateMachine.SERVICE_STOPPED -> "stopped";
            default -> "state " + s.dwCurrentState;
        };
        out.println(name + ": " + state + (s.dwProcessId != 0 ? ", pid " + s.dwProcessId : "")
                + (s.dwWin32ExitCode != 0 ? ", exit code " + s.dwWin32ExitCode + "/" + s.dwServiceSpecificExitCode : ""));
    }

    private interface ServiceAction<T> {
        T apply(W32Service svc);
    }

    private <T> T withService(ServiceAction<T> action, boolean ignoreErrors) {
        try (W32ServiceManager scm = new W32ServiceManager()) {
            scm.open(Winsvc.SC_MANAGER_ALL_ACCESS);
            try (W32Service svc = scm.openService(name, Winsvc.SERVICE_ALL_ACCESS)) {
                return action.apply(svc);
            }
        } catch (RuntimeException e) {
            if (ignoreErrors) {
                return null;
            }
            throw new IllegalStateException("service " + name + ": " + e.getMessage()
                    + " (is it installed? run from an elevated prompt)", e);
        }
    }
}
