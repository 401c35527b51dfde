package io.mtagent.agent.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.mtagent.agent.Agent;
import io.mtagent.agent.TestAgents;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.RandomAccessFile;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An operator's mistakes, made through the CLI as an operator makes them: each is one line naming the reason, the
 * setting or argument at fault and the fix, exit code 2 (3 for an unknown status), and never a stack trace.
 */
class OperatorErrorsTest {
    @TempDir
    Path dir;

    @Test
    void aPortInUseNamesThePortAndTheSetting() throws Exception {
        Map<String, String> s = TestAgents.settings(dir, 1, 1 << 20);
        TestAgents.setPassphrase(dir.resolve("state"));
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            int port = taken.getLocalPort();
            s.put("data.listen", "127.0.0.1:" + port);
            Path conf = TestAgents.writeConfig(dir.resolve("a.properties"), s);
            Captured run = Captured.run("run", "--config", conf.toString());
            assertOneLine(run, "cannot listen on 127.0.0.1:" + port, "data.listen=127.0.0.1:" + port,
                    "port " + port + " is in use", "set data.listen to a free HOST:PORT");
            s.put("data.listen", "127.0.0.1:0");
            s.put("control.listen", "127.0.0.1:" + port);
            TestAgents.writeConfig(conf, s);
            assertOneLine(Captured.run("run", "--config", conf.toString()), "127.0.0.1:" + port,
                    "control.listen=127.0.0.1:" + port);
        }
    }

    @Test
    void aDiskPathThatIsADirectoryNamesTheSetting() throws Exception {
        Map<String, String> s = TestAgents.settings(dir, 1, 1 << 20);
        Files.createDirectories(dir.resolve("adir"));
        s.put("disk.d0.path", dir.resolve("adir").toString());
        TestAgents.setPassphrase(dir.resolve("state"));
        Path conf = TestAgents.writeConfig(dir.resolve("a.properties"), s);
        assertOneLine(Captured.run("run", "--config", conf.toString()), "disk.d0.path=" + dir.resolve("adir"),
                "is a directory", "block device");
    }

    @Test
    void logLinesAreJsonObjectsWithLogFormatJson() throws Exception {
        Map<String, String> s = TestAgents.settings(dir, 1, 1 << 20);
        Files.createDirectories(dir.resolve("adir"));
        s.put("disk.d0.path", dir.resolve("adir").toString()); // refused after the identity is made and logged
        TestAgents.setPassphrase(dir.resolve("state"));
        Path conf = TestAgents.writeConfig(dir.resolve("a.properties"), s);
        Captured run = Captured.run("run", "--log-format", "json", "--config", conf.toString());
        assertThat(run.code()).isEqualTo(2);
        List<String> logLines = run.err().lines().filter(l -> !l.startsWith("mtagent")).toList();
        assertThat(logLines).as(run.err()).isNotEmpty();
        ObjectMapper json = new ObjectMapper();
        for (String l : logLines) {
            JsonNode o = json.readTree(l);
            assertThat(o.path("time").asText()).as(l).isNotEmpty();
            assertThat(o.path("level").asText()).as(l).isIn("INFO", "WARNING", "SEVERE");
            assertThat(o.path("logger").asText()).as(l).startsWith("io.mtagent.");
            assertThat(o.path("message").asText()).as(l).isNotEmpty();
        }
        assertThat(Captured.run("run", "--log-format", "xml", "--config", conf.toString()).err())
                .contains("--log-format is text or json");
    }

    @Test
    void aShortPassphraseIsOneLine() throws Exception {
        Path conf = TestAgents.writeConfig(dir.resolve("a.properties"), TestAgents.settings(dir, 1, 1 << 20));
        Path pass = Files.writeString(dir.resolve("short.txt"), "abc\n");
        assertOneLine(Captured.run("passphrase", "set", "--config", conf.toString(), "--from-file", pass.toString()),
                "the passphrase has 3 characters; at least 12");
    }

    @Test
    void aWrongSizeSendSourceExitsTwoWithOneLine() throws Exception {
        Map<String, String> s = TestAgents.settings(dir, 1, 1 << 20);
        try (Agent agent = TestAgents.start(s)) {
            Path source = dir.resolve("source.img");
            try (RandomAccessFile f = new RandomAccessFile(source.toFile(), "rw")) {
                f.setLength(2 << 20);
            }
            Path pass = Files.writeString(dir.resolve("pass.txt"), TestAgents.PASSPHRASE + "\n");
            Captured run = Captured.run("send", "--agent", "127.0.0.1:" + agent.dataAddress().getPort(),
                    "--passphrase-file", pass.toString(), "--fingerprint", agent.identity().fingerprintText(),
                    "--disk", "disk-0", "--source", source.toString());
            assertThat(run.code()).as(run.err()).isEqualTo(2);
            // (the in-process agent's own log lines, time-stamped, share stderr here)
            assertThat(run.err().lines().filter(l -> !TIMESTAMPED.matcher(l).lookingAt()).toList()).as(run.err())
                    .hasSize(1);
            assertThat(run.err()).contains("disk disk-0", source.toString(), "2097152 bytes", "1048576 bytes")
                    .doesNotContain("\tat ");
            assertThat(agent.disks().byId("disk-0").lastDurableSeq()).isZero();
        }
    }

    @Test
    void anExportOntoAnExistingFileIsRefusedBeforeAnyProgress() throws Exception {
        Map<String, String> s = TestAgents.settingsWithRetention(dir, 1, 1 << 20);
        try (Agent agent = TestAgents.start(s)) {
            Path source = dir.resolve("source.img");
            Files.write(source, new byte[1 << 20]);
            Path pass = Files.writeString(dir.resolve("pass.txt"), TestAgents.PASSPHRASE + "\n");
            assertThat(Captured.run("send", "--agent", "127.0.0.1:" + agent.dataAddress().getPort(),
                    "--passphrase-file", pass.toString(), "--fingerprint", agent.identity().fingerprintText(),
                    "--disk", "disk-0", "--source", source.toString()).code()).isZero();
            Path existing = Files.writeString(Files.createDirectories(dir.resolve("out")).resolve("disk.raw"), "keep");
            s.put("control.listen", "127.0.0.1:" + agent.controlAddress().getPort());
            Path conf = TestAgents.writeConfig(dir.resolve("a.properties"), s);
            Captured export = Captured.run("export", "--config", conf.toString(), "--disk", "disk-0", "--point",
                    "latest", "--out", existing.toString());
            assertOneLine(export, existing.toString(), "exists and is not empty", "--overwrite");
            assertThat(export.out()).doesNotContain("%", "exporting");
            assertThat(existing).hasContent("keep");
            Captured offline = Captured.run("export", "--offline", "--config", conf.toString(), "--disk", "disk-0",
                    "--point", "latest", "--out", existing.toString());
            assertOneLine(offline, "exists and is not empty", "--overwrite");
            assertThat(offline.out()).doesNotContain("%");
        }
    }

    @Test
    void theControlPortAnswersPlainHttpAndRefusedTokensAreLoggedAndExplained() throws Exception {
        Map<String, String> s = TestAgents.settings(dir, 1, 1 << 20);
        List<String> logged = new ArrayList<>();
        Handler capture = new Handler() {
            @Override
            public void publish(LogRecord r) {
                synchronized (logged) {
                    logged.add(r.getMessage());
                }
            }

            @Override
            public void flush() {
            }

            @Override
            public void close() {
            }
        };
        Logger gate = Logger.getLogger("io.mtagent.agent.control.RequestGate");
        gate.addHandler(capture);
        try (Agent agent = TestAgents.start(s)) {
            int port = agent.controlAddress().getPort();
            try (Socket plain = new Socket("127.0.0.1", port)) {
                OutputStream o = plain.getOutputStream();
                o.write("GET /health HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                o.flush();
                InputStream in = plain.getInputStream();
                String reply = new String(in.readAllBytes(), StandardCharsets.UTF_8);
                assertThat(reply).startsWith("HTTP/1.1 400").contains("speaks HTTPS only", "https://<host>:" + port);
            }
            // The CLI with another agent's token: status is UNKNOWN (3), and says why.
            Path other = dir.resolve("other.token");
            Files.writeString(other, "b".repeat(43) + "\n");
            s.put("control.token.file", other.toString());
            s.put("control.listen", "127.0.0.1:" + port);
            Path conf = TestAgents.writeConfig(dir.resolve("wrong.properties"), s);
            Captured status = Captured.run("status", "--config", conf.toString());
            assertThat(status.code()).as(status.err()).isEqualTo(3);
            assertThat(status.err()).contains("does not match this agent's control.token.file").doesNotContain("\tat ");
            synchronized (logged) {
                assertThat(logged).anyMatch(l -> l.contains("refused (401) for a wrong bearer token")
                        && l.contains("/status"));
            }
        } finally {
            gate.removeHandler(capture);
        }
    }

    /** A 16 MiB tmpfs cannot hold even the minimum journal; needs root to mount, skips loudly otherwise. */
    @Test
    void retentionCheckRefusesATinyVolume() throws Exception {
        Path volume = Files.createDirectories(dir.resolve("tiny"));
        Process mount = new ProcessBuilder("mount", "-t", "tmpfs", "-o", "size=16m,mode=0700", "tmpfs",
                volume.toString()).redirectErrorStream(true).start();
        boolean mounted = mount.waitFor(10, TimeUnit.SECONDS) && mount.exitValue() == 0;
        if (!mounted) {
            System.err.println("SKIPPED OperatorErrorsTest.retentionCheckRefusesATinyVolume: cannot mount a tmpfs"
                    + " (needs root): " + new String(mount.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
        }
        Assumptions.assumeTrue(mounted, "cannot mount a tmpfs (needs root)");
        try {
            Path conf = TestAgents.writeConfig(dir.resolve("a.properties"), TestAgents.settings(dir, 1, 1 << 20));
            Captured check = Captured.run("retention", "check", "--config", conf.toString(), "--allow-shared",
                    volume.resolve("retention").toString());
            assertThat(check.code()).as(check.out()).isEqualTo(2);
            assertThat(check.out()).contains("REFUSED [too-small]", "16.0 MiB", "256.0 MiB", "retention.window");
            Captured asJson = Captured.run("retention", "check", "--config", conf.toString(), "--allow-shared",
                    "--json", volume.resolve("retention").toString());
            assertThat(asJson.code()).isEqualTo(2);
            JsonNode verdict = new ObjectMapper().readTree(asJson.out());
            assertThat(verdict.path("version").asInt()).isEqualTo(1);
            assertThat(verdict.path("usable").asBoolean(true)).isFalse();
            assertThat(verdict.path("totalBytes").asLong()).isEqualTo(16L << 20);
            assertThat(verdict.path("refused").get(0).path("rule").asText()).isEqualTo("too-small");
            Captured roomy = Captured.run("retention", "check", "--config", conf.toString(), "--allow-shared",
                    "--set", "retention.segment.bytes=1MiB", volume.resolve("retention").toString());
            assertThat(roomy.code()).as(roomy.out()).isZero();
            assertThat(roomy.out()).contains("usable", "tmpfs", "16.0 MiB");
        } finally {
            new ProcessBuilder("umount", "-l", volume.toString()).start().waitFor(10, TimeUnit.SECONDS);
        }
    }

    private static final Pattern TIMESTAMPED = Pattern.compile("\\d{4}-\\d\\d-\\d\\dT");

    /**
     * Exit 2, exactly one error line on stderr (besides the in-process agent's time-stamped log lines and its start-up
     * progress), holding every fragment, and no stack trace.
     */
    static void assertOneLine(Captured run, String... fragments) {
        assertThat(run.code()).as(run.err()).isEqualTo(2);
        List<String> lines = run.err().lines().filter(l -> !TIMESTAMPED.matcher(l).lookingAt()
                && !l.startsWith("mtagent: recovering")).toList();
        assertThat(lines).as(run.err()).hasSize(1);
        assertThat(lines.get(0)).contains(fragments);
        assertThat(run.err()).doesNotContain("\tat ", "Exception");
    }
}
