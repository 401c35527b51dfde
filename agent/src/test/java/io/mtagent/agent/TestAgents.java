package io.mtagent.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.mtagent.agent.config.AgentConfig;
import io.mtagent.agent.disk.ReplicatedDisk;
import io.mtagent.agent.security.PassphraseStore;
import io.mtagent.protocol.client.ClientOptions;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;

/** Builds real agents for tests: small file-backed disks in a temp dir, ephemeral port, TLS on. */
public final class TestAgents {
    public static final String PASSPHRASE = "correct horse battery staple";
    /** The lowest iteration count the protocol allows: keeps tests fast, the agent code path is the same. */
    public static final int ITERATIONS = 10_000;

    private TestAgents() {
    }

    /** Settings for {@code disks} disks named disk-0.. of {@code diskBytes} each, under {@code dir}. */
    public static Map<String, String> settings(Path dir, int disks, long diskBytes) {
        Map<String, String> s = new LinkedHashMap<>();
        s.put("data.listen", "127.0.0.1:0");
        s.put("control.listen", "127.0.0.1:0");
        s.put("state.dir", dir.resolve("state").toString());
        s.put("cache.dir", dir.resolve("cache").toString());
        s.put("export.dirs", dir.resolve("out").toString());
        s.put("ingest.segment.bytes", "2MiB");
        s.put("ingest.commit.max.bytes", "1MiB");
        s.put("auth.iterations", String.valueOf(ITERATIONS));
        s.put("retention.allow.shared.volume", "true"); // tests keep everything in one temp dir on purpose
        for (int i = 0; i < disks; i++) {
            s.put("disk.d" + i + ".id", "disk-" + i);
            s.put("disk.d" + i + ".path", dir.resolve("targets").resolve("disk-" + i + ".img").toString());
            s.put("disk.d" + i + ".size", String.valueOf(diskBytes));
        }
        return s;
    }

    /** {@link #settings} with the retention journal on, in {@code dir}/retention. */
    public static Map<String, String> settingsWithRetention(Path dir, int disks, long diskBytes) {
        Map<String, String> s = settings(dir, disks, diskBytes);
        s.put("retention.dir", dir.resolve("retention").toString());
        return s;
    }

    /** Writes {@code settings} as the agent's properties file (backslashes escaped, as Properties reads them). */
    public static Path writeConfig(Path file, Map<String, String> settings) throws java.io.IOException {
        StringBuilder text = new StringBuilder();
        settings.forEach((k, v) -> text.append(k).append('=').append(v.replace("\\", "\\\\")).append('\n'));
        return java.nio.file.Files.writeString(file, text, java.nio.charset.StandardCharsets.UTF_8);
    }

    public static void setPassphrase(Path stateDir) throws Exception {
        Files.createDirectories(stateDir);
        PassphraseStore.set(stateDir, PASSPHRASE.toCharArray(), ITERATIONS);
    }

    /** Sets the passphrase (if not yet) and starts an in-process agent. */
    public static Agent start(Map<String, String> settings) throws Exception {
        AgentConfig config = AgentConfig.of(settings);
        if (PassphraseStore.load(config.stateDir()).isEmpty()) {
            setPassphrase(config.stateDir());
        }
        return start(config, new SimpleMeterRegistry());
    }

    /** Starts an agent from a loaded configuration with the given meter registry (sets the passphrase if not yet). */
    public static Agent start(AgentConfig config, io.micrometer.core.instrument.MeterRegistry registry) throws Exception {
        if (PassphraseStore.load(config.stateDir()).isEmpty()) {
            setPassphrase(config.stateDir());
        }
        Agent agent = Agent.start(config, registry, line -> { });
        agent.onClose(() -> MetricSamples.assertNoNaN(registry)); // the suite-wide check, on every test agent
        return agent;
    }

    public static ClientOptions.Builder client(Agent agent) {
        return ClientOptions.builder("127.0.0.1", agent.dataAddress().getPort())
                .passphrase(PASSPHRASE.toCharArray()).clientName("test");
    }

    /** Waits until every disk applied everything durable. */
    public static void awaitApplied(Agent agent, Duration timeout) throws InterruptedException {
        await().atMost(timeout).pollInterval(Duration.ofMillis(10)).untilAsserted(() -> {
            for (ReplicatedDisk d : agent.disks().all()) {
                assertThat(d.appliedSeq()).as("disk %s applied of %d", d.id(), d.lastDurableSeq())
                        .isGreaterThanOrEqualTo(d.lastDurableSeq());
            }
        });
    }

    public static Path target(Path dir, int disk) {
        return dir.resolve("targets").resolve("disk-" + disk + ".img");
    }
}
