package io.mtagent.agent.control;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.mtagent.agent.Agent;
import io.mtagent.agent.TestAgents;
import io.mtagent.agent.config.AgentConfig;
import io.mtagent.agent.security.AgentIdentity;
import io.mtagent.protocol.client.DiskStream;
import io.mtagent.protocol.client.ReplicationClient;
import java.net.ServerSocket;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real Prometheus (Debian package {@code prometheus}, installed by .ci/run) scrapes a running agent's /metrics
 * over HTTPS with the agent's certificate as its CA file during a stream; {@code promtool check metrics} is clean.
 */
class PrometheusScrapeTest {
    @TempDir
    Path dir;

    private static boolean onPath(String tool) {
        for (String p : System.getenv().getOrDefault("PATH", "").split(java.io.File.pathSeparator)) {
            if (Files.isExecutable(Path.of(p, tool))) {
                return true;
            }
        }
        return false;
    }

    private static void requireTool(String tool) {
        if (!onPath(tool)) {
            System.err.println("SKIPPED: PrometheusScrapeTest needs '" + tool + "' (Debian package 'prometheus'):"
                    + " apt-get install prometheus, or run .ci/run which installs it");
            Assumptions.assumeTrue(false, tool + " is not installed (apt-get install prometheus)");
        }
    }

    @Test
    void prometheusScrapesTheAgentAndPromtoolFindsNoProblem() throws Exception {
        requireTool("prometheus");
        requireTool("promtool");
        AgentConfig config = AgentConfig.of(TestAgents.settings(dir, 1, 4L << 20));
        try (Agent agent = TestAgents.start(config, new PrometheusMeterRegistry(PrometheusConfig.DEFAULT));
             ReplicationClient client = ReplicationClient.connect(TestAgents.client(agent).build())) {
            DiskStream d = client.openDisk("disk-0", 1);
            for (int i = 0; i < 64; i++) {
                d.write(i * 4096L, new byte[4096]);
            }
            d.flush(Duration.ofSeconds(10));

            // promtool on one scrape.
            ControlHttp c = new ControlHttp(agent);
            Path scrape = Files.writeString(dir.resolve("scrape.txt"), c.send("GET", "/metrics", null, null).body());
            Process check = new ProcessBuilder("promtool", "check", "metrics").redirectInput(scrape.toFile())
                    .redirectErrorStream(true).start();
            String problems = new String(check.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(check.waitFor(30, TimeUnit.SECONDS)).isTrue();
            assertThat(problems).as("promtool check metrics").isBlank();
            assertThat(check.exitValue()).isZero();

            // A real Prometheus scraping over HTTPS, trusting exactly the agent's certificate.
            int webPort;
            try (ServerSocket s = new ServerSocket(0)) {
                webPort = s.getLocalPort();
            }
            Path yml = Files.writeString(dir.resolve("prometheus.yml"), String.join("\n",
                    "global:", "  scrape_interval: 1s", "  scrape_timeout: 900ms",
                    "scrape_configs:", "  - job_name: mtagent", "    scheme: https",
                    "    tls_config:", "      ca_file: " + agent.stateDir().resolve(AgentIdentity.CERT_FILE),
                    "      server_name: localhost",
                    "    static_configs:", "      - targets: ['127.0.0.1:" + agent.controlAddress().getPort() + "']", ""));
            Process prometheus = new ProcessBuilder("prometheus", "--config.file=" + yml,
                    "--storage.tsdb.path=" + dir.resolve("tsdb"), "--web.listen-address=127.0.0.1:" + webPort)
                    .redirectErrorStream(true).redirectOutput(dir.resolve("prometheus.log").toFile()).start();
            try {
                HttpClient http = HttpClient.newHttpClient();
                await().atMost(Duration.ofSeconds(40)).pollInterval(Duration.ofMillis(500))
                        .ignoreExceptionsInstanceOf(java.net.ConnectException.class) // Prometheus is still starting
                        .until(() -> {
                    d.flush(Duration.ofSeconds(10));
                    d.write(0, new byte[4096]); // the stream goes on while Prometheus scrapes
                    JsonNode up = query(http, webPort, "up");
                    JsonNode bytes = query(http, webPort, "mtagent_data_received_bytes_total");
                    return value(up) == 1.0 && value(bytes) > 0;
                });
            } finally {
                prometheus.destroy();
                if (!prometheus.waitFor(10, TimeUnit.SECONDS)) {
                    prometheus.destroyForcibly();
                }
            }
        }
    }

    private static JsonNode query(HttpClient http, int port, String q) throws Exception {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port
                + "/api/v1/query?query=" + URLEncoder.encode(q, StandardCharsets.UTF_8))).build(),
                HttpResponse.BodyHandlers.ofString());
        return ControlHttp.JSON.readTree(r.body());
    }

    private static double value(JsonNode answer) {
        JsonNode result = answer.path("data").path("result");
        if (result.size() == 0) {
            return Double.NaN;
        }
        return Double.parseDouble(result.get(0).path("value").get(1).asText());
    }
}
