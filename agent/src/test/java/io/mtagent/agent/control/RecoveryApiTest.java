package io.mtagent.agent.control;

import static org.awaitility.Awaitility.await;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.mtagent.agent.Agent;
import io.mtagent.agent.TestAgents;
import io.mtagent.agent.cli.MtAgentCli;
import io.mtagent.agent.config.AgentConfig;
import io.mtagent.agent.sim.DiskModel;
import io.mtagent.protocol.TagType;
import io.mtagent.protocol.client.DiskStream;
import io.mtagent.protocol.client.ReplicationClient;
import io.netty.buffer.Unpooled;
import java.io.File;
import java.io.InputStream;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The recovery operations through the real TLS control server and the CLI in-process: points of a disk and a
 * group, recover of a group to a group point and commit, export jobs, busy disks, refusals, NBD views, and the
 * retention fields and job progress in /status.
 */
class RecoveryApiTest {
    private static final int DISK_BYTES = 1 << 20;
    private static final Duration WAIT = Duration.ofSeconds(30);

    @TempDir
    Path dir;

    private final io.mtagent.agent.GroupWorkload workload = new io.mtagent.agent.GroupWorkload(DISK_BYTES);
    private Path file;

    private AgentConfig config() throws Exception {
        return config(Map.of());
    }

    private AgentConfig config(Map<String, String> extra) throws Exception {
        Map<String, String> s = TestAgents.settings(dir, 2, DISK_BYTES);
        s.putAll(extra);
        s.put("retention.dir", dir.resolve("retention").toString());
        s.put("disk.d0.group", "g");
        s.put("disk.d1.group", "g");
        file = ControlHttp.writeProperties(dir.resolve("mtagent.properties"), s);
        return AgentConfig.load(file, Map.of());
    }

    /** CLI arguments: the command, then the config file and the agent's real control port. */
    private String[] cli(Agent agent, String... args) {
        List<String> all = new ArrayList<>(List.of(args));
        all.addAll(List.of("--config", file.toString(), "--set",
                "control.listen=127.0.0.1:" + agent.controlAddress().getPort()));
        return all.toArray(String[]::new);
    }


    private void assertTargets(List<byte[]> expected, String what) throws Exception {
        for (int d = 0; d < 2; d++) {
            assertThat(Arrays.mismatch(Files.readAllBytes(TestAgents.target(dir, d)), expected.get(d)))
                    .as("%s: disk-%d first differing byte", what, d).isEqualTo(-1);
        }
    }

    private static JsonNode awaitJob(ControlHttp c, String id) throws Exception {
        return await("job " + id + " ends").atMost(WAIT).pollInterval(Duration.ofMillis(20))
                .until(() -> ControlHttp.json(c.get("/v1/jobs/" + id)), job -> !job.path("state").asText().equals("running"));
    }

    /** Every recovery endpoint refuses a request without the right token. */
    @Test
    void recoveryEndpointsNeedTheToken() throws Exception {
        try (Agent agent = TestAgents.start(config(), new SimpleMeterRegistry());
             ReplicationClient client = ReplicationClient.connect(TestAgents.client(agent).build())) {
            workload.stream(agent, client, 20, 1);
            ControlHttp c = new ControlHttp(agent);
            for (String path : List.of("/v1/points?disk=disk-0", "/v1/jobs", "/v1/nbd")) {
                assertThat(c.send("GET", path, null, null).statusCode()).as(path).isEqualTo(401);
            }
            for (String path : List.of("/v1/recover", "/v1/commit", "/v1/export", "/v1/nbd")) {
                assertThat(c.send("POST", path, null, "{\"group\":\"g\",\"to\":\"latest\"}").statusCode())
                        .as(path).isEqualTo(401);
            }
            assertThat(c.send("DELETE", "/v1/nbd/x", "Bearer wrong", null).statusCode()).isEqualTo(401);

        }
    }

