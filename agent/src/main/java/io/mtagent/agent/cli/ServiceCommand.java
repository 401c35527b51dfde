package io.mtagent.agent.cli;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.mtagent.agent.config.AgentConfig;
import io.mtagent.agent.service.LinuxServiceInstaller;
import io.mtagent.agent.service.WindowsServiceHost;
import io.mtagent.agent.service.WindowsServiceInstaller;
import java.io.File;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code mtagent service ...}: install and control the agent as a systemd unit or a Windows service. */
@Command(name = "service", mixinStandardHelpOptions = true,
        description = {
            "Install and control mtagent as a service.",
            "",
            "Linux (systemd):  install    write the unit, sysusers.d and tmpfiles.d files and /etc/mtagent/mtagent.properties,",
            "                             create the user and directories, systemctl daemon-reload, enable; start",
            "                             only once a passphrase is set (else it prints the next steps)",
            "                  uninstall  systemctl disable --now, remove those files (configuration and data stay)",
            "                  status     systemctl status",
            "                  start|stop systemctl start|stop",
            "                  run        what the unit runs: same as 'mtagent run' (Type=notify)",
            "Windows (SCM):    install    an automatic (delayed start) service that restarts on failure; its log",
            "                             is <state.dir>\\logs\\mtagent.0.log (10 MiB, 5 files rotated)",
            "                  uninstall|start|stop|status",
            "                  run        the entry the service control manager starts",
            "",
            "Linux install/uninstall need root and systemd as the init system; --dry-run prints every step and",
            "changes nothing. Example:  sudo bin/mtagent service install"})
final class ServiceCommand implements Callable<Integer> {
    static final String SERVICE_NAME = "mtagent";
    private static final boolean WINDOWS = System.getProperty("os.name", "").toLowerCase().contains("win");

    @Parameters(index = "0", paramLabel = "ACTION", description = "install, uninstall, start, stop, status or run")
    String action;

    @Option(names = "--dry-run", description = "Print every step, change nothing (Linux).")
    boolean dryRun;

    @Option(names = "--root", paramLabel = "DIR", hidden = true,
            description = "Install the files into DIR instead of / and run no commands (packaging, tests).")
    Path root = Path.of("/");

    @Mixin
    ConfigOptions configOptions;

    @Override
    public Integer call() throws Exception {
        if ("run".equals(action)) {
            if (WINDOWS) {
                AgentConfig config = configOptions.load();
                // The service control manager gives the service no console: its log goes to a rotating file.
                LogSetup.setLevel(LogSetup.level(config.logLevel()));
                LogSetup.addRotatingFile(config.stateDir().resolve("logs"), LogSetup.ROTATING_FILE_BYTES,
                        LogSetup.ROTATING_FILES);
                return new WindowsServiceHost(SERVICE_NAME, config,
                        new PrometheusMeterRegistry(PrometheusConfig.DEFAULT)).run();
            }
            RunCommand run = new RunCommand();
            run.configOptions = configOptions;
            return run.call();
        }
        return WINDOWS ? windows() : linux();
    }

    private int windows() throws Exception {
        WindowsServiceInstaller w = new WindowsServiceInstaller(SERVICE_NAME, System.out);
        switch (action) {
            case "install" -> {
                if (configOptions.config == null) {
                    throw new IllegalStateException("on Windows, install needs --config FILE (e.g. a copy of "
                            + "conf\\mtagent.conf with state.dir, cache.dir and the disks set): a service starts in "
                            + "the system directory, where the embedded default makes no sense");
                }
                String java = Path.of(System.getProperty("java.home"), "bin", "java.exe").toString();
                w.install("\"" + java + "\" -Xmx1g -XX:MaxDirectMemorySize=512m -XX:+ExitOnOutOfMemoryError -jar \""
                        + jarPath() + "\" service run --config \"" + configOptions.config.toAbsolutePath() + "\"");
            }
            case "uninstall" -> w.uninstall();
            case "start" -> w.start();
            case "stop" -> w.stop();
            case "status" -> w.status();
            default -> throw new IllegalStateException(unknown());
        }
        return 0;
    }

    private int linux() throws Exception {
        LinuxServiceInstaller l = new LinuxServiceInstaller(home(), root, System.out);
        switch (action) {
            case "install" -> l.execute(l.installSteps(), dryRun, true);
            case "uninstall" -> l.execute(l.uninstallSteps(), dryRun, true);
            case "status" -> l.execute(l.statusSteps(), dryRun, false);
            case "start", "stop" -> l.execute(List.of(new LinuxServiceInstaller.Step(
                    "run: systemctl " + action + " mtagent.service", () -> {
                        int rc = new ProcessBuilder("systemctl", action, "mtagent.service").inheritIO().start().waitFor();
                        if (rc != 0) {
                            throw new IllegalStateException("systemctl " + action + " failed with exit code " + rc);
                        }
                    })), dryRun, true);
            default -> throw new IllegalStateException(unknown());
        }
        return 0;
    }

    private String unknown() {
        return "unknown action '" + action + "': use install, uninstall, start, stop, status or run";
    }

    /** The distribution directory: MTAGENT_HOME (set by bin/mtagent), else the jar's lib/.. . */
    static Path home() throws URISyntaxException {
        String env = System.getProperty("mtagent.home", System.getenv("MTAGENT_HOME"));
        if (env != null && !env.isEmpty()) {
            return Path.of(env);
        }
        Path jar = jarPath();
        Path parent = jar.getParent();
        return parent != null && parent.getParent() != null && Files.isDirectory(parent.getParent().resolve("systemd"))
                ? parent.getParent() : Path.of(".");
    }

    private static Path jarPath() throws URISyntaxException {
        return new File(ServiceCommand.class.getProtectionDomain().getCodeSource().getLocation().toURI()).toPath();
    }
}
