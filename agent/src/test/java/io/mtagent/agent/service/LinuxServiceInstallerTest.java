package io.mtagent.agent.service;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mtagent.agent.security.PassphraseStore;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LinuxServiceInstallerTest {
    @TempDir
    Path dir;

    private Path home() throws Exception {
        Path home = dir.resolve("mtagent-1.0");
        Files.createDirectories(home.resolve("systemd"));
        Files.createDirectories(home.resolve("conf"));
        Files.writeString(home.resolve("systemd/mtagent.service"),
                "[Service]\nExecStart=/opt/mtagent/bin/mtagent run --config /etc/mtagent/mtagent.properties\n");
        Files.writeString(home.resolve("systemd/mtagent.sysusers"), "u mtagent - \"mtagent\" /var/lib/mtagent\n");
        Files.writeString(home.resolve("systemd/mtagent.tmpfiles"), "d /var/lib/mtagent 0750 mtagent mtagent -\n");
        Files.writeString(home.resolve("conf/mtagent.conf"), "#data.listen=0.0.0.0:9443\n");
        return home;
    }

    @Test
    void dryRunPrintsEveryStepAndChangesNothing() throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        LinuxServiceInstaller l = new LinuxServiceInstaller(home(), Path.of("/"), new PrintStream(out, true, StandardCharsets.UTF_8));
        l.execute(l.installSteps(), true, true);
        String text = out.toString(StandardCharsets.UTF_8);
        assertThat(text).contains("dry run", "/etc/systemd/system/mtagent.service", "/etc/sysusers.d/mtagent.conf",
                "/etc/tmpfiles.d/mtagent.conf", "run: systemd-sysusers", "run: systemd-tmpfiles --create",
                "run: systemctl daemon-reload", "run: systemctl enable mtagent.service",
                "start mtagent.service if a process-server passphrase is set; otherwise print the next steps")
                .doesNotContain("enable --now");
        if (!Files.isDirectory(Path.of("/run/systemd/system"))) {
            assertThat(text).contains("would be refused: systemd is not the init system");
        }
        out.reset();
        l.execute(l.uninstallSteps(), true, true);
        assertThat(out.toString(StandardCharsets.UTF_8)).contains("systemctl disable --now mtagent.service",
                "remove /etc/systemd/system/mtagent.service", "keep /etc/mtagent");
    }

    @Test
    void refusesWithoutSystemdOrRoot() throws Exception {
        String why = LinuxServiceInstaller.refusal(true);
        boolean systemd = Files.isDirectory(Path.of("/run/systemd/system"));
        boolean root = LinuxServiceInstaller.currentUid() == 0;
        if (!systemd || !root) {
            assertThat(why).isNotNull();
            LinuxServiceInstaller l = new LinuxServiceInstaller(home(), Path.of("/"), new PrintStream(new ByteArrayOutputStream()));
            assertThatThrownBy(() -> l.execute(l.installSteps(), false, true)).hasMessage(why);
            assertThat(Path.of("/etc/systemd/system/mtagent.service.never")).doesNotExist();
        } else {
            assertThat(why).isNull();
        }
    }

    /** Without a passphrase the agent would refuse to start (and systemd restart it every 5 s): not started. */
    @Test
    void theServiceIsStartedOnlyOnceAPassphraseIsSet() throws Exception {
        Path image = dir.resolve("image");
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        LinuxServiceInstaller l = new LinuxServiceInstaller(home(), image, new PrintStream(out, true,
                StandardCharsets.UTF_8));
        Files.createDirectories(image.resolve("etc/mtagent"));
        Files.writeString(image.resolve("etc/mtagent/mtagent.properties"), "state.dir=/var/lib/mtagent\n");
        l.execute(l.installSteps(), false, true);
        assertThat(out.toString(StandardCharsets.UTF_8)).contains("not started yet: no passphrase is set",
                "Next steps:", "passphrase set --config /etc/mtagent/mtagent.properties", "systemctl start mtagent.service");
        out.reset();
        Files.createDirectories(image.resolve("var/lib/mtagent"));
        PassphraseStore.set(image.resolve("var/lib/mtagent"), "correct horse battery staple".toCharArray(), 10_000);
        l.execute(l.installSteps(), false, true);
        assertThat(out.toString(StandardCharsets.UTF_8)).doesNotContain("no passphrase")
                .contains("not started (not installed into /)");
    }

    @Test
    void intoAnImageRootWritesTheFilesWithThisInstallationsPath() throws Exception {
        Path home = home();
        Path image = dir.resolve("image");
        LinuxServiceInstaller l = new LinuxServiceInstaller(home, image, new PrintStream(new ByteArrayOutputStream()));
        l.execute(l.installSteps(), false, true);
        assertThat(Files.readString(image.resolve("etc/systemd/system/mtagent.service")))
                .contains("ExecStart=" + home + "/bin/mtagent run").doesNotContain("/opt/mtagent");
        assertThat(image.resolve("etc/sysusers.d/mtagent.conf")).exists();
        assertThat(image.resolve("etc/tmpfiles.d/mtagent.conf")).exists();
        assertThat(image.resolve("etc/mtagent/mtagent.properties")).exists();
        Files.writeString(image.resolve("etc/mtagent/mtagent.properties"), "data.listen=1.2.3.4:9443\n");
        l.execute(l.installSteps(), false, true); // a re-install keeps the operator's configuration
        assertThat(Files.readString(image.resolve("etc/mtagent/mtagent.properties"))).contains("1.2.3.4");
        l.execute(l.uninstallSteps(), false, true);
        assertThat(image.resolve("etc/systemd/system/mtagent.service")).doesNotExist();
        assertThat(image.resolve("etc/mtagent/mtagent.properties")).exists();
    }
}
