package io.mtagent.agent.control;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.mtagent.agent.config.DiskConfig;
import java.io.IOException;
import java.net.InetAddress;
import java.net.NetworkInterface;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;
import java.util.logging.Logger;
import javax.net.ssl.SSLContext;

/**
 * Registers the agent with the configuration server and sends heartbeats with the {@code /status} document
 * (HTTPS, JDK {@code HttpClient}).
 *
 * <p>Protocol: {@code POST <url>/v1/agents/register} with the host name, addresses, OS, version, certificate
 * fingerprint and disks, then every {@code heartbeat.interval} {@code POST <url>/v1/agents/<name>/heartbeat} with
 * {@code {"status": ..., "settingsResult": {...}}}. An answer may carry {@code {"settings": {key: value}}}; each
 * is validated through the configuration key table and applied if runtime-changeable
 * ({@link RuntimeSettings}); what was applied or refused (with the reason) goes out with the next heartbeat.
 * While the server is unreachable the client backs off exponentially with full jitter, capped at 5 minutes, and
 * registers again when it comes back.
 *
 * <p>Runs on its own daemon thread and touches replication only by reading status: it never blocks it.
 */
public final class HeartbeatClient implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(HeartbeatClient.class.getName());
    static final Duration MAX_BACKOFF = Duration.ofMinutes(5);
    private static final Duration TIMEOUT = Duration.ofSeconds(10);

    private final ControlledAgent agent;
    private final StatusReport report;
    private final RuntimeSettings settings;
    private final URI base;
    private final Duration interval;
    private final HttpClient http;
    private final ObjectMapper json = new ObjectMapper();
    private final Thread thread;
    private final AtomicLong heartbeatsSent = new AtomicLong();
    private final AtomicLong failures = new AtomicLong();
    private volatile boolean stopped;
    private Map<String, Object> pendingResult = Map.of();

    public HeartbeatClient(ControlledAgent agent, StatusReport report, RuntimeSettings settings, SSLContext tls) {
        this.agent = agent;
        this.report = report;
        this.settings = settings;
        String url = agent.config().configServerUrl();
        this.base = URI.create(url.endsWith("/") ? url : url + "/");
        this.interval = agent.config().heartbeatInterval();
        this.http = HttpClient.newBuilder().sslContext(tls).connectTimeout(TIMEOUT).build();
        this.thread = new Thread(this::loop, "heartbeat");
        this.thread.setDaemon(true);
    }

    public void start() {
        thread.start();
    }

    public long heartbeatsSent() {
        return heartbeatsSent.get();
    }

    public long failures() {
        return failures.get();
    }

    private void loop() {
        boolean registered = false;
        int failed = 0;
        while (!stopped) {
            try {
                if (!registered) {
                    post(base.resolve("v1/agents/register"), registration());
                    registered = true;
                    LOG.info(() -> "registered with the configuration server " + base);
                }
                Map<String, Object> beat = new LinkedHashMap<>();
                beat.put("status", report.status());
                beat.put("settingsResult", pendingResult);
                JsonNode answer = post(base.resolve("v1/agents/" + agent.config().agentName() + "/heartbeat"), beat);
                heartbeatsSent.incrementAndGet();
                pendingResult = applySettings(answer);
                if (failed > 0) {
                    LOG.info(() -> "the configuration server " + base + " answers again");
                }
                failed = 0;
                sleep(interval.toMillis());
            } catch (InterruptedException e) {
                return;
            } catch (Exception e) {
                failures.incrementAndGet();
                registered = false; // it may have lost us (restart): register again when it is back
                failed++;
                long cap = Math.min(MAX_BACKOFF.toMillis(), interval.toMillis() << Math.min(failed, 20));
                long wait = Math.max(interval.toMillis() / 2, ThreadLocalRandom.current().nextLong(cap + 1));
                if (failed == 1 || failed % 10 == 0) {
                    LOG.warning("the configuration server " + base + " is unreachable (" + e.getMessage()
                            + "); retrying with back-off (next in " + wait + " ms). Replication is not affected.");
                }
                try {
                    sleep(wait);
                } catch (InterruptedException ie) {
                    return;
                }
            }
        }
    }

    private static void sleep(long millis) throws InterruptedException {
        Thread.sleep(millis);
    }

    private Map<String, Object> applySettings(JsonNode answer) {
        JsonNode s = answer == null ? null : answer.get("settings");
        if (s == null || !s.isObject() || s.isEmpty()) {
            return Map.of();
        }
        Map<String, String> wanted = new LinkedHashMap<>();
        s.fields().forEachRemaining(e -> wanted.put(e.getKey(), e.getValue().asText()));
        RuntimeSettings.Result r = settings.apply(wanted);
        if (!r.applied().isEmpty()) {
            LOG.info(() -> "configuration server changed settings: " + r.applied());
        }
        if (!r.refused().isEmpty()) {
            LOG.warning(() -> "configuration server settings refused: " + r.refused());
        }
        Map<String, Object> result = new LinkedHashMap<>();
        result.put("applied", r.applied());
        result.put("refused", r.refused());
        return result;
    }

    private Map<String, Object> registration() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("name", agent.config().agentName());
        String host;
        try {
            host = InetAddress.getLocalHost().getHostName();
        } catch (IOException e) {
            host = agent.config().agentName();
        }
        m.put("hostName", host);
        m.put("addresses", addresses());
        m.put("os", System.getProperty("os.name") + " " + System.getProperty("os.version") + " "
                + System.getProperty("os.arch"));
        m.put("version", StatusReport.version());
        m.put("certificateFingerprint", agent.identity().fingerprintText());
        m.put("dataAddress", agent.dataAddress().toString());
        m.put("controlAddress", agent.controlAddress() == null ? null : agent.controlAddress().toString());
        List<Map<String, Object>> disks = new ArrayList<>();
        for (DiskConfig d : agent.disks().declared()) {
            disks.add(Map.of("id", d.id(), "name", d.name(), "path", d.path().toString()));
        }
        m.put("disks", disks);
        m.put("retentionVolumes", List.of()); // eligible retention volumes arrive with the retention issue
        return m;
    }

    private static List<String> addresses() {
        List<String> list = new ArrayList<>();
        try {
            for (NetworkInterface ni : Collections.list(NetworkInterface.getNetworkInterfaces())) {
                if (ni.isUp() && !ni.isLoopback()) {
                    ni.inetAddresses().forEach(a -> list.add(a.getHostAddress()));
                }
            }
        } catch (IOException e) {
            LOG.fine(() -> "cannot list network interfaces: " + e);
        }
        return list;
    }

    private JsonNode post(URI uri, Object body) throws Exception {
        HttpRequest request = HttpRequest.newBuilder(uri).timeout(TIMEOUT)
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofByteArray(json.writeValueAsBytes(body))).build();
        HttpResponse<byte[]> response = http.send(request, HttpResponse.BodyHandlers.ofByteArray());
        if (response.statusCode() / 100 != 2) {
            throw new IOException(uri + " answered HTTP " + response.statusCode());
        }
        byte[] b = response.body();
        if (b == null || b.length == 0) {
            return null;
        }
        if (b.length > 1 << 20) {
            throw new IOException(uri + " answered with " + b.length + " bytes; at most 1 MiB is read");
        }
        return json.readTree(b);
    }

    @Override
    public void close() {
        stopped = true;
        thread.interrupt();
    }
}
