package io.mtagent.agent.control;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.mtagent.agent.Agent;
import io.mtagent.agent.TestAgents;
import io.mtagent.agent.cli.Captured;
import io.mtagent.agent.config.AgentConfig;
import io.mtagent.agent.disk.TargetOpener;
import io.mtagent.agent.ingest.ForwardingBlockDevice;
import io.mtagent.protocol.client.DiskStream;
import io.mtagent.protocol.client.ReplicationClient;
import java.io.IOException;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The CLI over the control API's jobs and NBD exports: {@code jobs} lists, {@code jobs cancel} stops a running
 * export (its partial file removed, the disk free again), a finished job or a recover cannot be cancelled, and
 * {@code nbd --list} shows what is served; every {@code --json} document starts with the format version.
 */
class JobsAndNbdCliTest {
    private static final int DISK_BYTES = 16 << 20;

    @TempDir
    Path dir;

    /** While set, the target reads at 1 MiB/s, so an export of it runs for seconds. */
    private static volatile boolean slow;

    /** A target that reads slowly while {@link #slow} is set. */
    static final class SlowReads extends ForwardingBlockDevice {
        SlowReads(io.mtagent.nativeio.BlockDevice inner) {
            super(inner);
        }

        @Override
        public void read(long offset, ByteBuffer dst) throws IOException {
            try {
                Thread.sleep(slow ? Math.max(1, dst.remaining() >> 10) : 0); // 1 ms per KiB
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted", e);
            }
            super.read(offset, dst);
        }
    }

    @Test
    void jobsAreListedAndAnExportIsCancelledAndNbdExportsAreListed() throws Exception {
        Map<String, String> s = TestAgents.settingsWithRetention(dir, 1, DISK_BYTES);
        AgentConfig config = AgentConfig.of(s);
        TestAgents.setPassphrase(config.stateDir());
        TargetOpener opener = d -> new SlowReads(TargetOpener.NATIVE.open(d));
        try (Agent agent = Agent.start(config, new SimpleMeterRegistry(), line -> { }, opener);
             ReplicationClient client = ReplicationClient.connect(TestAgents.client(agent)
                     .pinnedFingerprint(agent.identity().fingerprintText()).build())) {
            DiskStream d = client.openDisk("disk-0", 1);
            d.awaitAcked(d.write(0, new byte[65536]), Duration.ofSeconds(10));
            TestAgents.awaitApplied(agent, Duration.ofSeconds(10));
            s.put("control.listen", "127.0.0.1:" + agent.controlAddress().getPort());
            Path conf = TestAgents.writeConfig(dir.resolve("cli.properties"), s);
            String[] cfg = {"--config", conf.toString()};
            ControlHttp c = new ControlHttp(agent);
            String auth = "Bearer " + c.token;
            Path out = Files.createDirectories(dir.resolve("out")).resolve("disk-0.raw");

            slow = true;
            HttpResponse<String> started = c.send("POST", "/v1/export", auth,
                    "{\"disk\":\"disk-0\",\"point\":\"latest\",\"out\":\"" + out + "\"}");
            assertThat(started.statusCode()).as(started.body()).isEqualTo(202);
            String job = ControlHttp.json(started).path("job").asText();

            Captured listed = Captured.run(with(cfg, "jobs", "--json"));
            assertThat(listed.code()).as(listed.err()).isZero();
            JsonNode doc = new ObjectMapper().readTree(listed.out());
            assertThat(doc.path("version").asInt()).isEqualTo(1);
            JsonNode running = doc.path("jobs").get(0);
            assertThat(running.path("id").asText()).isEqualTo(job);
            assertThat(running.path("state").asText()).isEqualTo("running");
            assertThat(running.path("cancellable").asBoolean()).isTrue();
            Captured table = Captured.run(with(cfg, "jobs"));
            assertThat(table.out()).contains("JOB", job, "export", "running", "disk-0");

            Captured cancel = Captured.run(with(cfg, "jobs", "cancel", job));
            assertThat(cancel.code()).as(cancel.err()).isZero();
            assertThat(cancel.out()).contains("job " + job + ": cancelled");
            JsonNode ended = ControlHttp.json(c.send("GET", "/v1/jobs/" + job, auth, null));
            assertThat(ended.path("state").asText()).isEqualTo("cancelled");
            assertThat(ended.path("progress").path("done").asLong()).isLessThan(DISK_BYTES);
            assertThat(out).doesNotExist();
            assertThat(out.resolveSibling("disk-0.raw.partial")).doesNotExist();
            Captured again = Captured.run(with(cfg, "jobs", "cancel", job));
            assertThat(again.code()).isEqualTo(2);
            assertThat(again.err()).contains("has already ended (cancelled)");
            // The disk is free again: a new export of it runs (and is watched to its end).
            slow = false;
            HttpResponse<String> second = c.send("POST", "/v1/export", auth,
                    "{\"disk\":\"disk-0\",\"point\":\"latest\",\"out\":\"" + out + "\"}");
            assertThat(second.statusCode()).as(second.body()).isEqualTo(202);
            Captured watch = Captured.run(with(cfg, "jobs", "watch", ControlHttp.json(second).path("job").asText()));
            assertThat(watch.code()).as(watch.err()).isZero();
            assertThat(Files.size(out)).isEqualTo(DISK_BYTES);

            // NBD: what is served is listed, as a table and as JSON.
            assertThat(Captured.run(with(cfg, "nbd", "--disk", "d0", "--point", "latest")).code()).isZero();
            Captured nbd = Captured.run(with(cfg, "nbd", "--list", "--json"));
            JsonNode exports = new ObjectMapper().readTree(nbd.out());
            assertThat(exports.path("version").asInt()).isEqualTo(1);
            String name = exports.path("exports").get(0).path("name").asText();
            assertThat(name).startsWith("disk-0@");
            assertThat(Captured.run(with(cfg, "nbd", "--list")).out()).contains("EXPORT", name, "READERS");
            assertThat(Captured.run(with(cfg, "nbd", "--stop", name)).code()).isZero();
            await().atMost(Duration.ofSeconds(10)).until(() -> Captured.run(with(cfg, "nbd", "--list")).out()
                    .contains("nothing is served"));

            // Every --json document of the control commands carries the format version.
            for (String[] cmd : new String[][] {{"status", "--json"}, {"replicas", "--json"},
                {"points", "--disk", "disk-0", "--json"}}) {
                Captured r = Captured.run(with(cfg, cmd));
                assertThat(new ObjectMapper().readTree(r.out()).path("version").asInt()).as(String.join(" ", cmd))
                        .isEqualTo(1);
            }
            Captured plan = Captured.run(with(cfg, "recover", "--disk", "d0", "--to", "latest", "--dry-run", "--json"));
            assertThat(plan.code()).as(plan.err()).isZero();
            JsonNode planned = new ObjectMapper().readTree(plan.out());
            assertThat(planned.path("version").asInt()).isEqualTo(1);
            assertThat(planned.path("plan").get(0).path("disk").asText()).isEqualTo("disk-0");
            assertThat(planned.path("plan").get(0).path("seq").asLong()).isEqualTo(agent.disks().byId("disk-0")
                    .lastDurableSeq());
        }
    }

    private static String[] with(String[] config, String... args) {
        String[] all = new String[args.length + config.length];
        System.arraycopy(args, 0, all, 0, args.length);
        System.arraycopy(config, 0, all, args.length, config.length);
        return all;
    }
}
