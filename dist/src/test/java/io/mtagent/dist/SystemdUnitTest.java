package io.mtagent.dist;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The shipped unit: systemd-analyze verify accepts it without a single warning, and it keeps its promises. */
class SystemdUnitTest {
    @TempDir
    Path dir;

    @Test
    void systemdAnalyzeVerifyIsClean() throws Exception {
        boolean present = false;
        for (String p : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
            present |= Files.isExecutable(Path.of(p, "systemd-analyze"));
        }
        if (!present) {
            System.err.println("SKIPPED SystemdUnitTest.systemdAnalyzeVerifyIsClean: systemd-analyze is missing;"
                    + " install it with 'apt-get install systemd' (.ci/run does)");
        }
        assumeTrue(present, "systemd-analyze is missing: apt-get install systemd");
        Path home = Dist.unpack(dir);
        // verify checks that ExecStart exists: point it at this unpacked launcher, as 'service install' does.
        String unit = Files.readString(home.resolve("systemd/mtagent.service"), StandardCharsets.UTF_8)
                .replace("/opt/mtagent", home.toString());
        Path copy = dir.resolve("mtagent.service");
        Files.writeString(copy, unit, StandardCharsets.UTF_8);
        Process p = new ProcessBuilder("systemd-analyze", "verify", "--man=no", copy.toString())
                .redirectErrorStream(true).start();
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        // verify exits 0 even for unknown keys and unparsable values: any line it prints is a finding.
        assertThat(out).as("systemd-analyze verify output").isEmpty();
        assertThat(p.exitValue()).isZero();
    }

    @Test
    void unitKeepsItsPromises() throws Exception {
        Path root = Path.of(System.getProperty("user.dir")).resolve("../systemd").normalize();
        String unit = Files.readString(root.resolve("mtagent.service"));
        assertThat(unit).contains("Type=notify", "NotifyAccess=main", "WatchdogSec=30s", "Restart=on-failure",
                "User=mtagent", "SupplementaryGroups=disk", "NoNewPrivileges=yes", "ProtectSystem=strict",
                "ProtectHome=yes", "PrivateTmp=yes", "CapabilityBoundingSet=\n", "AmbientCapabilities=\n",
                "LimitNOFILE=", "ExecStart=/opt/mtagent/bin/mtagent run --config /etc/mtagent/mtagent.properties",
                "ReadWritePaths=/var/lib/mtagent /var/cache/mtagent /var/log/mtagent");
        assertThat(unit).doesNotContain("PrivateDevices=yes", "MemoryDenyWriteExecute=yes");
        String tmpfiles = Files.readString(root.resolve("mtagent.tmpfiles"));
        for (String d : new String[] {"/var/lib/mtagent", "/var/cache/mtagent", "/var/log/mtagent"}) {
            assertThat(tmpfiles).containsPattern("(?m)^d\\s+" + d + "\\s+0750 mtagent mtagent");
        }
        assertThat(Files.readString(root.resolve("mtagent.sysusers"))).containsPattern("(?m)^u mtagent ");
        // The launcher must exec java, or NotifyAccess=main would reject the JVM's notifications.
        assertThat(Files.readString(root.resolve("../dist/src/bin/mtagent").normalize())).contains("exec \"$JAVA\"");
    }
}
