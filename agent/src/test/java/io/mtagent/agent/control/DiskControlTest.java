package io.mtagent.agent.control;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.mtagent.agent.Agent;
import io.mtagent.agent.TestAgents;
import io.mtagent.agent.apply.Applier.Hold;
import io.mtagent.agent.cli.MtAgentCli;
import io.mtagent.agent.config.AgentConfig;
import io.mtagent.agent.disk.ReplicatedDisk;
import io.mtagent.agent.disk.TargetOpener;
import io.mtagent.nativeio.BlockDeviceOptions;
import io.mtagent.nativeio.Errno;
import io.mtagent.nativeio.LinuxBlockDevice;
import io.mtagent.nativeio.NativeIOException;
import io.mtagent.nativeio.NativeIOImpl;
import io.mtagent.protocol.DiskState;
import io.mtagent.protocol.client.DiskStream;
import io.mtagent.protocol.client.ReplicationClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The control API's disk operations: releases that wait run as jobs while /health, /metrics and the other calls
 * answer at once; a failed disk returns to service after a repair (clear-failure); attach says whether the target
 * was written outside the agent.
 */
class DiskControlTest {
    private static final int DISK = 4 << 20;

    @TempDir
    Path dir;

    private static String[] concat(String[] a, String[] b) {
        String[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    /** Polls a job until it reaches {@code state} (done or failed); returns its document. */
    static JsonNode awaitJob(ControlHttp c, String job, String state) {
        JsonNode[] last = new JsonNode[1];
        Awaitility.await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(50)).until(() -> {
            last[0] = ControlHttp.json(c.get("/v1/jobs/" + job));
            return !last[0].path("state").asText().equals("running");
        });
        assertThat(last[0].path("state").asText()).as(last[0].toString()).isEqualTo(state);
        return last[0];
    }

    @Test
    void releasesOfPausedDisksWaitAsJobsWhileHealthMetricsAndResumeAnswerAtOnce() throws Exception {
        PrometheusMeterRegistry prometheus = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        TestAgents.setPassphrase(dir.resolve("state"));
        try (Agent agent = TestAgents.start(AgentConfig.of(TestAgents.settings(dir, 2, DISK)), prometheus);
             ReplicationClient client = ReplicationClient.connect(TestAgents.client(agent).build())) {
            ControlHttp c = new ControlHttp(agent);
            List<DiskStream> streams = List.of(client.openDisk("disk-0", 1), client.openDisk("disk-1", 1));
            for (String id : List.of("disk-0", "disk-1")) {
                assertThat(c.post("/v1/disks/" + id + "/pause").statusCode()).isEqualTo(200);
            }
            for (DiskStream s : streams) {
                long seq = 0;
                for (int i = 0; i < 20; i++) {
                    seq = s.write(i * 4096L, new byte[4096]);
                }
                s.awaitAcked(seq, Duration.ofSeconds(10));
            }
            // Two releases (asynchronous: with the old synchronous release each held a control worker).
            List<CompletableFuture<HttpResponse<String>>> releases = new ArrayList<>();
            for (String id : List.of("disk-0", "disk-1")) {
                releases.add(c.http.sendAsync(HttpRequest.newBuilder(c.uri("/v1/disks/" + id + "/release"))
                        .POST(HttpRequest.BodyPublishers.noBody()).header("Authorization", "Bearer " + c.token)
                        .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString()));
            }
            Awaitility.await("both releases reached the agent").atMost(Duration.ofSeconds(10)).until(() ->
                    agent.disks().byId("disk-0").releasing() && agent.disks().byId("disk-1").releasing());
            for (int i = 0; i < 5; i++) {
                for (String path : List.of("/health", "/metrics", "/status", "/v1/jobs")) {
                    long start = System.nanoTime();
                    HttpResponse<String> r = c.http.send(HttpRequest.newBuilder(c.uri(path))
                            .header("Authorization", "Bearer " + c.token).timeout(Duration.ofSeconds(5)).build(),
                            HttpResponse.BodyHandlers.ofString());
                    long millis = (System.nanoTime() - start) / 1_000_000;
                    assertThat(r.statusCode()).as(path).isIn(200, 503);
                    assertThat(millis).as("%s answered in %d ms while two releases wait", path, millis).isLessThan(1000);
                }
            }
            List<String> jobs = new ArrayList<>();
            for (CompletableFuture<HttpResponse<String>> f : releases) {
                HttpResponse<String> r = f.get();
                assertThat(r.statusCode()).as(r.body()).isEqualTo(202);
                jobs.add(ControlHttp.json(r).path("job").asText());
            }
            assertThat(c.post("/v1/disks/disk-0/release").statusCode()).as("a second release of a busy disk")
                    .isEqualTo(409);
            assertThat(ControlHttp.json(c.get("/v1/jobs/" + jobs.get(0))).path("state").asText()).isEqualTo("running");
            // Resuming lets each release finish.
            for (String id : List.of("disk-0", "disk-1")) {
                long start = System.nanoTime();
                assertThat(c.post("/v1/disks/" + id + "/resume").statusCode()).isEqualTo(200);
                assertThat((System.nanoTime() - start) / 1_000_000).isLessThan(1000);
            }
            for (String job : jobs) {
                awaitJob(c, job, "done");
            }
            assertThat(agent.disks().byId("disk-0")).isNull();
            assertThat(agent.disks().byId("disk-1")).isNull();

            // Attach must say whether the target was written while released.
            HttpResponse<String> unsaid = c.post("/v1/disks/disk-0/attach");
            assertThat(unsaid.statusCode()).isEqualTo(400);
            assertThat(unsaid.body()).contains("written").contains("--written-outside");
            HttpResponse<String> written = c.send("POST", "/v1/disks/disk-1/attach", "Bearer " + c.token,
                    "{\"written\": true}");
            assertThat(written.statusCode()).as(written.body()).isEqualTo(200);
            assertThat(ControlHttp.json(written).path("state").asText()).isEqualTo("needs-resync");
            HttpResponse<String> unchanged = c.send("POST", "/v1/disks/disk-0/attach", "Bearer " + c.token,
                    "{\"written\": false}");
            assertThat(ControlHttp.json(unchanged).path("state").asText()).isEqualTo("protected");
        }
    }

    @Test
    void aReleasedDiskStaysReleasedAcrossARestartUntilAttached() throws Exception {
        Map<String, String> settings = TestAgents.settings(dir, 2, DISK);
        Path file = ControlHttp.writeProperties(dir.resolve("mtagent.properties"), settings);
        try (Agent agent = TestAgents.start(AgentConfig.load(file, Map.of()),
                new PrometheusMeterRegistry(PrometheusConfig.DEFAULT))) {
            String[] cli = {"--config", file.toString(), "--set", "control.listen=127.0.0.1:"
                    + agent.controlAddress().getPort()};
            assertThat(MtAgentCli.execute(concat(new String[] {"disk", "release", "--disk", "disk-0"}, cli))).isZero();
            assertThat(agent.disks().isReleased("disk-0")).isTrue();
            assertThat(MtAgentCli.execute(concat(new String[] {"disk", "attach", "--disk", "disk-0"}, cli)))
                    .as("attach must say what happened to the target").isNotZero();
            assertThat(MtAgentCli.execute(concat(new String[] {"disk", "clear-failure", "--disk", "disk-1"}, cli)))
                    .as("disk-1 is not failed").isEqualTo(2);
        }
        try (Agent agent = TestAgents.start(settings)) {
            assertThat(agent.disks().byId("disk-0")).as("the hypervisor may have given it to a machine").isNull();
            assertThat(agent.disks().isReleased("disk-0")).isTrue();
            assertThat(agent.disks().byId("disk-1")).isNotNull();
            ControlHttp c = new ControlHttp(agent);
            assertThat(c.send("POST", "/v1/disks/disk-0/attach", "Bearer " + c.token, "{\"written\": false}")
                    .statusCode()).isEqualTo(200);
        }
        try (Agent agent = TestAgents.start(settings)) {
            assertThat(agent.disks().byId("disk-0")).as("attached, it opens at start again").isNotNull();
        }
    }

    @Test
    void aFailedDiskReturnsToServiceWithClearFailureAfterTheRepair() throws Exception {
        assumeTrue(NativeIOImpl.available(), "needs the Linux native I/O path");
        AtomicBoolean broken = new AtomicBoolean();
        NativeIOImpl eioWhenBroken = new NativeIOImpl() {
            @Override
            public long pwrite(int fd, ByteBuffer buf, int count, long offset) throws NativeIOException {
                if (broken.get()) {
                    throw new NativeIOException("pwrite", Errno.EIO, "injected");
                }
                return super.pwrite(fd, buf, count, offset);
            }
        };
        TargetOpener opener = d -> d.id().equals("disk-0")
                ? LinuxBlockDevice.open(d.path(), BlockDeviceOptions.defaults().withCreateSize(d.sizeBytes()), eioWhenBroken)
                : TargetOpener.NATIVE.open(d);
        Map<String, String> s = TestAgents.settings(dir, 2, DISK);
        TestAgents.setPassphrase(dir.resolve("state"));
        byte[] model = new byte[DISK];
        SplittableRandom r = new SplittableRandom(9);
        try (Agent agent = Agent.start(AgentConfig.of(s), new PrometheusMeterRegistry(PrometheusConfig.DEFAULT),
                line -> { }, opener);
             ReplicationClient client = ReplicationClient.connect(TestAgents.client(agent).build())) {
            ControlHttp c = new ControlHttp(agent);
            DiskStream d0 = client.openDisk("disk-0", 1);
            ReplicatedDisk disk = agent.disks().byId("disk-0");
            disk.applyControl().hold(Hold.OPERATOR);
            long seq = 0;
            for (int i = 0; i < 30; i++) {
                byte[] data = new byte[4096];
                r.nextBytes(data);
                long off = 4096L * r.nextInt(DISK / 4096);
                seq = d0.write(off, data);
                System.arraycopy(data, 0, model, (int) off, data.length);
            }
            d0.awaitAcked(seq, Duration.ofSeconds(10));
            broken.set(true);
            disk.applyControl().resume(Hold.OPERATOR);
            Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> disk.state() == DiskState.FAILED);

            // Resume does not pretend: it names the command that does.
            HttpResponse<String> resume = c.post("/v1/disks/disk-0/resume");
            assertThat(resume.statusCode()).isEqualTo(409);
            assertThat(resume.body()).contains("clear-failure");
            // Not repaired yet: the check fails and the disk stays failed, with the reason.
            JsonNode still = awaitJob(c, ControlHttp.json(c.post("/v1/disks/disk-0/clear-failure")).path("job").asText(),
                    "failed");
            assertThat(still.path("error").asText()).contains("still failed").contains("EIO");
            assertThat(agent.disks().byId("disk-0").state()).isEqualTo(DiskState.FAILED);

            broken.set(false); // the repair
            JsonNode done = awaitJob(c, ControlHttp.json(c.post("/v1/disks/disk-0/clear-failure")).path("job").asText(),
                    "done");
            assertThat(done.path("result").path("state").asText()).isEqualTo("protected");
            ReplicatedDisk back = agent.disks().byId("disk-0");
            Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> back.appliedSeq() == back.lastDurableSeq());
            assertThat(Files.readAllBytes(TestAgents.target(dir, 0))).as("every acked write applied after the repair")
                    .isEqualTo(model);
            assertThat(ControlHttp.json(c.get("/health")).toString()).doesNotContain("MT-2001");
            // Replication goes on.
            DiskStream again = client.openDisk("disk-0", 2);
            assertThat(again.state()).isEqualTo(DiskState.PROTECTED);
            again.awaitAcked(again.write(0, new byte[4096]), Duration.ofSeconds(10));
        }
    }
}
