package io.mtagent.agent.control;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.mtagent.agent.Agent;
import io.mtagent.agent.TestAgents;
import io.mtagent.agent.config.AgentConfig;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The control server's endpoints, authentication and refusals, one promise per test, against one real agent over
 * HTTPS (the agent is shared: none of these tests changes it). After every refusal the server keeps serving.
 */
class ControlEndpointsTest {
    @TempDir
    static Path dir;
    private static AgentConfig config;
    private static Agent agent;
    private static ControlHttp c;

    @BeforeAll
    static void start() throws Exception {
        config = AgentConfig.of(TestAgents.settings(dir, 1, 4L << 20)); // no journal
        agent = TestAgents.start(config, new PrometheusMeterRegistry(PrometheusConfig.DEFAULT));
        c = new ControlHttp(agent);
    }

    @AfterAll
    static void stop() throws Exception {
        agent.close();
    }

    @Test
    void theTokenFileIsPrivateAndTheTokenLong() throws Exception {
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(config.controlTokenFile())))
                .isEqualTo("rw-------");
        assertThat(c.token).hasSize(43);
    }

    @Test
    void healthNeedsNoToken() throws Exception {
        HttpResponse<String> health = c.send("GET", "/health", null, null);
        assertThat(health.statusCode()).isEqualTo(200);
        // Without a retention journal the one finding is MT-1005: point-in-time recovery is off.
        assertThat(ControlHttp.json(health).path("status").asText()).isEqualTo("warning");
        assertThat(ControlHttp.json(health).path("rules").findValuesAsText("code")).containsExactly("MT-1005");
    }

    @Test
    void everythingElseNeedsTheRightToken() throws Exception {
        HttpResponse<String> noToken = c.send("GET", "/status", null, null);
        assertThat(noToken.statusCode()).isEqualTo(401);
        assertThat(noToken.headers().firstValue("WWW-Authenticate"))
                .hasValueSatisfying(v -> assertThat(v).startsWith("Bearer"));
        assertThat(c.send("GET", "/status", "Bearer " + c.token.substring(1) + "x", null).statusCode())
                .as("a wrong token of the right length").isEqualTo(401);
        assertThat(c.send("GET", "/v1/disks", null, null).statusCode()).isEqualTo(401);
        assertThat(c.send("POST", "/v1/disks/disk-0/release", "Basic abc", null).statusCode())
                .as("another scheme").isEqualTo(401);
    }

    @Test
    void statusNamesTheAgentItsServersDisksAndVolumes() throws Exception {
        HttpResponse<String> status = c.get("/status");
        assertThat(status.statusCode()).isEqualTo(200);
        JsonNode s = ControlHttp.json(status);
        assertThat(s.path("agent").path("version").asText()).isNotEmpty();
        assertThat(s.path("dataServer").path("listening").asBoolean()).isTrue();
        JsonNode disk = s.path("disks").get(0);
        assertThat(disk.path("id").asText()).isEqualTo("disk-0");
        assertThat(disk.path("state").asText()).isEqualTo("protected");
        assertThat(disk.has("rpoSeconds")).isTrue();
        assertThat(disk.path("rpoSeconds").isNull()).as("nothing received yet").isTrue();
        assertThat(s.path("retentionVolume").path("state").asText()).isEqualTo("not configured");
        assertThat(s.path("pointInTimeRecovery").path("on").asBoolean()).isFalse();
        assertThat(ControlHttp.json(c.get("/v1/disks")).path("disks").size()).isEqualTo(1);
    }

    @Test
    void metricsArePrometheusTextWithPerDiskAndAgentSeries() throws Exception {
        HttpResponse<String> metrics = c.send("GET", "/metrics", null, null);
        assertThat(metrics.statusCode()).isEqualTo(200);
        assertThat(metrics.headers().firstValue("Content-Type")).hasValue(ControlHandler.PROMETHEUS);
        assertThat(metrics.body()).contains("mtagent_disk_backlog_bytes{disk=\"disk-0\"}");
        assertThat(metrics.body()).as("the agent-wide memory gauge").contains("mtagent_data_memory_held_bytes 0.0");
    }

    @Test
    void wrongMethodsAndUnknownPathsAreRefused() throws Exception {
        HttpResponse<String> wrongMethod = c.send("POST", "/health", null, null);
        assertThat(wrongMethod.statusCode()).isEqualTo(405);
        assertThat(wrongMethod.headers().firstValue("Allow")).hasValue("GET");
        assertThat(c.get("/v1/disks/disk-0/release").statusCode()).isEqualTo(405);
        assertThat(c.get("/nope").statusCode()).isEqualTo(404);
        assertThat(c.get("/v1/nope").statusCode()).isEqualTo(404);
        assertThat(c.post("/v1/disks/no-such-disk/release").statusCode()).isEqualTo(404);
    }

    @Test
    void requestsTheAgentCannotServeSayWhy() throws Exception {
        assertThat(c.get("/v1/points").statusCode()).as("neither disk nor group").isEqualTo(400);
        HttpResponse<String> points = c.get("/v1/points?disk=disk-0");
        assertThat(points.statusCode()).as("no retention journal configured").isEqualTo(409);
        assertThat(ControlHttp.json(points).path("error").asText()).contains("retention.dir");
        assertThat(c.post("/v1/disks/rescan").statusCode()).as("started without a file").isEqualTo(409);
    }

    @Test
    void anOversizeBodyIsRefusedAndTheServerGoesOn() throws Exception {
        String big = "x".repeat(ControlServer.MAX_CONTENT_LENGTH + 1000);
        assertThat(c.send("POST", "/v1/disks/rescan", "Bearer " + c.token, big).statusCode()).isEqualTo(413);
        assertThat(c.send("GET", "/health", null, null).statusCode()).isEqualTo(200);
    }

    @Test
    void aMalformedRequestLineIsRefusedAndTheServerGoesOn() throws Exception {
        try (SSLSocket socket = (SSLSocket) c.tls.getSocketFactory().createSocket("127.0.0.1",
                agent.controlAddress().getPort())) {
            socket.setSoTimeout(5000);
            OutputStream out = socket.getOutputStream();
            out.write("\u0001\u0002 GARBAGE\r\nHost: \u0000\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
            out.flush();
            InputStream in = socket.getInputStream();
            String answer = new String(in.readNBytes(12), StandardCharsets.ISO_8859_1);
            assertThat(answer).as("400, or closed").satisfiesAnyOf(a -> assertThat(a).startsWith("HTTP/1.1 400"),
                    a -> assertThat(a).isEmpty());
        }
        assertThat(c.send("GET", "/health", null, null).statusCode()).isEqualTo(200);
    }
}
