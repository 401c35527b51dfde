package io.mtagent.dist;

import static org.assertj.core.api.Assertions.assertThat;

import io.mtagent.agent.config.AgentConfig;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The archive as an operator gets it: layout, launcher, --help, the demo, the shipped configuration. */
class DistributionTest {
    @TempDir
    Path dir;
    private Path home;

    @BeforeEach
    void unpack() throws Exception {
        home = Dist.unpack(dir);
    }

    @Test
    void layoutOfBothArchives() throws Exception {
        for (String f : new String[] {"bin/mtagent", "bin/mtagent.cmd", "lib/mtagent.jar", "conf/mtagent.conf",
                "systemd/mtagent.service", "systemd/mtagent.sysusers", "systemd/mtagent.tmpfiles", "README.md",
                "monitoring/mtagent-alerts.yml", "monitoring/mtagent-alerts.test.yml", "monitoring/mtagent-dashboard.json",
                "completion/mtagent", "man/man1/mtagent.1", "man/man1/mtagent-recover.1", "man/man1/mtagent-jobs.1"}) {
            assertThat(home.resolve(f)).as(f).isRegularFile();
        }
        // Generated from the CLI: the man pages are troff, the completion knows every command.
        assertThat(Files.readString(home.resolve("man/man1/mtagent-recover.1"))).contains(".TH \"MTAGENT\\-RECOVER\" \"1\"",
                "\\-\\-dry\\-run"); // troff escapes the dashes
        assertThat(Files.readString(home.resolve("completion/mtagent"))).contains("complete -F _complete_mtagent",
                "recover", "jobs", "--point");
        assertThat(Files.getPosixFilePermissions(home.resolve("bin/mtagent"))).contains(PosixFilePermission.OWNER_EXECUTE);
        assertThat(Files.readString(home.resolve("bin/mtagent"))).doesNotContain("\r").contains("exec \"$JAVA\"");
        assertThat(Files.readString(home.resolve("bin/mtagent.cmd"))).contains("\r\n");
        List<String> zipNames = new ArrayList<>();
        try (ZipFile zip = new ZipFile(System.getProperty("mtagent.dist.zip"))) {
            Collections.list(zip.entries()).stream().map(ZipEntry::getName).forEach(zipNames::add);
        }
        assertThat(zipNames).contains(home.getFileName() + "/bin/mtagent", home.getFileName() + "/lib/mtagent.jar",
                home.getFileName() + "/conf/mtagent.conf", home.getFileName() + "/systemd/mtagent.service",
                home.getFileName() + "/monitoring/mtagent-alerts.yml");
    }