    /** The points of a disk (group tags, latest, earliest) and of its group, by the API and the CLI. */
    @Test
    void pointsOfADiskAndOfItsGroup() throws Exception {
        try (Agent agent = TestAgents.start(config(), new SimpleMeterRegistry());
             ReplicationClient client = ReplicationClient.connect(TestAgents.client(agent).build())) {
            workload.stream(agent, client, 100, 1);
            ControlHttp c = new ControlHttp(agent);
            List<String> names = new ArrayList<>(workload.groupImages.keySet());
            JsonNode disk = ControlHttp.json(c.get("/v1/points?disk=disk-0"));
            List<String> groupTags = new ArrayList<>();
            disk.path("points").forEach(p -> {
                if (p.path("kind").asText().equals("group")) {
                    groupTags.add(p.path("name").asText());
                }
            });
            assertThat(groupTags).containsExactlyElementsOf(names);
            JsonNode latest = null;
            for (JsonNode p : disk.path("points")) {
                if (p.path("kind").asText().equals("latest")) {
                    latest = p;
                }
            }
            assertThat(latest).isNotNull();
            assertThat(latest.path("seq").asLong()).isEqualTo(agent.disks().byId("disk-0").lastDurableSeq());
            assertThat(latest.path("time").asText()).endsWith("Z");
            assertThat(disk.path("earliest").path("seq").isNumber()).isTrue();
            assertThat(disk.path("group").asText()).isEqualTo("g");

            JsonNode group = ControlHttp.json(c.get("/v1/points?group=g"));
            assertThat(group.path("note").asText()).contains("crash-consistent only at group points");
            assertThat(group.path("points").size()).isEqualTo(names.size());
            JsonNode second = group.path("points").get(1);
            assertThat(second.path("name").asText()).isEqualTo(names.get(1));
            assertThat(second.path("seqs").path("disk-0").asLong()).isPositive();
            assertThat(second.path("seqs").path("disk-1").asLong()).isPositive();
            assertThat(group.path("earliest").has("disk-1")).isTrue();
            assertThat(MtAgentCli.execute(cli(agent, "points", "--disk", "disk-0"))).isZero();
            assertThat(MtAgentCli.execute(cli(agent, "points", "--group", "g", "--json"))).isZero();
            assertThat(MtAgentCli.execute(cli(agent, "points", "--group", "nope"))).isEqualTo(2);

        }
    }

    /** A recover the agent cannot do says why and touches nothing. */
    @Test
    void recoverRefusalsSayWhyAndTouchNothing() throws Exception {
        try (Agent agent = TestAgents.start(config(), new SimpleMeterRegistry());
             ReplicationClient client = ReplicationClient.connect(TestAgents.client(agent).build())) {
            workload.stream(agent, client, 20, 1);
            ControlHttp c = new ControlHttp(agent);
            // Refusals: a point the group does not hold (409), a malformed point (400), unknown group (404).
            HttpResponse<String> bad = c.send("POST", "/v1/recover", "Bearer " + c.token,
                    "{\"group\":\"g\",\"to\":\"no-such-point\"}");
            assertThat(bad.statusCode()).isEqualTo(409);
            assertThat(ControlHttp.json(bad).path("error").asText()).contains("no group point 'no-such-point'");
            assertThat(c.send("POST", "/v1/recover", "Bearer " + c.token, "{\"disk\":\"disk-0\",\"to\":\"tag:nope\"}")
                    .statusCode()).isEqualTo(409);
            // A bare word is a tag name (409: none held); a malformed time is 400.
            assertThat(c.send("POST", "/v1/recover", "Bearer " + c.token, "{\"disk\":\"disk-0\",\"to\":\"yesterday\"}")
                    .statusCode()).isEqualTo(409);
            assertThat(c.send("POST", "/v1/recover", "Bearer " + c.token,
                    "{\"disk\":\"disk-0\",\"to\":\"2026-13-45T10:00:00Z\"}").statusCode()).isEqualTo(400);
            assertThat(c.send("POST", "/v1/recover", "Bearer " + c.token, "{\"group\":\"x\",\"to\":\"latest\"}")
                    .statusCode()).isEqualTo(404);
            assertThat(c.send("POST", "/v1/recover", "Bearer " + c.token, "not json").statusCode()).isEqualTo(400);
            HttpResponse<String> notRecovering = c.send("POST", "/v1/commit", "Bearer " + c.token, "{\"group\":\"g\"}");
            assertThat(notRecovering.statusCode()).isEqualTo(409);
            assertThat(ControlHttp.json(notRecovering).path("error").asText()).contains("not being recovered");
            assertThat(agent.disks().byId("disk-0").state().label()).isEqualTo("protected"); // nothing was touched

        }
    }

