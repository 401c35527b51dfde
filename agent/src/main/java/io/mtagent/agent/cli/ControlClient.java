package io.mtagent.agent.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.mtagent.agent.config.AgentConfig;
import io.mtagent.agent.control.PinnedTrust;
import io.mtagent.agent.security.AgentIdentity;
import io.mtagent.agent.security.ControlToken;
import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.NoSuchFileException;
import java.security.GeneralSecurityException;
import java.time.Duration;

/**
 * The CLI's side of the control API: finds the agent's control address, token file and certificate from the
 * configuration, pins exactly that certificate (no CA, no host-name games) and sends the bearer token.
 */
final class ControlClient {
    /** No agent answers at the configured control address (commands with an offline path fall back to it). */
    static final class Unreachable extends IllegalStateException {
        Unreachable(String message, Throwable cause) {
            super(message, cause);
        }
    }

    private final URI base;
    private final ControlToken token;
    private final HttpClient http;
    private final ObjectMapper json = new ObjectMapper();

    ControlClient(AgentConfig config) {
        String host = config.controlListen().host();
        if (host.equals("0.0.0.0") || host.equals("::") || host.isEmpty()) {
            host = "127.0.0.1";
        }
        if (config.controlListen().port() == 0) {
            throw new Unreachable("control.listen has port 0 (a free port picked at start), so the CLI cannot know"
                    + " where the agent listens; give the port with --set control.listen=HOST:PORT", null);
        }
        this.base = URI.create("https://" + (host.contains(":") ? "[" + host + "]" : host) + ":"
                + config.controlListen().port() + "/");
        try {
            this.token = ControlToken.read(config.controlTokenFile());
        } catch (NoSuchFileException e) {
            throw new Unreachable("no control token at " + config.controlTokenFile() + ": the agent has not been"
                    + " started with this configuration", e);
        } catch (IOException e) {
            throw new IllegalStateException("cannot read the control token " + config.controlTokenFile() + " ("
                    + e.getMessage() + "): is the agent started with this configuration, and are you its user"
                    + " or root?", e);
        }
        try {
            this.http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5))
                    .sslContext(PinnedTrust.pinnedFile(config.stateDir().resolve(AgentIdentity.CERT_FILE))).build();
        } catch (NoSuchFileException e) {
            throw new Unreachable("no agent certificate in " + config.stateDir() + " (state.dir): the agent has not"
                    + " been started with this configuration", e);
        } catch (IOException | GeneralSecurityException e) {
            throw new IllegalStateException("cannot read the agent certificate in " + config.stateDir() + ": "
                    + e.getMessage(), e);
        }
    }

    /** A GET answered with JSON (any status); the status code is in {@code [0]}. */
    Response get(String path) {
        return send(HttpRequest.newBuilder(base.resolve(path)).GET());
    }

    Response post(String path) {
        return send(HttpRequest.newBuilder(base.resolve(path)).POST(HttpRequest.BodyPublishers.noBody()));
    }

    /** A POST with a JSON body. */
    Response post(String path, Object body) {
        try {
            return send(HttpRequest.newBuilder(base.resolve(path)).header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofByteArray(json.writeValueAsBytes(body))));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot render the request", e);
        }
    }

    Response delete(String path) {
        return send(HttpRequest.newBuilder(base.resolve(path)).DELETE());
    }

    record Response(int status, JsonNode body) {
        /** The agent's error message, or the status when it sent none. */
        String error() {
            return body.path("error").asText("HTTP " + status);
        }
    }

    private Response send(HttpRequest.Builder b) {
        HttpRequest request = b.timeout(Duration.ofMinutes(6)).header("Authorization", "Bearer " + token.text()).build();
        try {
            HttpResponse<byte[]> r = http.send(request, HttpResponse.BodyHandlers.ofByteArray());
            return new Response(r.statusCode(), json.readTree(r.body()));
        } catch (ConnectException | HttpConnectTimeoutException e) {
            throw new Unreachable("cannot reach the agent's control API at " + base + " (" + e
                    + "): is 'mtagent run' running with this configuration?", e);
        } catch (IOException e) {
            throw new IllegalStateException("cannot reach the agent's control API at " + base + " (" + e
                    + "): is 'mtagent run' running with this configuration?", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }
}
