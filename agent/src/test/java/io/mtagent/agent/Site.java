package io.mtagent.agent;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.mtagent.agent.control.PinnedTrust;
import io.mtagent.agent.security.AgentIdentity;
import io.mtagent.agent.security.ControlToken;
import io.mtagent.protocol.client.ClientOptions;
import io.mtagent.protocol.client.ReplicationClient;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.awaitility.Awaitility;

/**
 * One site of the failback scenario: a real agent in a child JVM ({@link ChildAgent}) with its own directories and
 * ports, two file-backed target disks in replication group "g", and its control API over TLS (pinned certificate,
 * bearer token read from its state directory). Not thread-safe: one test thread.
 */
final class Site implements AutoCloseable {
    static final ObjectMapper JSON = new ObjectMapper();

    /** A control API answer. */
    record Answer(int status, JsonNode body) {
        Answer expect(int expected, String what) {
            if (status != expected) {
                throw new AssertionError(what + ": HTTP " + status + " " + body);
            }
            return this;
        }
    }

    final String name;
    final Path dir;
    final int dataPort;
    final int controlPort;
    private final ChildAgent child;
    private HttpClient http;
    private String token;

    Site(String name, Path dir, long diskBytes) throws Exception {
        this.name = name;
        this.dir = dir;
        this.dataPort = freePort();
        this.controlPort = freePort();
        Map<String, String> s = TestAgents.settingsWithRetention(dir, 2, diskBytes);
        s.put("data.listen", "127.0.0.1:" + dataPort);
        s.put("control.listen", "127.0.0.1:" + controlPort);
        s.put("agent.name", "site-" + name);
        s.put("disk.d0.group", "g");
        s.put("disk.d1.group", "g");
        s.put("retention.segment.bytes", "1MiB");
        TestAgents.setPassphrase(dir.resolve("state"));
        Path config = TestAgents.writeConfig(dir.resolve("mtagent.properties"), s);
        this.child = new ChildAgent(config, dir.resolve("agent.log"));
    }

    private static int freePort() throws Exception {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    Path target(int disk) {
        return TestAgents.target(dir, disk);
    }

    /** Starts the agent and waits until its control API answers. */
    void start() throws Exception {
        child.start();
        Awaitility.await(name + " answers on its control port").atMost(Duration.ofSeconds(60))
                .pollInterval(Duration.ofMillis(100)).ignoreExceptions().until(() -> {
                    if (token == null) {
                        HttpClient c = HttpClient.newBuilder().sslContext(PinnedTrust.pinnedFile(
                                dir.resolve("state").resolve(AgentIdentity.CERT_FILE))).build();
                        String t = ControlToken.read(dir.resolve("state").resolve("control.token")).text();
                        http = c;
                        token = t;
                    }
                    return get("/v1/disks").status() == 200;
                });
    }

    /** kill -9 and start again. */
    void killAndRestart() throws Exception {
        if (!child.kill(30)) {
            throw new AssertionError("site " + name + ": the agent did not die");
        }
        start();
    }

    ReplicationClient connect() throws Exception {
        return child.connect(client());
    }

    void reconnect(ReplicationClient c) throws Exception {
        child.reconnect(c, "site " + name);
    }

    ClientOptions client() {
        return ClientOptions.builder("127.0.0.1", dataPort).passphrase(TestAgents.PASSPHRASE.toCharArray())
                .clientName("failback-scenario").build();
    }

    Answer get(String path) throws Exception {
        return send("GET", path, null);
    }

    Answer post(String path, Object body) throws Exception {
        return send("POST", path, body == null ? null : JSON.writeValueAsString(body));
    }

    Answer delete(String path) throws Exception {
        return send("DELETE", path, null);
    }

    private Answer send(String method, String path, String body) throws Exception {
        HttpRequest r = HttpRequest.newBuilder(URI.create("https://127.0.0.1:" + controlPort + path))
                .timeout(Duration.ofSeconds(30)).header("Authorization", "Bearer " + token)
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody()
                        : HttpRequest.BodyPublishers.ofString(body)).build();
        HttpResponse<String> resp = http.send(r, HttpResponse.BodyHandlers.ofString());
        return new Answer(resp.statusCode(), resp.body().isEmpty() ? JSON.createObjectNode() : JSON.readTree(resp.body()));
    }

    /** Starts a job call (202) and waits for it to end; returns the job's final document (state done). */
    JsonNode job(String path, Object body, String what) throws Exception {
        Answer a = post(path, body).expect(202, name + ": " + what);
        String id = a.body().path("job").asText();
        JsonNode[] last = new JsonNode[1];
        Awaitility.await(name + ": " + what).atMost(Duration.ofMinutes(5)).pollInterval(Duration.ofMillis(20))
                .until(() -> {
                    last[0] = get("/v1/jobs/" + id).body();
                    return !last[0].path("state").asText().equals("running");
                });
        if (!last[0].path("state").asText().equals("done")) {
            throw new AssertionError(name + ": " + what + " failed: " + last[0] + "\n" + child.tail());
        }
        return last[0];
    }

    /** The disk's entry in /v1/disks. */
    JsonNode disk(String id) throws Exception {
        for (JsonNode d : get("/v1/disks").expect(200, "disks").body().path("disks")) {
            if (d.path("id").asText().equals(id)) {
                return d;
            }
        }
        throw new AssertionError("site " + name + " does not list disk " + id);
    }

    String tail() throws Exception {
        return Files.exists(dir.resolve("agent.log")) ? child.tail() : "";
    }

    @Override
    public void close() throws Exception {
        child.close();
    }
}