    /** A group recovered through the CLI to a point, moved, back to latest, again, then committed: the targets
     * equal the model at each step. */
    @Test
    void recoverAGroupMoveUndoAndCommitThroughTheCli() throws Exception {
        try (Agent agent = TestAgents.start(config(), new SimpleMeterRegistry());
             ReplicationClient client = ReplicationClient.connect(TestAgents.client(agent).build())) {
            workload.stream(agent, client, 100, 1);
            ControlHttp c = new ControlHttp(agent);
            List<String> names = new ArrayList<>(workload.groupImages.keySet());
            JsonNode second = ControlHttp.json(c.get("/v1/points?group=g")).path("points").get(1);
            assertThat(MtAgentCli.execute(cli(agent, "recover", "--group", "g", "--to", names.get(1), "--yes"))).isZero();
            assertTargets(workload.groupImages.get(names.get(1)), "recovered to " + names.get(1));
            JsonNode status = ControlHttp.json(c.get("/status"));
            long seq0 = second.path("seqs").path("disk-0").asLong();
            JsonNode d0 = status.path("disks").get(0);
            assertThat(d0.path("state").asText()).isEqualTo("recovering");
            assertThat(d0.path("rollback").asText()).isEqualTo("at-point seq " + seq0);
            JsonNode jobs = status.path("jobs");
            assertThat(jobs.get(jobs.size() - 1).path("kind").asText()).isEqualTo("recover");
            assertThat(jobs.get(jobs.size() - 1).path("state").asText()).isEqualTo("done");

            // Change of point, then back to latest (undo), then again, then commit.
            assertThat(MtAgentCli.execute(cli(agent, "recover", "--group", "g", "--to", names.get(3), "--yes"))).isZero();
            assertTargets(workload.groupImages.get(names.get(3)), "changed to " + names.get(3));
            assertThat(MtAgentCli.execute(cli(agent, "recover", "--group", "g", "--to", "latest", "--yes"))).isZero();
            assertTargets(List.of(workload.models.get(0).snapshot(), workload.models.get(1).snapshot()), "back to latest");
            assertThat(MtAgentCli.execute(cli(agent, "recover", "--group", "g", "--to", names.get(2), "--yes"))).isZero();
            assertTargets(workload.groupImages.get(names.get(2)), "recovered again to " + names.get(2));

            assertThat(MtAgentCli.execute(cli(agent, "commit", "--group", "g"))).isZero();
            for (String id : List.of("disk-0", "disk-1")) {
                assertThat(agent.disks().byId(id).state().label()).isEqualTo("needs-resync");
            }
            assertThat(MtAgentCli.execute(cli(agent, "commit", "--group", "g"))).as("nothing left to commit")
                    .isEqualTo(2);
            assertTargets(workload.groupImages.get(names.get(2)), "committed at " + names.get(2));
        }
    }

    /** The retention volume, window and per-disk retention fields in /status. */
    @Test
    void statusShowsTheRetentionVolumeAndWindow() throws Exception {
        try (Agent agent = TestAgents.start(config(), new SimpleMeterRegistry());
             ReplicationClient client = ReplicationClient.connect(TestAgents.client(agent).build())) {
            workload.stream(agent, client, 60, 2);
            ControlHttp c = new ControlHttp(agent);
            JsonNode status = ControlHttp.json(c.get("/status"));
            JsonNode volume = status.path("retentionVolume");
            assertThat(volume.path("state").asText()).isEqualTo("ok");
            assertThat(volume.path("policy").asText()).isEqualTo("shrink-window");
            assertThat(volume.path("windowSeconds").asLong()).isEqualTo(24 * 3600);
            assertThat(volume.path("capBytes").asLong()).isPositive();
            assertThat(volume.path("windowShortened").asBoolean()).isFalse();
            assertThat(volume.path("holding").asBoolean()).isFalse();
            JsonNode d0 = status.path("disks").get(0);
            assertThat(d0.path("journalBytes").asLong()).isPositive();
            assertThat(d0.path("earliestRecoverable").path("seq").isNumber()).isTrue();
            assertThat(d0.path("retentionPolicySeconds").asLong()).isEqualTo(24 * 3600);
            assertThat(d0.path("retentionWindowSeconds").isNumber()).isTrue();
            assertThat(d0.has("rollback")).isTrue();
            assertThat(d0.path("rollback").isNull()).isTrue();
            assertThat(status.path("health").path("status").asText()).isEqualTo("ok");

        }
    }

