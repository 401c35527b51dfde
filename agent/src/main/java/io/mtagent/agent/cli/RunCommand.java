package io.mtagent.agent.cli;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.mtagent.agent.Agent;
import io.mtagent.agent.config.AgentConfig;
import io.mtagent.agent.config.ConfigException;
import io.mtagent.agent.security.PassphraseStore;
import io.mtagent.agent.service.AgentDaemon;
import io.mtagent.agent.service.ConfigReload;
import io.mtagent.agent.service.ReloadSignal;
import io.mtagent.agent.service.ShutdownSignals;
import io.mtagent.agent.service.SystemdLifecycle;
import io.mtagent.nativeio.systemd.SystemdNotifier;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicReference;
import java.util.logging.Logger;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code mtagent run}: the daemon. Stops cleanly on SIGTERM/SIGINT. */
@Command(name = "run", mixinStandardHelpOptions = true,
        description = {
            "Run the agent in the foreground until SIGTERM or Ctrl-C.",
            "",
            "Without --config (or $MTAGENT_CONFIG, or " + ConfigOptions.SYSTEM_CONFIG + ") it runs on the embedded default:",
            "state, cache and two 64 MiB file-backed target disks under ./mtagent-data, data port 127.0.0.1:9443,",
            "and a generated passphrase in ./mtagent-data/state/passphrase.txt (mode 0600).",
            "",
            "On SIGTERM it stops accepting, makes every received write durable, acknowledges it, and closes;",
            "a second SIGTERM/Ctrl-C forces the exit. Under systemd (Type=notify) it reports STATUS= while",
            "recovering, READY=1 once it listens, WATCHDOG=1 while its appliers are alive, STOPPING=1.",
            "",
            "SIGHUP (systemctl reload mtagent) re-reads the configuration file and applies what can change while it",
            "runs: disks declared since the start, health.rpo.threshold, health.app.consistent.frequency,",
            "retention.window, retention.max.bytes and log.level. The log says what it applied, and which changed",
            "settings need a restart."})
final class RunCommand implements Callable<Integer> {
    @Mixin
    ConfigOptions configOptions;

    @Option(names = "--help-config", description = "List every setting with its default and meaning, then exit.")
    boolean helpConfig;

    @Option(names = "--log-format", paramLabel = "text|json", defaultValue = "text", description = "The log on"
            + " standard error: text (default; under systemd with journald priorities) or json (one object per"
            + " line). Its level is the log.level setting.")
    String logFormat = "text";

    private static final Logger LOG = Logger.getLogger(RunCommand.class.getName());
    private final AtomicReference<ConfigReload> reloader = new AtomicReference<>();

    @Override
    public Integer call() throws Exception {
        if (helpConfig) {
            System.out.println(AgentConfig.renderHelp());
            return 0;
        }
        AgentConfig config = configOptions.load();
        LogSetup.install(LogSetup.level(config.logLevel()), LogSetup.Format.parse(logFormat));
        if (configOptions.embedded()) {
            Path secret = EmbeddedDefaults.ensurePassphrase(config);
            System.err.println("mtagent: embedded default configuration (no --config); data in "
                    + config.stateDir().getParent().toAbsolutePath().normalize());
            System.err.println("mtagent: the process-server passphrase is in " + secret + " (mode 0600)");
        }
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        // systemd Type=notify when NOTIFY_SOCKET is set (the launcher execs java, so NotifyAccess=main holds);
        // otherwise every notification is a no-op.
        SystemdNotifier notifier = SystemdNotifier.fromEnvironment();
        AgentDaemon daemon = new AgentDaemon(new SystemdLifecycle(notifier));
        // Before the start, so SIGTERM during a long recovery stops cleanly right after it (twice: exit now).
        ShutdownSignals.install(daemon::stop);
        ReloadSignal.install(this::reload); // SIGHUP (systemctl reload): re-read the file, keep running
        Runtime.getRuntime().addShutdownHook(new Thread(daemon::stop, "shutdown")); // System.exit
        Agent agent = daemon.start(config, registry, line -> System.err.println("mtagent: " + line));
        if (agent == null) {
            return 0; // stopped during recovery
        }
        System.err.println("mtagent: ready; data server on " + agent.dataAddress() + ", certificate fingerprint "
                + agent.identity().fingerprintText());
        System.err.println("mtagent: disks: " + agent.disks().ids());
        reloader.set(new ConfigReload(agent, level -> LogSetup.setLevel(LogSetup.level(level))));
        daemon.awaitStopped();
        notifier.close();
        return 0;
    }

    /** SIGHUP: re-reads the configuration file (with the same --set overrides) and applies what can change. */
    private void reload() {
        ConfigReload r = reloader.get();
        if (r == null) {
            LOG.warning("SIGHUP during start-up: ignored (send it again once the agent is ready)");
            return;
        }
        if (configOptions.embedded()) {
            LOG.warning("SIGHUP: the agent runs on the embedded default; there is no configuration file to re-read");
            return;
        }
        AgentConfig fresh;
        try {
            fresh = configOptions.load();
        } catch (ConfigException e) {
            LOG.warning("SIGHUP: the configuration file has problems, nothing changed: " + e.getMessage());
            return;
        }
        LOG.info("SIGHUP: re-read " + fresh.sourceFile().map(Path::toString).orElse("the configuration") + ": "
                + r.apply(fresh).describe());
    }

    /** True if a passphrase verifier exists (for messages). */
    static boolean hasPassphrase(AgentConfig config) {
        return PassphraseStore.load(config.stateDir()).isPresent();
    }
}
