package io.mtagent.dist;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The configuration a standard install puts in place ({@code service install} copies {@code conf/mtagent.conf}):
 * it keeps a retention journal and writes exports where the unit may write, and an agent started from it has
 * point-in-time recovery on. The file system root is relocated into a temporary directory (the installer's
 * {@code --root}, and every {@code /var/...} path of the file prefixed with it), nothing else is changed but the
 * ports, the passphrase file and one test disk.
 */
class InstalledConfigurationTest {
    @TempDir
    Path dir;
    private Path home;

    @BeforeEach
    void unpack() throws Exception {
        Files.createDirectories(dir.resolve("dist"));
        home = Dist.unpack(dir.resolve("dist"));
    }

    @Test
    void theInstalledFileSetsOnlyPathsTheUnitCanWrite() throws Exception {
        String conf = Files.readString(home.resolve("conf/mtagent.conf"), StandardCharsets.UTF_8);
        List<String> set = conf.lines().filter(l -> !l.isBlank() && !l.startsWith("#")).toList();
        assertThat(set).containsExactlyInAnyOrder("retention.dir=/var/lib/mtagent-retention",
                "export.dirs=/var/lib/mtagent-exports");
        String unit = Files.readString(home.resolve("systemd/mtagent.service"), StandardCharsets.UTF_8);
        Matcher rw = Pattern.compile("(?m)^ReadWritePaths=(.*)$").matcher(unit);
        assertThat(rw.find()).isTrue();
        List<String> writable = List.of(rw.group(1).replace("-/", "/").split(" "));
        assertThat(writable).contains("/var/lib/mtagent", "/var/cache/mtagent", "/var/lib/mtagent-retention",
                "/var/lib/mtagent-exports");
        assertThat(Files.readString(home.resolve("systemd/mtagent.tmpfiles")))
                .containsPattern("(?m)^d\\s+/var/lib/mtagent-exports\\s+0750 mtagent mtagent");
        assertThat(unit).contains("ExecReload=/bin/kill -HUP $MAINPID");
    }

    @Test
    void anAgentStartedFromTheInstalledConfigurationHasPointInTimeRecoveryOn() throws Exception {
        Path root = Files.createDirectories(dir.resolve("root"));
        Path installLog = dir.resolve("install.log");
        Process install = Dist.launcher(home, dir, installLog, Map.of(),
                List.of("service", "install", "--root", root.toString())).start();
        assertThat(install.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(install.exitValue()).as(Dist.read(installLog)).isZero();
        assertThat(Dist.read(installLog)).contains("Next steps", "passphrase set");

        Path installed = root.resolve("etc/mtagent/mtagent.properties");
        String text = Files.readString(installed, StandardCharsets.UTF_8);
        Files.writeString(installed, text.replace("=/var/", "=" + root + "/var/"), StandardCharsets.UTF_8);
        Path mountPoint = Files.createDirectories(root.resolve("var/lib/mtagent-retention")); // the "volume"
        int control;
        try (ServerSocket s = new ServerSocket(0)) {
            control = s.getLocalPort();
        }
        Path pass = Files.writeString(dir.resolve("passphrase"), "correct horse battery staple\n");
        List<String> relocated = List.of("--config", installed.toString(),
                "--set", "state.dir=" + root.resolve("var/lib/mtagent"),
                "--set", "cache.dir=" + root.resolve("var/cache/mtagent"),
                "--set", "control.listen=127.0.0.1:" + control);
        List<String> run = new ArrayList<>(List.of("run"));
        run.addAll(relocated);
        run.addAll(List.of("--set", "data.listen=127.0.0.1:0", "--set", "nbd.listen=127.0.0.1:0",
                "--set", "auth.passphrase.file=" + pass, "--set", "auth.iterations=10000",
                "--set", "disk.d0.id=disk-0", "--set", "disk.d0.path=" + dir.resolve("disk-0.img"),
                "--set", "disk.d0.size=4MiB"));

        // This machine has one volume: the installed file's retention volume shares it with the cache, and the
        // agent refuses to start, naming the setting and the rule.
        Path refusedLog = dir.resolve("refused.log");
        Process refused = Dist.launcher(home, dir, refusedLog, Map.of(), run).start();
        assertThat(refused.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(refused.exitValue()).as(Dist.read(refusedLog)).isEqualTo(2);
        assertThat(Dist.read(refusedLog)).contains("retention.dir=" + mountPoint + " is refused", "[cache-volume]",
                "retention.allow.shared.volume");

        // Told that sharing is intended (a one-volume test machine), it runs with the journal on.
        run.addAll(List.of("--set", "retention.allow.shared.volume=true"));
        Path log = dir.resolve("agent.log");
        Process agent = Dist.launcher(home, dir, log, Map.of(), run).start();
        try {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (!Dist.read(log).contains("mtagent: ready;")) {
                assertThat(agent.isAlive()).as(Dist.read(log)).isTrue();
                assertThat(System.nanoTime()).as("ready within 60 s: " + Dist.read(log)).isLessThan(deadline);
                Thread.sleep(50);
            }
            List<String> status = new ArrayList<>(List.of("status", "--json"));
            status.addAll(relocated);
            Path statusLog = dir.resolve("status.log");
            Process st = Dist.launcher(home, dir, statusLog, Map.of(), status)
                    .redirectErrorStream(false).redirectError(dir.resolve("status.err").toFile()).start();
            assertThat(st.waitFor(60, TimeUnit.SECONDS)).isTrue();
            JsonNode s = new ObjectMapper().readTree(Dist.read(statusLog));
            assertThat(s.path("pointInTimeRecovery").path("on").asBoolean()).as(s.toString()).isTrue();
            assertThat(s.path("retentionVolume").path("path").asText()).isEqualTo(mountPoint.toString());
            assertThat(s.path("health").path("rules").findValuesAsText("code")).doesNotContain("MT-1005");
            assertThat(mountPoint.resolve("d0")).isDirectory(); // the disk's journal
        } finally {
            agent.destroy();
            agent.waitFor(60, TimeUnit.SECONDS);
        }
    }
}
