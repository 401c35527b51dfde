package io.mtagent.agent.service;

import io.mtagent.agent.config.AgentConfig;
import io.mtagent.agent.security.PassphraseStore;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * {@code mtagent service install|uninstall|status} on Linux: puts the distribution's systemd files in place
 * ({@code /etc/systemd/system/mtagent.service} with ExecStart pointing at this installation,
 * {@code /etc/sysusers.d/mtagent.conf}, {@code /etc/tmpfiles.d/mtagent.conf}, and {@code /etc/mtagent/mtagent.properties}
 * if there is none yet), creates the user and directories, and runs {@code systemctl daemon-reload} and
 * {@code enable}; it starts the service only once a passphrase is set, and otherwise prints the next steps. Every step is a {@link Step}: {@code --dry-run} prints them all and changes nothing.
 * Refuses, with the reason, when not root or when systemd is not the init system.
 */
public final class LinuxServiceInstaller {
    static final String UNIT = "mtagent.service";
    static final String CONFIG = "/etc/mtagent/mtagent.properties";
    /** Where the unit template points before the installer rewrites it. */
    static final String TEMPLATE_HOME = "/opt/mtagent";

    /** One action; {@code describe} is what --dry-run prints. */
    public record Step(String describe, Action action) {
    }

    /** The side effect of a step. */
    public interface Action {
        void run() throws IOException, InterruptedException;
    }

    private final Path home;
    private final Path root;
    private final PrintStream out;

    /**
     * @param home the unpacked distribution (holds {@code bin/}, {@code systemd/}, {@code conf/})
     * @param root "/" normally; another directory builds an image there (packaging) and runs no commands
     */
    public LinuxServiceInstaller(Path home, Path root, PrintStream out) {
        this.home = home.toAbsolutePath().normalize();
        this.root = root;
        this.out = out;
    }

    private boolean realRoot() {
        return root.toAbsolutePath().normalize().equals(Path.of("/"));
    }

    private Path etc(String path) {
        return root.resolve(path.substring(1));
    }

    public List<Step> installSteps() throws IOException {
        List<Step> steps = new ArrayList<>();
        Path unitSrc = home.resolve("systemd").resolve(UNIT);
        if (!Files.isRegularFile(unitSrc)) {
            throw new IllegalStateException(unitSrc + " is missing: run this from an unpacked mtagent distribution "
                    + "(bin/mtagent service install), or set MTAGENT_HOME");
        }
        String unit = Files.readString(unitSrc, StandardCharsets.UTF_8).replace(TEMPLATE_HOME, home.toString());
        steps.add(write(etc("/etc/systemd/system/" + UNIT), unit, "the unit (ExecStart=" + home + "/bin/mtagent)"));
        steps.add(copy(home.resolve("systemd/mtagent.sysusers"), etc("/etc/sysusers.d/mtagent.conf"), "the mtagent user"));
        steps.add(copy(home.resolve("systemd/mtagent.tmpfiles"), etc("/etc/tmpfiles.d/mtagent.conf"),
                "state, cache and log directories"));
        Path conf = etc(CONFIG);
        if (!Files.exists(conf)) {
            steps.add(copy(home.resolve("conf/mtagent.conf"), conf, "the configuration (every setting, commented)"));
        } else {
            steps.add(new Step("keep the existing " + conf, () -> { }));
        }
        if (realRoot()) {
            steps.add(command("systemd-sysusers", "/etc/sysusers.d/mtagent.conf"));
            steps.add(command("systemd-tmpfiles", "--create", "/etc/tmpfiles.d/mtagent.conf"));
            steps.add(command("systemctl", "daemon-reload"));
            steps.add(command("systemctl", "enable", UNIT));
        }
        steps.add(startWhenConfigured(conf));
        return steps;
    }

    /**
     * The last install step: start the service only when it can run, i.e. a passphrase is set (else systemd would
     * restart a refusing agent every 5 s until someone configures it); otherwise say what to do next.
     */
    private Step startWhenConfigured(Path conf) {
        return new Step("start " + UNIT + " if a process-server passphrase is set; otherwise print the next steps",
                () -> {
                    String missing = missingBeforeStart(conf);
                    if (missing == null && realRoot()) {
                        command("systemctl", "start", UNIT).action().run();
                        out.println("started; 'mtagent status' shows its health");
                        return;
                    }
                    out.println(missing == null ? "not started (not installed into /)" : "not started yet: " + missing);
                    out.println("Next steps:");
                    out.println("  1. declare the target disks, data.listen and the retention volume in " + conf
                            + " (retention.dir: mount a dedicated volume there; 'mtagent retention check PATH' tests it)");
                    out.println("  2. set the process servers' passphrase:  sudo -u mtagent " + home
                            + "/bin/mtagent passphrase set --config " + CONFIG);
                    out.println("  3. systemctl start " + UNIT + " && " + home + "/bin/mtagent status");
                });
    }

