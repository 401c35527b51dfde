package io.mtagent.agent.server;

import io.mtagent.protocol.ErrorCode;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Metrics of the 9443 data server, built from an injected registry (a {@code SimpleMeterRegistry} or the
 * Prometheus one). Thread-safe: Micrometer meters are.
 */
public final class DataServerStats {
    final Counter authFailures;
    final Counter authSuccesses;
    final Counter plaintextRefused;
    final Counter handshakeFailures;
    final Counter bytesReceived;
    final Counter writesReceived;
    final Counter tagsReceived;
    final AtomicInteger sessions = new AtomicInteger();
    final Timer ackLatency;
    private final Map<ErrorCode, Counter> rejected = new EnumMap<>(ErrorCode.class);

    /** Buckets of the ACK latency histogram (seconds): explicit and few, group commit wait plus fdatasync. */
    static final Duration[] ACK_BUCKETS = {Duration.ofMillis(1), Duration.ofNanos(2_500_000), Duration.ofMillis(5),
        Duration.ofMillis(10), Duration.ofMillis(25), Duration.ofMillis(50), Duration.ofMillis(100),
        Duration.ofMillis(250), Duration.ofSeconds(1), Duration.ofSeconds(5)};

    public DataServerStats(MeterRegistry registry) {
        authFailures = Counter.builder("mtagent.data.auth.failures")
                .description("Failed passphrase proofs of process servers on the data port (a wrong passphrase,"
                        + " or someone guessing)").register(registry);
        authSuccesses = Counter.builder("mtagent.data.auth.successes").description("Authenticated sessions")
                .register(registry);
        plaintextRefused = Counter.builder("mtagent.data.plaintext.refused")
                .description("Connections refused because they did not start TLS").register(registry);
        handshakeFailures = Counter.builder("mtagent.data.tls.handshake.failures")
                .description("TLS handshakes on the data port that failed (a process server that does not trust"
                        + " the agent's certificate, or a broken client)").register(registry);
        bytesReceived = Counter.builder("mtagent.data.received").baseUnit("bytes")
                .description("Uncompressed write bytes accepted into ingest logs").register(registry);
        writesReceived = Counter.builder("mtagent.data.received.writes").description("WRITE frames accepted")
                .register(registry);
        tagsReceived = Counter.builder("mtagent.data.received.tags").description("TAG frames accepted")
                .register(registry);
        Gauge.builder("mtagent.data.connections", sessions, AtomicInteger::get)
                .description("Open process-server connections on the data port").register(registry);
        ackLatency = Timer.builder("mtagent.data.ack.latency")
                .description("Time from a record accepted into the ingest log to its ACK being sent (group commit"
                        + " wait plus fdatasync)")
                .serviceLevelObjectives(ACK_BUCKETS).register(registry);
        for (ErrorCode c : ErrorCode.values()) {
            rejected.put(c, Counter.builder("mtagent.data.frames.rejected").tag("reason", c.name().toLowerCase())
                    .description("Frames refused with an ERROR, by reason").register(registry));
        }
    }

    void rejected(ErrorCode code) {
        rejected.get(code).increment();
    }

    public double rejectedCount(ErrorCode code) {
        return rejected.get(code).count();
    }

    public long ackCount() {
        return ackLatency.count();
    }

    public double authFailures() {
        return authFailures.count();
    }
}
