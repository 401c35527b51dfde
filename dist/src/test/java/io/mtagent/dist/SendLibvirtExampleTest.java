package io.mtagent.dist;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The shipped libvirt replication cycle (systemd/examples): bash and shellcheck accept the script, systemd accepts
 * the timer and service, and the script's rotation holds against stand-ins for virsh and mtagent that record
 * their calls (libvirt itself cannot run here): the first cycle sends without a bitmap, later ones with the
 * bitmap of the last successful checkpoint, a failed send keeps that checkpoint as the base and drops the new
 * one, and the backup job is always ended.
 */
class SendLibvirtExampleTest {
    private static final Path EXAMPLES = Path.of(System.getProperty("user.dir")).resolve("../systemd/examples")
            .normalize();
    private static final Path SCRIPT = EXAMPLES.resolve("mtagent-send-libvirt.sh");

    @TempDir
    Path dir;

    @Test
    void bashAndShellcheckAcceptTheScript() throws Exception {
        assertThat(run(List.of("bash", "-n", SCRIPT.toString()), null).exit).isZero();
        boolean present = onPath("shellcheck");
        if (!present) {
            System.err.println("SKIPPED SendLibvirtExampleTest shellcheck: shellcheck is missing; install it with"
                    + " 'apt-get install shellcheck' (.ci/run does)");
        }
        assumeTrue(present, "shellcheck is missing: apt-get install shellcheck");
        Result r = run(List.of("shellcheck", "-x", "--severity=style", SCRIPT.getFileName().toString()), EXAMPLES);
        assertThat(r.out).as("shellcheck findings").isEmpty();
        assertThat(r.exit).isZero();
    }

    @Test
    void systemdAcceptsTheTimerAndService() throws Exception {
        boolean present = onPath("systemd-analyze");
        if (!present) {
            System.err.println("SKIPPED SendLibvirtExampleTest systemd-analyze: install it with 'apt-get install"
                    + " systemd' (.ci/run does)");
        }
        assumeTrue(present, "systemd-analyze is missing: apt-get install systemd");
        Path home = Dist.unpack(dir);
        Path units = Files.createDirectories(dir.resolve("units"));
        for (String name : List.of("mtagent-send-libvirt@.service", "mtagent-send-libvirt@.timer")) {
            String text = Files.readString(home.resolve("systemd/examples/" + name)).replace("/opt/mtagent",
                    home.toString());
            Files.writeString(units.resolve(name.replace("@.", "@vm1.")), text);
        }
        assertThat(Files.isExecutable(home.resolve("systemd/examples/mtagent-send-libvirt.sh"))).isTrue();
        Result r = run(List.of("systemd-analyze", "verify", "--man=no", units.resolve("mtagent-send-libvirt@vm1.timer")
                .toString(), units.resolve("mtagent-send-libvirt@vm1.service").toString()), null);
        assertThat(r.out).as("systemd-analyze verify output").isEmpty();
        assertThat(r.exit).isZero();
    }