    /** An export job to a file equals the model at the tag; a second one to the same file fails with the reason;
     * the CLI exports through the agent. */
    @Test
    void anExportJobWritesThePointAndNeverOverwritesUnasked() throws Exception {
        try (Agent agent = TestAgents.start(config(), new SimpleMeterRegistry());
             ReplicationClient client = ReplicationClient.connect(TestAgents.client(agent).build())) {
            workload.stream(agent, client, 60, 2);
            ControlHttp c = new ControlHttp(agent);
            String name = new ArrayList<>(workload.groupImages.keySet()).get(1);
            String auth = "Bearer " + c.token;
            // An export job to a file equals the model at the tag.
            Path out = dir.resolve("out").resolve("disk-1.raw");
            Files.createDirectories(out.getParent());
            HttpResponse<String> started = c.send("POST", "/v1/export", auth, "{\"disk\":\"disk-1\",\"point\":\"tag:"
                    + name + "\",\"out\":\"" + out + "\"}");
            assertThat(started.statusCode()).isEqualTo(202);
            JsonNode job = awaitJob(c, ControlHttp.json(started).path("job").asText());
            assertThat(job.path("state").asText()).as(job.toString()).isEqualTo("done");
            assertThat(job.path("result").path("bytes").asLong()).isEqualTo(DISK_BYTES);
            assertThat(job.path("progress").path("done").asLong()).isEqualTo(DISK_BYTES);
            assertThat(Arrays.mismatch(Files.readAllBytes(out), workload.groupImages.get(name).get(1))).isEqualTo(-1);
            // A second export to the same (now non-empty) file is refused before any job starts, with the reason.
            HttpResponse<String> again = c.send("POST", "/v1/export", auth, "{\"disk\":\"disk-1\","
                    + "\"point\":\"latest\",\"out\":\"" + out + "\"}");
            assertThat(again.statusCode()).isEqualTo(409);
            assertThat(ControlHttp.json(again).path("error").asText()).contains("--overwrite");
            // The CLI goes through the agent while it runs.
            Path viaCli = dir.resolve("out").resolve("cli.raw");
            assertThat(MtAgentCli.execute(cli(agent, "export", "--disk", "disk-0", "--point", name, "--out",
                    viaCli.toString()))).isZero();
            assertThat(Arrays.mismatch(Files.readAllBytes(viaCli), workload.groupImages.get(name).get(0))).isEqualTo(-1);
            assertThat(c.send("POST", "/v1/export", auth, "{\"disk\":\"disk-0\",\"point\":\"latest\",\"out\":\"rel.raw\"}")
                    .statusCode()).isEqualTo(400);

        }
    }

