package io.mtagent.agent.control;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.mtagent.agent.Agent;
import io.mtagent.agent.MetricSamples;
import io.mtagent.agent.security.AgentIdentity;
import io.mtagent.agent.security.ControlToken;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Properties;
import javax.net.ssl.SSLContext;

/** Test client of a running agent's control API over real TLS, pinning the agent's certificate. */
final class ControlHttp {
    final Agent agent;
    final SSLContext tls;
    final HttpClient http;
    final String token;
    static final ObjectMapper JSON = new ObjectMapper();

    ControlHttp(Agent agent) throws Exception {
        this.agent = agent;
        this.tls = PinnedTrust.pinnedFile(agent.stateDir().resolve(AgentIdentity.CERT_FILE));
        this.http = HttpClient.newBuilder().sslContext(tls).build();
        this.token = ControlToken.read(agent.config().controlTokenFile()).text();
    }

    URI uri(String path) {
        return URI.create("https://127.0.0.1:" + agent.controlAddress().getPort() + path);
    }

    HttpResponse<String> send(String method, String path, String auth, String body) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(uri(path)).method(method,
                body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        if (auth != null) {
            b.header("Authorization", auth);
        }
        HttpResponse<String> r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
        if (path.startsWith("/metrics") && r.statusCode() == 200) {
            MetricSamples.assertNoNaN(r.body()); // every scrape of the suite goes through here
        }
        return r;
    }

    HttpResponse<String> get(String path) throws Exception {
        return send("GET", path, "Bearer " + token, null);
    }

    HttpResponse<String> post(String path) throws Exception {
        return send("POST", path, "Bearer " + token, null);
    }

    static JsonNode json(HttpResponse<String> r) throws Exception {
        return JSON.readTree(r.body());
    }

    static Path writeProperties(Path file, Map<String, String> settings) throws Exception {
        Properties p = new Properties();
        p.putAll(settings);
        Files.createDirectories(file.getParent());
        try (var out = Files.newOutputStream(file)) {
            p.store(out, null);
        }
        return file;
    }
}