    @Test
    void checkpointsRotateOnlyAfterASuccessfulSend() throws Exception {
        Path bin = Files.createDirectories(dir.resolve("bin"));
        Path log = dir.resolve("calls.log");
        stub(bin.resolve("virsh"), "echo \"virsh $*\" >>" + log + "\n"
                + "if [ \"$1\" = backup-begin ]; then cp \"$4\" " + dir + "/backup-$(date +%s%N).xml; fi\n");
        stub(bin.resolve("mtagent"), "echo \"mtagent $*\" >>" + log + "\nexit \"${FAKE_SEND_EXIT:-0}\"\n");
        Path conf = dir.resolve("send-vm1.conf");
        Files.writeString(conf, "AGENT=mt01:9443\nFINGERPRINT=AB:CD\nPASSPHRASE_FILE=/etc/pw\n"
                + "DISKS=\"vda=vm1-os vdb=vm1-data\"\nSTATE_DIR=" + dir.resolve("state") + "\nRUN_DIR=" + dir.resolve("run")
                + "\nMTAGENT=" + bin.resolve("mtagent") + "\nVIRSH=" + bin.resolve("virsh") + "\n");

        assertThat(cycle(conf, 0).exit).isZero();
        String first = Files.readString(dir.resolve("state/vm1.checkpoint")).strip();
        List<String> calls = Files.readAllLines(log);
        assertThat(calls.get(0)).startsWith("virsh backup-begin vm1 --backupxml");
        assertThat(calls.get(1)).contains("mtagent send --agent mt01:9443 --fingerprint AB:CD", "--name " + first,
                "--disk vm1-os --source nbd+unix:///vda?socket=", "--disk vm1-data --source nbd+unix:///vdb?socket=")
                .doesNotContain("--bitmap");
        assertThat(calls.get(2)).isEqualTo("virsh domjobabort vm1");
        assertThat(calls).hasSize(3);

        Files.delete(log);
        Thread.sleep(1100); // checkpoint names carry the time to the second
        assertThat(cycle(conf, 0).exit).isZero();
        String second = Files.readString(dir.resolve("state/vm1.checkpoint")).strip();
        assertThat(second).isNotEqualTo(first);
        calls = Files.readAllLines(log);
        assertThat(calls.get(1)).contains("--bitmap mtagent-vda", "--bitmap mtagent-vdb", "--name " + second);
        assertThat(calls.get(2)).isEqualTo("virsh domjobabort vm1");
        assertThat(calls.get(3)).isEqualTo("virsh checkpoint-delete vm1 " + first);
        assertThat(newestBackupXml()).contains("<incremental>" + first + "</incremental>",
                "exportbitmap='mtagent-vda'", "transport='unix'");

        Files.delete(log);
        Thread.sleep(1100);
        Result failed = cycle(conf, 2);
        assertThat(failed.exit).isEqualTo(2);
        assertThat(failed.out).contains("checkpoint " + second + " stays the base of the next cycle");
        assertThat(Files.readString(dir.resolve("state/vm1.checkpoint")).strip()).isEqualTo(second);
        calls = Files.readAllLines(log);
        assertThat(calls.get(2)).isEqualTo("virsh domjobabort vm1");
        assertThat(calls.get(3)).startsWith("virsh checkpoint-delete vm1 mtagent-").isNotEqualTo(
                "virsh checkpoint-delete vm1 " + second);
        assertThat(newestBackupXml()).contains("<incremental>" + second + "</incremental>");
    }

    private String newestBackupXml() throws Exception {
        try (var files = Files.list(dir)) {
            Path newest = files.filter(p -> p.getFileName().toString().startsWith("backup-")).sorted()
                    .reduce((a, b) -> b).orElseThrow();
            return Files.readString(newest);
        }
    }

    private Result cycle(Path conf, int sendExit) throws Exception {
        ProcessBuilder pb = new ProcessBuilder("bash", SCRIPT.toString(), "vm1").redirectErrorStream(true);
        pb.environment().put("MTAGENT_SEND_CONF", conf.toString());
        pb.environment().put("FAKE_SEND_EXIT", String.valueOf(sendExit));
        return run(pb);
    }

    private static void stub(Path file, String body) throws Exception {
        Files.writeString(file, "#!/usr/bin/env bash\n" + body);
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rwx------"));
    }

    private record Result(int exit, String out) {
    }

    private static Result run(List<String> cmd, Path cwd) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        if (cwd != null) {
            pb.directory(cwd.toFile());
        }
        return run(pb);
    }

    private static Result run(ProcessBuilder pb) throws Exception {
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        return new Result(p.exitValue(), out);
    }

    private static boolean onPath(String tool) {
        for (String p : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
            if (Files.isExecutable(Path.of(p, tool))) {
                return true;
            }
        }
        return false;
    }
}