    /** An export that holds its disk (a FIFO nobody reads) makes other operations on it wait (409) and shows in
     * /status with its step and progress. */
    @Test
    void anExportHoldingItsDiskRefusesOthersAndShowsInStatus() throws Exception {
        try (Agent agent = TestAgents.start(config(), new SimpleMeterRegistry());
             ReplicationClient client = ReplicationClient.connect(TestAgents.client(agent).build())) {
            workload.stream(agent, client, 60, 2);
            ControlHttp c = new ControlHttp(agent);
            String name = new ArrayList<>(workload.groupImages.keySet()).get(1);
            String auth = "Bearer " + c.token;
            // An export into a FIFO nobody reads yet holds its disk: a running job, a second operation gets 409.
            Path fifo = dir.resolve("out").resolve("fifo");
            File mkfifo = new File("/usr/bin/mkfifo");
            Assumptions.assumeTrue(mkfifo.canExecute() || warn("mkfifo (Debian coreutils) is missing: the busy-disk"
                    + " part of this test needs it"), "mkfifo missing");
            assertThat(new ProcessBuilder(mkfifo.getPath(), fifo.toString()).start().waitFor()).isZero();
            HttpResponse<String> slow = c.send("POST", "/v1/export", auth, "{\"disk\":\"disk-0\",\"point\":\"latest\","
                    + "\"out\":\"" + fifo + "\",\"overwrite\":true}");
            assertThat(slow.statusCode()).isEqualTo(202);
            String slowId = ControlHttp.json(slow).path("job").asText();
            HttpResponse<String> busy = c.send("POST", "/v1/export", auth, "{\"disk\":\"disk-0\",\"point\":\"latest\","
                    + "\"out\":\"" + dir.resolve("out").resolve("other.raw") + "\"}");
            assertThat(busy.statusCode()).isEqualTo(409);
            assertThat(ControlHttp.json(busy).path("error").asText()).contains("busy with job " + slowId);
            assertThat(c.send("POST", "/v1/recover", auth, "{\"group\":\"g\",\"to\":\"latest\"}").statusCode())
                    .isEqualTo(409);
            assertThat(c.send("POST", "/v1/commit", auth, "{\"disk\":\"disk-0\"}").statusCode()).isEqualTo(409);
            // While no reader opens the FIFO the job is blocked opening it: running, in /status with its step.
            JsonNode running = null;
            for (JsonNode j : ControlHttp.json(c.get("/status")).path("jobs")) {
                if (j.path("id").asText().equals(slowId)) {
                    running = j;
                }
            }
            assertThat(running).as("the running job in /status").isNotNull();
            assertThat(running.path("state").asText()).as(running.toString()).isEqualTo("running");
            assertThat(running.path("step").asText()).contains("disk-0");
            assertThat(running.path("progress").path("done").asLong()).isZero();
            assertThat(running.path("progress").has("mbps")).isTrue();
            assertThat(running.path("progress").has("etaSeconds")).isTrue();
            CompletableFuture<byte[]> reader = CompletableFuture.supplyAsync(() -> {
                try (InputStream in = Files.newInputStream(fifo)) {
                    return in.readAllBytes();
                } catch (java.io.IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            });
            reader.get(30, java.util.concurrent.TimeUnit.SECONDS);
            awaitJob(c, slowId); // exports write by position, which a pipe refuses: it ends failed, and frees the disk
            assertThat(c.send("POST", "/v1/export", auth, "{\"disk\":\"disk-0\",\"point\":\"latest\",\"out\":\""
                    + dir.resolve("out").resolve("after.raw") + "\"}").statusCode()).isEqualTo(202);
        }
    }

    @Test
    void nbdViewThroughTheApi() throws Exception {
        File qemu = new File("/usr/bin/qemu-img");
        if (!qemu.canExecute()) {
            warn("qemu-img is missing: install Debian qemu-utils (apt-get install qemu-utils) to run this test");
            Assumptions.assumeTrue(false, "qemu-img missing");
        }
        try (Agent agent = TestAgents.start(config(), new SimpleMeterRegistry());
             ReplicationClient client = ReplicationClient.connect(TestAgents.client(agent).build())) {
            workload.stream(agent, client, 60, 3);
            String name = new ArrayList<>(workload.groupImages.keySet()).get(0);
            ControlHttp c = new ControlHttp(agent);
            assertThat(MtAgentCli.execute(cli(agent, "nbd", "--disk", "disk-1", "--point", "tag:" + name))).isZero();
            HttpResponse<String> r = c.send("POST", "/v1/nbd", "Bearer " + c.token,
                    "{\"disk\":\"disk-0\",\"point\":\"tag:" + name + "\"}");
            assertThat(r.statusCode()).isEqualTo(200);
            JsonNode nbd = ControlHttp.json(r);
            String url = nbd.path("url").asText();
            assertThat(url).isEqualTo("nbd+unix:///" + nbd.path("name").asText() + "?socket="
                    + agent.config().stateDir().resolve("nbd.sock").toAbsolutePath());
            assertThat(nbd.path("urls").size()).as("only the Unix socket by default: nbd.listen is off").isEqualTo(1);
            assertThat(ControlHttp.json(c.get("/v1/nbd")).path("exports").size()).isEqualTo(2);
            // A rollback would rewrite the target under the view's readers: refused, naming the export.
            HttpResponse<String> recover = c.send("POST", "/v1/recover", "Bearer " + c.token,
                    "{\"disk\":\"disk-0\",\"to\":\"tag:" + name + "\"}");
            assertThat(recover.statusCode()).as(recover.body()).isEqualTo(409);
            assertThat(recover.body()).contains("served over NBD as [" + nbd.path("name").asText() + "]",
                    "mtagent nbd --stop");
            workload.stream(agent, client, 20, 4); // replication goes on while the view is served
            Path out = dir.resolve("nbd.raw");
            Process p = new ProcessBuilder(qemu.getPath(), "convert", "-f", "raw", "-O", "raw", url, out.toString())
                    .redirectErrorStream(true).start();
            String log = new String(p.getInputStream().readAllBytes());
            assertThat(p.waitFor()).as(log).isZero();
            assertThat(Arrays.mismatch(Files.readAllBytes(out), workload.groupImages.get(name).get(0))).isEqualTo(-1);
            String path = "/v1/nbd/" + java.net.URLEncoder.encode(nbd.path("name").asText(), "UTF-8");
            assertThat(c.send("DELETE", path, "Bearer " + c.token, null).statusCode()).isEqualTo(200);
            assertThat(c.send("DELETE", path, "Bearer " + c.token, null).statusCode()).isEqualTo(404);
            assertThat(ControlHttp.json(c.get("/v1/nbd")).path("exports").size()).isEqualTo(1);
        }
    }

    @Test
    void retentionHealthRules() throws Exception {
        // A cap far below what the stream journals: shrink-window prunes inside the window (MT-1003, warning).
        try (Agent agent = TestAgents.start(config(Map.of("retention.segment.bytes", "64KiB",
                "retention.max.bytes", "192KiB")), new SimpleMeterRegistry());
             ReplicationClient client = ReplicationClient.connect(TestAgents.client(agent).build())) {
            workload.stream(agent, client, 100, 5);
            ControlHttp c = new ControlHttp(agent);
            agent.retention().enforce(); // what the housekeeping thread does every 5 s
            JsonNode health = ControlHttp.json(c.send("GET", "/health", null, null));
            assertThat(health.path("status").asText()).isEqualTo("warning");
            assertThat(health.path("rules").get(0).path("code").asText()).isEqualTo("MT-1003");
            JsonNode volume = ControlHttp.json(c.get("/status")).path("retentionVolume");
            assertThat(volume.path("windowShortened").asBoolean()).isTrue();
            assertThat(volume.path("state").asText()).isEqualTo("window shortened");
            assertThat(volume.path("journalBytes").asLong()).isLessThanOrEqualTo(192 << 10);
            // Points older than the pruned ones are refused with the reason.
            JsonNode d0 = ControlHttp.json(c.get("/v1/points?disk=disk-0"));
            long earliest = d0.path("earliest").path("seq").asLong();
            assertThat(earliest).isGreaterThan(1);
            HttpResponse<String> pruned = c.send("POST", "/v1/export", "Bearer " + c.token, "{\"disk\":\"disk-0\","
                    + "\"point\":\"seq:1\",\"out\":\"" + dir.resolve("out").resolve("pruned.raw") + "\"}");
            assertThat(pruned.statusCode()).isEqualTo(409);
            assertThat(ControlHttp.json(pruned).path("error").asText()).contains("older than the retention window");
        }
    }

    @Test
    void stopWritesAtTheCapIsCritical() throws Exception {
        try (Agent agent = TestAgents.start(config(Map.of("retention.segment.bytes", "64KiB",
                "retention.max.bytes", "64KiB", "retention.space.policy", "stop-writes")), new SimpleMeterRegistry());
             ReplicationClient client = ReplicationClient.connect(TestAgents.client(agent).build())) {
            workload.stream(agent, client, 40, 6);
            ControlHttp c = new ControlHttp(agent);
            agent.retention().enforce();
            HttpResponse<String> health = c.send("GET", "/health", null, null);
            assertThat(health.statusCode()).isEqualTo(503);
            assertThat(ControlHttp.json(health).path("rules").toString()).contains("MT-2003").contains("stop-writes");
            assertThat(ControlHttp.json(c.get("/status")).path("retentionVolume").path("holding").asBoolean()).isTrue();
        }
    }

    private static boolean warn(String message) {
        System.err.println("SKIPPED: " + message);
        return false;
    }
}
