package io.mtagent.agent.control;

import io.mtagent.agent.Agent;
import io.mtagent.agent.security.AgentIdentity;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Assumptions;

/**
 * The Debian {@code prometheus} package's binaries for tests: skip loudly without them, run promtool, run a real
 * Prometheus that scrapes an agent over HTTPS with its certificate as the CA file, query it.
 */
final class PromTools {
    /** The repository's monitoring/ directory (tests run in agent/). */
    static final Path MONITORING = Path.of("..", "monitoring").toAbsolutePath().normalize();

    private PromTools() {
    }

    static boolean onPath(String tool) {
        for (String p : System.getenv().getOrDefault("PATH", "").split(java.io.File.pathSeparator)) {
            if (Files.isExecutable(Path.of(p, tool))) {
                return true;
            }
        }
        return false;
    }

    static void requireTool(String test, String tool) {
        if (!onPath(tool)) {
            System.err.println("SKIPPED: " + test + " needs '" + tool + "' (Debian package 'prometheus'):"
                    + " apt-get install prometheus, or run .ci/run which installs it");
            Assumptions.assumeTrue(false, tool + " is not installed (apt-get install prometheus)");
        }
    }

    /** Runs promtool with {@code args} in {@code dir}; returns its exit code and output. */
    static Result promtool(Path dir, Path stdin, String... args) throws IOException, InterruptedException {
        List<String> cmd = new java.util.ArrayList<>(List.of("promtool"));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true);
        if (stdin != null) {
            pb.redirectInput(stdin.toFile());
        }
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("promtool " + args[0] + " did not finish");
        }
        return new Result(p.exitValue(), out);
    }

    record Result(int exit, String output) {
    }

    /** A running Prometheus scraping {@code agent} every second, evaluating {@code ruleFiles} every second. */
    static final class Server implements AutoCloseable {
        final int port;
        final Process process;
        final HttpClient http = HttpClient.newHttpClient();

        Server(Path dir, Agent agent, Path... ruleFiles) throws IOException {
            try (ServerSocket s = new ServerSocket(0)) {
                port = s.getLocalPort();
            }
            StringBuilder rules = new StringBuilder();
            for (Path r : ruleFiles) {
                rules.append("  - ").append(r).append('\n');
            }
            Path yml = Files.writeString(dir.resolve("prometheus.yml"), String.join("\n",
                    "global:", "  scrape_interval: 1s", "  scrape_timeout: 900ms", "  evaluation_interval: 1s",
                    ruleFiles.length == 0 ? "" : "rule_files:\n" + rules,
                    "scrape_configs:", "  - job_name: mtagent", "    scheme: https",
                    "    tls_config:", "      ca_file: " + agent.stateDir().resolve(AgentIdentity.CERT_FILE),
                    "      server_name: localhost",
                    "    static_configs:", "      - targets: ['127.0.0.1:" + agent.controlAddress().getPort() + "']",
                    ""));
            process = new ProcessBuilder("prometheus", "--config.file=" + yml,
                    "--storage.tsdb.path=" + dir.resolve("tsdb"), "--web.listen-address=127.0.0.1:" + port)
                    .redirectErrorStream(true).redirectOutput(dir.resolve("prometheus.log").toFile()).start();
        }

        /** The query's result vector (empty when nothing matches). */
        JsonNode query(String q) throws IOException, InterruptedException {
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port
                    + "/api/v1/query?query=" + URLEncoder.encode(q, StandardCharsets.UTF_8))).build(),
                    HttpResponse.BodyHandlers.ofString());
            return ControlHttp.JSON.readTree(r.body()).path("data").path("result");
        }

        /** The first sample's value, NaN when the result is empty. */
        double value(String q) throws IOException, InterruptedException {
            JsonNode result = query(q);
            return result.size() == 0 ? Double.NaN : Double.parseDouble(result.get(0).path("value").get(1).asText());
        }

        @Override
        public void close() throws InterruptedException {
            process.destroy();
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                process.destroyForcibly();
            }
        }
    }
}
