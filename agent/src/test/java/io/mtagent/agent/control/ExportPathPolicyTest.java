package io.mtagent.agent.control;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.mtagent.agent.Agent;
import io.mtagent.agent.TestAgents;
import io.mtagent.agent.cli.MtAgentCli;
import io.mtagent.agent.config.AgentConfig;
import io.mtagent.agent.security.PassphraseStore;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Exports as an attacker with the control token would aim them (the probe of issue 21 replaced a live target and
 * {@code auth.key}): onto a target, into the state directory, through {@code ..}, through a directory link and a
 * file link, outside the export directories. Each is refused through the real TLS control API (403 naming the
 * rule) and through the offline CLI, and nothing is written: the target and {@code auth.key} keep their bytes and
 * no {@code .partial} appears. A plain export into the export directory still works.
 */
class ExportPathPolicyTest {
    private static final int DISK_BYTES = 1 << 20;

    @TempDir
    Path dir;

    @Test
    void exportsOutsideTheExportDirectoriesAreRefusedAndWriteNothing() throws Exception {
        Map<String, String> s = TestAgents.settingsWithRetention(dir, 1, DISK_BYTES);
        Path config = TestAgents.writeConfig(dir.resolve("agent.properties"), s);
        Path exports = dir.resolve("out");
        Path target = TestAgents.target(dir, 0);
        Path authKey = dir.resolve("state").resolve(PassphraseStore.FILE);
        String targetHash;
        String authHash;
        try (Agent agent = TestAgents.start(AgentConfig.load(config, Map.of()),
                new io.micrometer.core.instrument.simple.SimpleMeterRegistry())) {
            assertThat(exports).as("the export directory is made at start").isDirectory();
            targetHash = sha256(target);
            authHash = sha256(authKey);
            Files.createSymbolicLink(exports.resolve("state-link"), dir.resolve("state"));
            Files.createSymbolicLink(exports.resolve("disk.raw"), target);
            Map<String, Path> attempts = Map.of(
                    "target", target,
                    "agent-directory", authKey,
                    "dot-segment", exports.resolve("..").resolve("state").resolve(PassphraseStore.FILE),
                    "symlink", exports.resolve("disk.raw"));
            ControlHttp c = new ControlHttp(agent);
            for (Map.Entry<String, Path> a : attempts.entrySet()) {
                HttpResponse<String> r = export(c, a.getValue());
                assertThat(r.statusCode()).as("%s: %s", a.getValue(), r.body()).isEqualTo(403);
                assertThat(ControlHttp.json(r).path("error").asText()).contains("[rule " + a.getKey() + "]");
            }
            // Through a directory link into the state directory: the resolved path is what counts.
            HttpResponse<String> viaLink = export(c, exports.resolve("state-link").resolve(PassphraseStore.FILE));
            assertThat(viaLink.statusCode()).as(viaLink.body()).isEqualTo(403);
            assertThat(ControlHttp.json(viaLink).path("error").asText()).contains("[rule agent-directory]",
                    "once links are followed");
            HttpResponse<String> outside = export(c, dir.resolve("elsewhere.raw"));
            assertThat(outside.statusCode()).isEqualTo(403);
            assertThat(ControlHttp.json(outside).path("error").asText()).contains("[rule outside-export-dirs]",
                    "export.dirs");
            // Inside the export directory it works.
            HttpResponse<String> fine = export(c, exports.resolve("disk-0.raw"));
            assertThat(fine.statusCode()).as(fine.body()).isEqualTo(202);
            awaitDone(c, ControlHttp.json(fine).path("job").asText());
            assertThat(exports.resolve("disk-0.raw")).hasSize(DISK_BYTES);
            assertThat(sha256(target)).as("target untouched").isEqualTo(targetHash);
            assertThat(sha256(authKey)).as("auth.key untouched").isEqualTo(authHash);
        }
        // The offline export applies the same rules.
        for (Path out : List.of(target, authKey, exports.resolve("..").resolve("state").resolve("x"),
                exports.resolve("disk.raw"), exports.resolve("state-link").resolve(PassphraseStore.FILE))) {
            ByteArrayOutputStream err = new ByteArrayOutputStream();
            PrintStream saved = System.err;
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            try {
                assertThat(MtAgentCli.execute("export", "--offline", "--config", config.toString(), "--disk",
                        "disk-0", "--point", "latest", "--out", out.toString(), "--overwrite")).as(out.toString())
                        .isNotZero();
            } finally {
                System.setErr(saved);
            }
            assertThat(err.toString(StandardCharsets.UTF_8)).as(out.toString()).contains("[rule ");
        }
        assertThat(sha256(target)).as("target untouched").isEqualTo(targetHash);
        assertThat(sha256(authKey)).as("auth.key untouched").isEqualTo(authHash);
        try (Stream<Path> all = Files.walk(dir)) {
            assertThat(all.filter(p -> p.toString().endsWith(".partial")).toList()).as("no partial export").isEmpty();
        }
    }

    private static HttpResponse<String> export(ControlHttp c, Path out) throws Exception {
        return c.send("POST", "/v1/export", "Bearer " + c.token, "{\"disk\":\"disk-0\",\"point\":\"latest\",\"out\":"
                + ControlHttp.JSON.writeValueAsString(out.toString()) + ",\"overwrite\":true}");
    }

    private static void awaitDone(ControlHttp c, String job) throws Exception {
        org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(30)).until(() -> {
            JsonNode j = ControlHttp.json(c.get("/v1/jobs/" + job));
            return !j.path("state").asText().equals("running") && !j.path("state").asText().equals("queued");
        });
        JsonNode j = ControlHttp.json(c.get("/v1/jobs/" + job));
        assertThat(j.path("state").asText()).as(j.toString()).isEqualTo("done");
    }

    private static String sha256(Path p) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(p)));
    }
}