    /** What keeps the agent from starting (no passphrase yet), or null; reads the installed configuration. */
    private String missingBeforeStart(Path conf) {
        try {
            AgentConfig config = AgentConfig.load(conf, Map.of());
            Path state = config.stateDir().isAbsolute() ? etc(config.stateDir().toString()) : config.stateDir();
            if (PassphraseStore.load(state).isPresent() || config.authPassphraseFile().isPresent()) {
                return null;
            }
            return "no passphrase is set for process servers (the agent refuses to start without one)";
        } catch (RuntimeException e) {
            return CONFIG + " has a problem: " + e.getMessage();
        }
    }

    public List<Step> uninstallSteps() {
        List<Step> steps = new ArrayList<>();
        if (realRoot()) {
            steps.add(command("systemctl", "disable", "--now", UNIT));
        }
        for (String f : new String[] {"/etc/systemd/system/" + UNIT, "/etc/sysusers.d/mtagent.conf",
                "/etc/tmpfiles.d/mtagent.conf"}) {
            Path p = etc(f);
            steps.add(new Step("remove " + p, () -> Files.deleteIfExists(p)));
        }
        if (realRoot()) {
            steps.add(command("systemctl", "daemon-reload"));
        }
        steps.add(new Step("keep /etc/mtagent, /var/lib/mtagent and /var/cache/mtagent (configuration, identity, "
                + "journals: remove them by hand if you really mean it)", () -> { }));
        return steps;
    }

    public List<Step> statusSteps() {
        return List.of(command("systemctl", "status", "--no-pager", UNIT));
    }

    /** Runs (or with {@code dryRun} prints) the steps; refuses first if this host cannot take them. */
    public void execute(List<Step> steps, boolean dryRun, boolean needsRoot) throws IOException, InterruptedException {
        if (dryRun) {
            out.println("dry run: nothing is changed; these are the steps:");
            for (int i = 0; i < steps.size(); i++) {
                out.println("  " + (i + 1) + ". " + steps.get(i).describe());
            }
            String refusal = realRoot() ? refusal(needsRoot) : null;
            if (refusal != null) {
                out.println("note: run for real, this would be refused: " + refusal);
            }
            return;
        }
        String refusal = realRoot() ? refusal(needsRoot) : null;
        if (refusal != null) {
            throw new IllegalStateException(refusal);
        }
        for (Step s : steps) {
            out.println("- " + s.describe());
            s.action().run();
        }
    }

    /** Why this host cannot run the steps, or null. */
    static String refusal(boolean needsRoot) throws IOException {
        if (!Files.isDirectory(Path.of("/run/systemd/system"))) {
            return "systemd is not the init system here (/run/systemd/system is missing): install the files by "
                    + "hand from systemd/ or run 'mtagent run' under your init system";
        }
        if (needsRoot && currentUid() != 0) {
            return "installing a service needs root: run it with sudo (or use --dry-run to see the steps)";
        }
        return null;
    }

    /** The real uid from /proc (no native call needed). */
    static long currentUid() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("Uid:")) {
                return Long.parseLong(line.substring(4).trim().split("\\s+")[0]);
            }
        }
        return -1;
    }

    private Step write(Path target, String content, String what) {
        return new Step("write " + target + ": " + what, () -> {
            Files.createDirectories(target.getParent());
            Files.writeString(target, content, StandardCharsets.UTF_8);
        });
    }

    private Step copy(Path from, Path target, String what) {
        return new Step("write " + target + " from " + from + ": " + what, () -> {
            Files.createDirectories(target.getParent());
            Files.copy(from, target, StandardCopyOption.REPLACE_EXISTING);
        });
    }

    private Step command(String... cmd) {
        return new Step("run: " + String.join(" ", cmd), () -> {
            Process p = new ProcessBuilder(cmd).inheritIO().start();
            int rc = p.waitFor();
            if (rc != 0) {
                throw new IllegalStateException("'" + String.join(" ", cmd) + "' failed with exit code " + rc
                        + " (see its output above)");
            }
        });
    }
}
