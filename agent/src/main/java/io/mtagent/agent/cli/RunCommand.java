package io.mtagent.agent.cli;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.mtagent.agent.Agent;
import io.mtagent.agent.config.AgentConfig;
import io.mtagent.agent.security.PassphraseStore;
import io.mtagent.agent.service.AgentDaemon;
import io.mtagent.agent.service.ShutdownSignals;
import io.mtagent.agent.service.SystemdLifecycle;
import io.mtagent.nativeio.systemd.SystemdNotifier;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code mtagent run}: the daemon. Stops cleanly on SIGTERM/SIGINT. */
@Command(name = "run", mixinStandardHelpOptions = true,
        description = {
            "Run the agent in the foreground until SIGTERM or Ctrl-C.",
            "",
            "Without --config (and without " + ConfigOptions.SYSTEM_CONFIG + ") it runs on the embedded default:",
            "state, cache and two 64 MiB file-backed target disks under ./mtagent-data, data port 127.0.0.1:9443,",
            "and a generated passphrase in ./mtagent-data/state/passphrase.txt (mode 0600).",
            "",
            "On SIGTERM it stops accepting, makes every received write durable, acknowledges it, and closes;",
            "a second SIGTERM/Ctrl-C forces the exit. Under systemd (Type=notify) it reports STATUS= while",
            "recovering, READY=1 once it listens, WATCHDOG=1 while its appliers are alive, STOPPING=1."})
final class RunCommand implements Callable<Integer> {
    @Mixin
    ConfigOptions configOptions;

    @Option(names = "--help-config", description = "List every setting with its default and meaning, then exit.")
    boolean helpConfig;

    @Override
    public Integer call() throws Exception {
        if (helpConfig) {
            System.out.println(AgentConfig.renderHelp());
            return 0;
        }
        AgentConfig config = configOptions.load();
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
        Runtime.getRuntime().addShutdownHook(new Thread(daemon::stop, "shutdown")); // System.exit, SIGHUP
        Agent agent = daemon.start(config, registry, line -> System.err.println("mtagent: " + line));
        if (agent == null) {
            return 0; // stopped during recovery
        }
        System.err.println("mtagent: ready; data server on " + agent.dataAddress() + ", certificate fingerprint "
                + agent.identity().fingerprintText());
        System.err.println("mtagent: disks: " + agent.disks().ids());
        daemon.awaitStopped();
        notifier.close();
        return 0;
    }

    /** True if a passphrase verifier exists (for messages). */
    static boolean hasPassphrase(AgentConfig config) {
        return PassphraseStore.load(config.stateDir()).isPresent();
    }
}