    @Test
    void helpAndDemoRunThroughTheLauncher() throws Exception {
        Path log = dir.resolve("help.log");
        Process help = Dist.launcher(home, dir, log, Map.of(), List.of("--help")).start();
        assertThat(help.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(help.exitValue()).as(Dist.read(log)).isZero();
        assertThat(Dist.read(log)).contains("Usage: mtagent", "run", "demo", "service");

        // The build stamped its version and commit into the jar (a build without git says "unknown").
        Path versionLog = dir.resolve("version.log");
        Process version = Dist.launcher(home, dir, versionLog, Map.of(), List.of("--version")).start();
        assertThat(version.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(Dist.read(versionLog)).containsPattern("mtagent " + Pattern.quote(
                System.getProperty("mtagent.dist.version")) + " \\(commit ([0-9a-f]{40}|unknown), Java ");

        Path demoLog = dir.resolve("demo.log");
        Process demo = Dist.launcher(home, dir, demoLog, Map.of(), List.of("demo", "--seconds", "3")).start();
        assertThat(demo.waitFor(120, TimeUnit.SECONDS)).as("demo finished").isTrue();
        assertThat(demo.exitValue()).as(Dist.read(demoLog)).isZero();
    }

    @Test
    void commandsGetASmallHeapTheDaemonItsOwnAndTheConfigurationFromMtagentConfig() throws Exception {
        // -XshowSettings:vm prints the heap the launcher gave the JVM.
        Map<String, String> show = Map.of("MTAGENT_OPTS", "-XshowSettings:vm", "MTAGENT_HEAP", "300m");
        Path cli = dir.resolve("cli.log");
        assertThat(Dist.launcher(home, dir, cli, show, List.of("--version")).start().waitFor()).isZero();
        assertThat(Dist.read(cli)).contains("Max. Heap Size: 128.00M", "mtagent ");
        Path daemon = dir.resolve("daemon.log");
        assertThat(Dist.launcher(home, dir, daemon, show, List.of("run", "--help")).start().waitFor()).isZero();
        assertThat(Dist.read(daemon)).contains("Max. Heap Size: 300.00M", "Usage: mtagent run");

        // $MTAGENT_CONFIG names the file every command reads: here an agent that is not running (UNKNOWN, 3).
        Path conf = Files.writeString(dir.resolve("elsewhere.properties"), "state.dir=" + dir.resolve("s")
                + "\ncache.dir=" + dir.resolve("c") + "\ncontrol.listen=127.0.0.1:1\n");
        Files.createDirectories(dir.resolve("s"));
        Files.writeString(dir.resolve("s/control.token"), "t".repeat(43) + "\n");
        Path status = dir.resolve("status.log");
        Process st = Dist.launcher(home, dir, status, Map.of("MTAGENT_CONFIG", conf.toString()), List.of("status"))
                .start();
        assertThat(st.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(st.exitValue()).as(Dist.read(status)).isEqualTo(3);
        assertThat(Dist.read(status)).contains("UNKNOWN", dir.resolve("s").toString(), "not been started");
        Path missing = dir.resolve("missing.log");
        Process m = Dist.launcher(home, dir, missing, Map.of("MTAGENT_CONFIG", "/nonexistent.properties"),
                List.of("points", "--disk", "x")).start();
        assertThat(m.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(m.exitValue()).isEqualTo(2);
        assertThat(Dist.read(missing)).contains("MTAGENT_CONFIG=/nonexistent.properties names no file");
    }

    @Test
    void launcherRefusesAnOldJavaClearly() throws Exception {
        Path fakeJava = dir.resolve("jdk11");
        Files.createDirectories(fakeJava.resolve("bin"));
        Path java = fakeJava.resolve("bin/java");
        Files.writeString(java, "#!/bin/sh\necho 'openjdk version \"11.0.22\" 2024-01-16' >&2\n");
        java.toFile().setExecutable(true);
        Path log = dir.resolve("old.log");
        Process p = Dist.launcher(home, dir, log, Map.of("JAVA_HOME", fakeJava.toString()), List.of("--help")).start();
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).isEqualTo(1);
        assertThat(Dist.read(log)).contains("is Java 11.0.22", "needs Java 17 or newer", "JAVA_HOME");
    }

    /** Fails when a setting is added to the agent but missing from conf/mtagent.conf (it is generated; this guards the generation). */
    @Test
    void shippedConfigurationListsEverySettingAndLoads() throws Exception {
        String conf = Files.readString(home.resolve("conf/mtagent.conf"), StandardCharsets.UTF_8);
        Matcher m = Pattern.compile("(?m)^(\\S+) = ").matcher(AgentConfig.renderHelp());
        int keys = 0;
        while (m.find()) {
            keys++;
            assertThat(conf).as("conf/mtagent.conf lists " + m.group(1)).containsPattern("(?m)^#?" + Pattern.quote(m.group(1)) + "=");
        }
        assertThat(keys).isGreaterThan(10);
        // Every line is a comment or blank but the installed service's paths (InstalledConfigurationTest): the
        // shipped file means "the defaults, with a retention journal" and is accepted as it is.
        assertThat(conf.lines().filter(l -> !l.isBlank() && !l.startsWith("#")))
                .allMatch(l -> l.startsWith("retention.dir=") || l.startsWith("export.dirs="));
        Path file = dir.resolve("c.properties");
        Files.writeString(file, conf + "\nstate.dir=" + dir.resolve("s") + "\n");
        assertThat(AgentConfig.load(file, Map.of()).stateDir()).isEqualTo(dir.resolve("s"));
    }
}
