package io.mtagent.agent.control;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.mtagent.agent.Agent;
import io.mtagent.agent.TestAgents;
import io.mtagent.agent.cli.MtAgentCli;
import io.mtagent.agent.config.AgentConfig;
import io.mtagent.agent.security.NbdCa;
import io.mtagent.protocol.TagType;
import io.mtagent.protocol.client.DiskStream;
import io.mtagent.protocol.client.ReplicationClient;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The remote reader as an operator sets it up, through the real agent and CLI: {@code nbd.listen} set, {@code
 * mtagent nbd client-cert} issues a certificate directory, {@code mtagent nbd} prints an {@code nbds://} command,
 * and that very command (with the directory filled in) copies the point with nbdcopy, over TLS with the client
 * certificate, before and after a restart of the agent (the CA persists, the port's server certificate is new).
 */
class NbdRemoteReaderTest {
    private static final int DISK_BYTES = 2 << 20;

    @TempDir
    Path dir;

    @Test
    void clientCertificateFromTheCliReadsAPointBeforeAndAfterARestart() throws Exception {
        if (!new File("/usr/bin/nbdcopy").canExecute()) {
            System.err.println("SKIPPED: NbdRemoteReaderTest needs nbdcopy (apt-get install libnbd-bin)");
            Assumptions.assumeTrue(false, "nbdcopy missing");
        }
        Map<String, String> s = TestAgents.settingsWithRetention(dir, 1, DISK_BYTES);
        s.put("nbd.listen", "127.0.0.1:0");
        Path file = ControlHttp.writeProperties(dir.resolve("mtagent.properties"), s);
        byte[] image = new byte[DISK_BYTES];
        new SplittableRandom(21).nextBytes(image);
        Path certificates = dir.resolve("reader1");
        for (int run = 0; run < 2; run++) {
            try (Agent agent = TestAgents.start(AgentConfig.load(file, Map.of()), new SimpleMeterRegistry())) {
                if (run == 0) {
                    try (ReplicationClient client = ReplicationClient.connect(TestAgents.client(agent).build())) {
                        DiskStream d = client.openDisk("disk-0", 1);
                        for (int off = 0; off < DISK_BYTES; off += 64 << 10) {
                            byte[] block = new byte[64 << 10];
                            System.arraycopy(image, off, block, 0, block.length);
                            d.write(off, block);
                        }
                        d.tag(TagType.CRASH_CONSISTENT, "t1", System.currentTimeMillis() * 1000);
                        d.flush(Duration.ofSeconds(30));
                    }
                    TestAgents.awaitApplied(agent, Duration.ofSeconds(30));
                    Output cert = cli("nbd", "client-cert", "--out", certificates.toString(), "--name", "reader1",
                            "--config", file.toString());
                    assertThat(cert.exit()).as(cert.text()).isZero();
                    assertThat(cert.text()).contains("client certificate 'reader1'");
                    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(
                            certificates.resolve("client-key.pem")))).isEqualTo("rw-------");
                    assertThat(Files.readString(certificates.resolve("ca-cert.pem")))
                            .isEqualTo(Files.readString(dir.resolve("state").resolve(NbdCa.CERT_FILE)));
                }
                Output served = cli("nbd", "--disk", "disk-0", "--point", "tag:t1", "--config", file.toString(),
                        "--set", "control.listen=127.0.0.1:" + agent.controlAddress().getPort());
                assertThat(served.exit()).as(served.text()).isZero();
                String printed = served.text().lines().map(String::trim).filter(l -> l.startsWith("nbdcopy")
                        && l.contains("nbds://")).findFirst().orElseThrow(() -> new AssertionError(served.text()));
                assertThat(printed).contains("nbds://127.0.0.1:" + agent.nbdServer().address().getPort() + "/");
                Path work = Files.createDirectories(dir.resolve("copy" + run));
                Files.createFile(work.resolve("disk-0.raw"));
                Process p = new ProcessBuilder("bash", "-c", "cd '" + work + "' && "
                        + printed.replace("tls-certificates=DIR", "tls-certificates=" + certificates))
                        .redirectErrorStream(true).start();
                String log = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
                assertThat(p.exitValue()).as("run %d: %s%n%s", run, printed, log).isZero();
                assertThat(Files.readAllBytes(work.resolve("disk-0.raw"))).as("run %d", run).isEqualTo(image);
            }
        }
    }

    private record Output(int exit, String text) {
    }

    private static Output cli(String... args) {
        PrintStream saved = System.out;
        ByteArrayOutputStream buffer = new ByteArrayOutputStream();
        System.setOut(new PrintStream(buffer, true, StandardCharsets.UTF_8));
        try {
            int exit = MtAgentCli.execute(args);
            return new Output(exit, buffer.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(saved);
        }
    }
}
