package io.mtagent.agent.powerloss;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.mtagent.agent.TestAgents;
import io.mtagent.agent.control.PinnedTrust;
import io.mtagent.agent.security.AgentIdentity;
import io.mtagent.agent.security.ControlToken;
import io.mtagent.agent.sim.DiskModel;
import io.mtagent.agent.sim.WorkloadGenerator;
import io.mtagent.protocol.TagType;
import io.mtagent.protocol.client.ClientOptions;
import io.mtagent.protocol.client.DiskStream;
import io.mtagent.protocol.client.ReplicationClient;
import io.mtagent.protocol.client.ReplicationException;
import io.netty.buffer.Unpooled;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * One power-loss run: a real agent (child JVM) with its state, cache (ingest logs), retention journals and
 * file-backed target disks all on a {@link LossyFs}; a client streams writes and tags through the real TLS
 * server; the power is cut (kill -9 of the agent, then the file system forgets everything not synced) at random
 * moments; the agent restarts on what survived and the client resumes. An independent model (everything the client
 * sent, and snapshots of it at sampled tags) decides:
 * <ol>
 *   <li>the agent starts after every cut (a torn tail is repaired, never a reason to refuse);</li>
 *   <li>every write acknowledged before the cut is still held (the disk's durable seq on re-open is at least the
 *       acknowledged one);</li>
 *   <li>once everything is re-sent and applied, each target equals the model;</li>
 *   <li>every sampled tag at or after the disk's earliest point is listed by {@code GET /v1/points}, and a point
 *       exported through {@code POST /v1/export} equals the model's snapshot at that tag;</li>
 *   <li>a rollback ({@code /v1/recover}) cut at any moment, resumed, ends with the target equal to the point, a
 *       return to latest equal to the model, and a commit that survives the next cut.</li>
 * </ol>
 * A failed check is recorded as a violation (the run stops there); callers assert on {@link Report#violations}.
 * Not thread-safe: one test thread.
 */
final class PowerLossHarness implements AutoCloseable {
    static final int DISKS = 2;
    static final int DISK_BYTES = 2 << 20;
    private static final int MAX_WRITE = 16 << 10;
    private static final int SAMPLES_PER_DISK = 6;
    private static final int WRITES_PER_CYCLE = 300;
    private static final Duration WAIT = Duration.ofSeconds(60);
    private static final ObjectMapper JSON = new ObjectMapper();

    /** What a run did and what it found. */
    record Report(int cuts, Map<String, Integer> cutsByPhase, long writesAcked, int pointsExported,
                  int targetsCompared, List<String> violations, Duration elapsed, Duration restarting,
                  Duration applyWait, Duration checking, Map<String, Long> fsCounters) {
        @Override
        public String toString() {
            return cuts + " cuts " + cutsByPhase + ", " + writesAcked + " writes acked, " + targetsCompared
                    + " target comparisons, " + pointsExported + " points exported, " + elapsed.toSeconds() + " s ("
                    + restarting.toSeconds() + " s of them restarting the agent, " + applyWait.toSeconds()
                    + " s waiting for the applier, " + checking.toSeconds() + " s comparing and exporting), fs "
                    + fsCounters + (violations.isEmpty() ? ", no violation" : ", VIOLATIONS " + violations);
        }
    }

    private final Path work;
    private final long seed;
    private final List<String> jvmFlags;
    private final SplittableRandom random;
    private final LossyFs fs;
    private final Path root;
    private final Path config;
    private final Path agentLog;
    private final int dataPort;
    private final int controlPort;
    private Process agent;
    private ReplicationClient client;
    private final List<DiskStream> streams = new ArrayList<>();
    private final List<DiskModel> models = new ArrayList<>();
    private final List<WorkloadGenerator> gens = new ArrayList<>();
    /** Per disk: tag seq → model image at that tag (a bounded sample). */
    private final List<Map<Long, byte[]>> samples = new ArrayList<>();
    private final List<String> violations = new ArrayList<>();
    private final Map<String, Integer> cutsByPhase = new TreeMap<>();
    private int cuts;
    private long writesAcked;
    private int pointsExported;
    private int targetsCompared;
    private long restartNanos;
    private long applyWaitNanos;
    private long checkNanos;
    private int rollbacks;
    private int exportTurn;
    private HttpClient http;
    private String token;

    PowerLossHarness(Path work, long seed, List<String> jvmFlags) throws Exception {
        this.work = work;
        this.seed = seed;
        this.jvmFlags = jvmFlags;
        this.random = new SplittableRandom(seed);
        this.fs = LossyFs.mount(work);
        this.root = fs.root();
        this.dataPort = freePort();
        this.controlPort = freePort();
        Map<String, String> s = TestAgents.settings(root, DISKS, DISK_BYTES);
        s.put("data.listen", "127.0.0.1:" + dataPort);
        s.put("control.listen", "127.0.0.1:" + controlPort);
        s.put("retention.dir", root.resolve("retention").toString());
        s.put("export.dirs", work.resolve("exports").toString());
        s.put("nbd.socket", work.resolve("nbd.sock").toString()); // lossyfs makes no socket files
        // Small everything, so that a random cut lands in a segment roll, a group commit or a prune most of the time.
        s.put("data.max.write.bytes", "256KiB");
        s.put("ingest.segment.bytes", "1MiB");
        s.put("ingest.commit.max.bytes", "256KiB");
        s.put("retention.segment.bytes", "256KiB");
        s.put("retention.max.bytes", "3MiB");
        config = TestAgents.writeConfig(work.resolve("agent.properties"), s);
        TestAgents.setPassphrase(root.resolve("state"));
        fs.syncAll(); // the install step is not what this test examines
        // A file sync takes 4 ms (the p99 of fdatasync on the development machines): cuts land inside them.
        fs.syncDelay(Integer.getInteger("powerloss.sync.delay.us", 4000));
        agentLog = work.resolve("agent.log");
        for (int d = 0; d < DISKS; d++) {
            models.add(new DiskModel(DISK_BYTES));
            gens.add(new WorkloadGenerator(seed * 31 + d, DISK_BYTES, MAX_WRITE));
            samples.add(new ConcurrentSkipListMap<>());
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    /** Runs until {@code cutTarget} cuts were made or a violation was found. */
    Report run(int cutTarget) throws Exception {
        long start = System.nanoTime();
        startAgent();
        if (!connect(true)) {
            return report(start);
        }
        for (int d = 0; d < DISKS; d++) {
            streams.add(client.openDisk("disk-" + d, 1));
        }
        int cycle = 0;
        while (cuts < cutTarget && violations.isEmpty()) {
            cycle++;
            if (cycle % 6 == 0 && cutTarget - cuts >= 3) {
                rollbackCycle();
            } else {
                streamCycle(cycle % 3 == 2 ? "applier" : "stream");
            }
            if (violations.isEmpty()) {
                quiesceAndCheck("cycle " + cycle);
            }
        }
        return report(start);
    }

    private Report report(long start) throws IOException {
        Map<String, Long> counters = fs.counters();
        writesAcked = streams.stream().mapToLong(DiskStream::ackedSeq).sum();
        return new Report(cuts, cutsByPhase, writesAcked, pointsExported, targetsCompared, List.copyOf(violations),
                Duration.ofNanos(System.nanoTime() - start), Duration.ofNanos(restartNanos),
                Duration.ofNanos(applyWaitNanos), Duration.ofNanos(checkNanos), counters);
    }

    // ---------------------------------------------------------------- cycles

    /** Streams to both disks and cuts the power at a random moment. */
    private void streamCycle(String phase) throws Exception {
        AtomicBoolean stop = new AtomicBoolean();
        List<Thread> writers = new ArrayList<>();
        for (int d = 0; d < DISKS; d++) {
            int disk = d;
            int budget = 50 + random.nextInt(WRITES_PER_CYCLE); // bounded, so the applier catches up in time
            Thread t = new Thread(() -> stream(disk, stop, budget), "writer-" + d);
            t.start();
            writers.add(t);
        }
        if (phase.equals("applier")) {
            // Cut once the writers are done: the applier, the journal and pruning are busy with the backlog.
            for (Thread t : writers) {
                t.join(WAIT.toMillis());
            }
            Thread.sleep(random.nextInt(150));
        } else {
            Thread.sleep(10 + random.nextInt(150)); // while writes, group commits and rolls are under way
            // ... and right after an ACK arrived: the moment that exposes an ack sent before its sync.
            long seen = streams.get(0).ackedSeq() + streams.get(1).ackedSeq();
            long until = System.nanoTime() + 50_000_000L;
            while (System.nanoTime() < until && streams.get(0).ackedSeq() + streams.get(1).ackedSeq() == seen) {
                Thread.onSpinWait();
            }
        }
        long[] acked = cut(phase);
        stop.set(true);
        for (Thread t : writers) {
            t.join(20_000);
        }
        restartAndCheckAcked(acked, phase);
    }

    private void stream(int d, AtomicBoolean stop, int budget) {
        DiskStream s = streams.get(d);
        DiskModel m = models.get(d);
        WorkloadGenerator g = gens.get(d);
        try {
            for (long n = 1; !stop.get() && n <= budget; n++) {
                WorkloadGenerator.Change c = g.next();
                s.write(c.offset(), Unpooled.wrappedBuffer(c.data()), System.currentTimeMillis() * 1000);
                m.apply(c.offset(), c.data());
                if (n % 8 == 0) {
                    long tag = s.tag(TagType.CRASH_CONSISTENT, "t" + s.nextSeq(), System.currentTimeMillis() * 1000);
                    Map<Long, byte[]> snaps = samples.get(d);
                    if (snaps.size() < SAMPLES_PER_DISK && g.random().nextInt(3) == 0) {
                        snaps.put(tag, m.snapshot());
                    }
                }
            }
        } catch (ReplicationException | InterruptedException expected) {
            // the power went under us: that write got no sequence number and is not in the model
        }
    }

    /**
     * Rollback and commit under power cuts: recover disk-0 to a sampled point, cut during or after it; resume;
     * check the target is the point; back to latest (cut during it half the time); check the target is the
     * model; commit; cut; check the commit held and replication resumes.
     */
    private void rollbackCycle() throws Exception {
        Map<Long, byte[]> snaps = samples.get(0);
        if (snaps.isEmpty()) {
            streamCycle("stream");
            return;
        }
        List<Long> keys = new ArrayList<>(snaps.keySet());
        long point = keys.get(random.nextInt(keys.size()));
        JsonNode r = post("/v1/recover", Map.of("disk", "disk-0", "to", "seq:" + point));
        if (r == null) {
            return;
        }
        if (!r.has("job")) {
            snaps.remove(point); // e.g. pruned meanwhile: not a violation, the points check covers listing
            streamCycle("stream");
            return;
        }
        boolean during = rollbacks++ % 2 == 1; // alternate: the first one is cut right after the job completed
        if (during) {
            Thread.sleep(random.nextInt(150));
        } else if (awaitJob(r.path("job").asText(), "recover to seq " + point) == null) {
            return;
        }
        cut(during ? "rollback-during" : "rollback-after");
        if (!restart("after a cut " + (during ? "during" : "after") + " a rollback")) {
            return;
        }
        // The resumed rollback (or a new one: recover is idempotent) must end at the point. One exception: a cut
        // during the job may come before the rollback's state was durable (the job was only in memory); then
        // nothing holds the point any more and the retention cap may prune it after the restart (409). A rollback
        // that completed before the cut must always be repeatable: the agent holds its point until the commit.
        JsonNode again = post("/v1/recover", Map.of("disk", "disk-0", "to", "seq:" + point));
        if (again == null) {
            return;
        }
        if (!again.has("job") && during) {
            snaps.remove(point);
        } else if (!again.has("job")) {
            violation("disk-0 was rolled back to seq " + point + " before the cut, but recovering to it again was"
                    + " refused: " + again);
            return;
        } else if (awaitJob(again.path("job").asText(), "recover to seq " + point + " after a cut") == null
                || !compareTarget(0, snaps.get(point), "disk-0 rolled back to seq " + point + " after a cut")) {
            return;
        }
        JsonNode back = post("/v1/recover", Map.of("disk", "disk-0", "to", "latest"));
        if (back == null) {
            return;
        }
        if (random.nextBoolean()) {
            Thread.sleep(random.nextInt(100));
            cut("restore-during");
            if (!restart("after a cut during the return to latest")) {
                return;
            }
            if (!recoverAndWait("latest")) {
                return;
            }
        } else if (awaitJob(back.path("job").asText(), "recover to latest") == null) {
            return;
        }
        if (!compareTarget(0, models.get(0).snapshot(), "disk-0 back at latest")) {
            return;
        }
        JsonNode c = post("/v1/commit", Map.of("disk", "disk-0"));
        if (c == null) {
            return;
        }
        cut("commit-after");
        if (!restart("after a cut right after a commit")) {
            return;
        }
        try {
            client.reopen(streams.get(0));
        } catch (ReplicationException e) {
            violation("disk-0 after a commit at latest and a cut: re-open refused: " + e.getMessage());
            return;
        }
        if (streams.get(0).state() != io.mtagent.protocol.DiskState.PROTECTED) {
            violation("the commit at latest acknowledged before the cut did not hold: disk-0 is "
                    + streams.get(0).state());
        }
    }

    private boolean recoverAndWait(String to) throws Exception {
        JsonNode r = post("/v1/recover", Map.of("disk", "disk-0", "to", to));
        return r != null && awaitJob(r.path("job").asText(), "recover to " + to) != null;
    }

    // ---------------------------------------------------------------- cut and restart

    /**
     * The power goes off (a flush in flight does not complete, nothing changes any more), the agent is killed,
     * the file system forgets what was not synced; returns the seqs acked before the cut.
     */
    private long[] cut(String phase) throws Exception {
        fs.powerOff();
        agent.destroyForcibly();
        agent.waitFor(30, TimeUnit.SECONDS);
        long[] acked = new long[DISKS];
        for (int d = 0; d < streams.size(); d++) {
            acked[d] = streams.get(d).ackedSeq();
        }
        if (random.nextInt(3) == 0) {
            fs.cutTorn(random.nextLong());
            phase += "+torn";
        } else {
            fs.cut();
        }
        cuts++;
        cutsByPhase.merge(phase, 1, Integer::sum);
        if (cuts % 25 == 0) { // progress of a long run
            System.out.println("power-loss: " + cuts + " cuts, " + cutsByPhase + ", " + violations.size()
                    + " violations");
        }
        return acked;
    }

    private void restartAndCheckAcked(long[] acked, String phase) throws Exception {
        if (!restart("after a cut in phase " + phase)) {
            return;
        }
        for (int d = 0; d < DISKS; d++) {
            try {
                client.reopen(streams.get(d));
            } catch (ReplicationException e) {
                violation("disk-" + d + ": re-open after the cut (" + phase + ") refused: " + e.getMessage());
                return;
            }
            long durable = streams.get(d).info().lastDurableSeq();
            if (durable < acked[d]) {
                violation("disk-" + d + ": acked seq " + acked[d] + " before the cut (" + phase + "), but the agent"
                        + " holds only up to seq " + durable + " after it");
            }
        }
    }

    private boolean restart(String context) throws Exception {
        long t0 = System.nanoTime();
        startAgent();
        boolean up = connect(false);
        restartNanos += System.nanoTime() - t0;
        if (!up) {
            violations.set(violations.size() - 1, context + ": " + violations.get(violations.size() - 1));
            return false;
        }
        return true;
    }

    private void startAgent() throws IOException {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> cmd = new ArrayList<>(List.of(java, "-Xmx192m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
                "-Xshare:auto", "-XX:+UnlockDiagnosticVMOptions", "-XX:-BytecodeVerificationRemote")); // our own classes: skip verifying them at each start
        cmd.addAll(jvmFlags);
        // A broken build (test sources only) installs its fault and then runs the same command line.
        boolean broken = jvmFlags.stream().anyMatch(f -> f.startsWith("-D" + BrokenBuild.PROPERTY + "="));
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"),
                broken ? BrokenBuild.class.getName() : "io.mtagent.agent.cli.MtAgentCli", "run",
                "--config", config.toString()));
        Files.writeString(agentLog, "---- start (cut " + cuts + ")\n", StandardCharsets.UTF_8,
                StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        agent = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(agentLog.toFile())).start();
    }

    /** Connects (first time) or reconnects the client; false (and a violation) when the agent did not start. */
    private boolean connect(boolean first) throws Exception {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (true) {
            try {
                if (first) {
                    client = ReplicationClient.connect(ClientOptions.builder("127.0.0.1", dataPort)
                            .passphrase(TestAgents.PASSPHRASE.toCharArray()).handshakeTimeout(Duration.ofSeconds(10))
                            .build());
                } else {
                    client.reconnect();
                }
                http = null; // the certificate and token are re-read: they may be new after a cut at first start
                return true;
            } catch (ReplicationException e) {
                if (!agent.isAlive()) {
                    violation("the agent refused to start (exit " + agent.exitValue() + "):\n" + tail());
                    return false;
                }
                if (!first && (e.code() != null || (e.getMessage() != null && e.getMessage().contains("lost")))) {
                    violation("resume refused: " + e.getMessage() + "\n" + tail());
                    return false;
                }
                if (System.nanoTime() > deadline) {
                    violation("the agent did not accept connections within " + WAIT.toSeconds() + " s:\n" + tail());
                    return false;
                }
                Thread.sleep(50);
            }
        }
    }

    // ---------------------------------------------------------------- checks

    /** Re-sends what is unacked, waits until everything is applied, compares targets and exports sampled points. */
    private void quiesceAndCheck(String context) throws Exception {
        long t0 = System.nanoTime();
        try {
            applyEverything(context);
        } finally {
            applyWaitNanos += System.nanoTime() - t0;
        }
        if (!violations.isEmpty()) {
            return;
        }
        long t1 = System.nanoTime();
        try {
            for (int d = 0; d < DISKS; d++) {
                if (!compareTarget(d, models.get(d).snapshot(), context + ", everything applied")) {
                    return;
                }
            }
            checkPoints(context);
        } finally {
            checkNanos += System.nanoTime() - t1;
        }
    }

    /** Re-sends what is unacked and waits until every disk applied everything durable. */
    private void applyEverything(String context) throws Exception {
        try {
            for (DiskStream s : streams) {
                client.reopen(s);
                s.flush(WAIT);
            }
        } catch (ReplicationException | java.util.concurrent.TimeoutException e) {
            violation(context + ": could not resume and flush the streams: " + e + "\n" + tail());
            return;
        }
        long deadline = System.nanoTime() + WAIT.toNanos();
        for (DiskStream s : streams) {
            while (true) {
                client.reopen(s);
                if (s.info().appliedSeq() >= s.info().lastDurableSeq()) {
                    break;
                }
                if (System.nanoTime() > deadline) {
                    violation(context + ": " + s.diskId() + " did not apply up to its durable seq "
                            + s.info().lastDurableSeq() + " (applied " + s.info().appliedSeq() + ")\n" + tail());
                    return;
                }
                Thread.sleep(20);
            }
        }
    }

    private boolean compareTarget(int d, byte[] expected, String context) throws IOException {
        targetsCompared++;
        byte[] actual = Files.readAllBytes(TestAgents.target(root, d));
        int at = Arrays.mismatch(actual, expected);
        if (at >= 0) {
            violation(context + ": disk-" + d + " target differs from the model at byte " + at);
            return false;
        }
        return true;
    }

    private void checkPoints(String context) throws Exception {
        exportTurn++;
        for (int d = 0; d < DISKS; d++) {
            JsonNode list = get("/v1/points?disk=disk-" + d);
            if (list == null) {
                return;
            }
            long earliest = list.path("earliest").path("seq").asLong();
            java.util.Set<Long> listed = new java.util.HashSet<>();
            for (JsonNode p : list.path("points")) {
                listed.add(p.path("seq").asLong());
            }
            Map<Long, byte[]> snaps = samples.get(d);
            snaps.keySet().removeIf(seq -> seq < earliest); // pruned by the retention cap: fine
            List<Long> check = new ArrayList<>();
            for (long seq : snaps.keySet()) {
                // A tag at exactly the earliest seq is still a reachable point (by seq), but its tag record went
                // with the pruned segment, so the list may not name it: checked by the export below.
                if (seq > earliest && !listed.contains(seq)) {
                    violation(context + ": disk-" + d + " acked tag at seq " + seq + " (earliest point " + earliest
                            + ") is not listed as a recovery point");
                    return;
                }
                check.add(seq);
            }
            if (check.isEmpty() || exportTurn % DISKS != d) {
                continue; // every listing is checked; one disk's point is exported per cycle (time)
            }
            long seq = check.get(random.nextInt(check.size()));
            Path out = work.resolve("exports").resolve("export-" + d + ".img");
            JsonNode r = post("/v1/export", Map.of("disk", "disk-" + d, "point", "seq:" + seq, "out", out.toString(),
                    "overwrite", true));
            if (r == null) {
                return;
            }
            if (!r.has("job")) {
                snaps.remove(seq); // 409: pruned between the list and the export
                continue;
            }
            if (awaitJob(r.path("job").asText(), "export of disk-" + d + " at seq " + seq) == null) {
                return;
            }
            byte[] image = Files.readAllBytes(out);
            byte[] expected = snaps.get(seq);
            if (expected == null) {
                continue; // pruned while exporting
            }
            int at = Arrays.mismatch(image, expected);
            pointsExported++;
            if (at >= 0) {
                violation(context + ": disk-" + d + " recovery point seq " + seq + " exported differs from the model"
                        + " at byte " + at);
                return;
            }
        }
    }

    // ---------------------------------------------------------------- control API

    private HttpClient http() throws Exception {
        if (http == null) {
            http = HttpClient.newBuilder().sslContext(PinnedTrust.pinnedFile(root.resolve("state")
                    .resolve(AgentIdentity.CERT_FILE))).connectTimeout(Duration.ofSeconds(10)).build();
            token = ControlToken.read(root.resolve("state").resolve("control.token")).text();
        }
        return http;
    }

    private JsonNode get(String path) throws Exception {
        return call(HttpRequest.newBuilder(uri(path)).GET(), path);
    }

    private JsonNode post(String path, Map<String, Object> body) throws Exception {
        return call(HttpRequest.newBuilder(uri(path))
                .POST(HttpRequest.BodyPublishers.ofString(JSON.writeValueAsString(body))), path + " " + body);
    }

    private URI uri(String path) {
        return URI.create("https://127.0.0.1:" + controlPort + path);
    }

    /** The JSON answer; a refusal that is not a 2xx becomes the answer too ({"error": ...}) for 409/400. */
    private JsonNode call(HttpRequest.Builder b, String what) throws Exception {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (true) {
            try {
                HttpResponse<String> r = http().send(b.header("Authorization", "Bearer " + token)
                        .timeout(Duration.ofSeconds(30)).build(), HttpResponse.BodyHandlers.ofString());
                if (r.statusCode() == 409) {
                    return JSON.readTree(r.body());
                }
                if (r.statusCode() / 100 != 2) {
                    violation(what + ": HTTP " + r.statusCode() + " " + r.body());
                    return null;
                }
                return JSON.readTree(r.body());
            } catch (IOException e) {
                if (System.nanoTime() > deadline || !agent.isAlive()) {
                    violation(what + ": control API unreachable: " + e + "\n" + tail());
                    return null;
                }
                http = null;
                Thread.sleep(100);
            }
        }
    }

    private JsonNode awaitJob(String id, String what) throws Exception {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (true) {
            JsonNode j = get("/v1/jobs/" + id);
            if (j == null) {
                return null;
            }
            String state = j.path("state").asText();
            if (state.equals("done")) {
                return j;
            }
            if (state.equals("failed") || System.nanoTime() > deadline) {
                violation(what + ": job " + state + ": " + j);
                return null;
            }
            Thread.sleep(20);
        }
    }

    // ---------------------------------------------------------------- plumbing

    private void violation(String v) {
        violations.add(v + " [seed " + seed + ", after cut " + cuts + "]");
        try { // keep the evidence: the temp dir goes away with the test
            Path keep = Files.createDirectories(Path.of("target", "powerloss"));
            Files.copy(agentLog, keep.resolve(seed + "-agent.log"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            StringBuilder files = new StringBuilder();
            try (var walk = Files.walk(root)) { // the agent may still be renaming files under us: best effort
                walk.filter(Files::isRegularFile).sorted().forEach(f -> {
                    try {
                        files.append(root.relativize(f)).append(' ').append(Files.size(f)).append('\n');
                    } catch (IOException e) {
                        files.append(f).append(' ').append(e).append('\n');
                    }
                });
            } catch (java.io.UncheckedIOException e) {
                files.append("(listing incomplete: ").append(e.getCause()).append(")\n");
            }
            Files.writeString(keep.resolve(seed + "-files.txt"), files);
            if (Files.exists(work.resolve("lossyfs.trace"))) {
                Files.copy(work.resolve("lossyfs.trace"), keep.resolve(seed + "-lossyfs.trace"),
                        java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            }
        } catch (IOException e) {
            violations.add("(could not keep the agent log: " + e + ")");
        }
    }

    String tail() throws IOException {
        List<String> lines = Files.readAllLines(agentLog);
        return String.join("\n", lines.subList(Math.max(0, lines.size() - 25), lines.size()));
    }

    @Override
    public void close() throws Exception {
        try {
            if (client != null) {
                client.close();
            }
        } finally {
            if (agent != null) {
                agent.destroyForcibly();
                agent.waitFor(30, TimeUnit.SECONDS);
            }
            fs.close();
        }
    }

}
