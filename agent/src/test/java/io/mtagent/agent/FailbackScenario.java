package io.mtagent.agent;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.mtagent.protocol.TagType;
import io.mtagent.protocol.client.DiskStream;
import io.mtagent.protocol.client.ReplicationClient;
import io.mtagent.protocol.client.Resync;
import io.mtagent.protocol.client.SourceDevice;
import io.netty.buffer.Unpooled;
import java.io.RandomAccessFile;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeSet;
import java.util.function.Consumer;
import org.awaitility.Awaitility;

/**
 * The failback lifecycle of issue 20, driven only through public interfaces: the replication client (what a
 * process server does), the control API and NBD. Two agents, "A" and "B", and a machine of two disks in
 * replication group "g" that runs at A first: protect A→B; then per cycle: test failover at B (NBD of an
 * app-consistent group point while replication goes on), fail over at B to a group point and commit, reprotect
 * B→A (release at B, attach at A, differential resync, live writes), fail back at A to latest and commit,
 * reprotect A→B. After every step {@link #check} proves that every listed point exports and serves over NBD
 * equal to the model, that exactly the points of the live branch are listed, and that states, health and RPO
 * tell the truth. {@code killer} may kill -9 and restart an agent between steps (the soak).
 *
 * <p>Not thread-safe: one test thread.
 */
final class FailbackScenario {
    static final int DISK = 4 << 20;
    static final int CHUNK = 64 << 10;
    private static final List<String> DISKS = List.of("disk-0", "disk-1");

    /** What one reprotect cost: bytes on the wire and the chunks that really differed. */
    record Reprotect(String from, String to, String disk, long wireBytes, long checksumBytes, long differingBytes) {
    }

    private final Path dir;
    private final Site a;
    private final Site b;
    private final SplittableRandom random;
    private final Consumer<String> killer;
    final List<Reprotect> reprotects = new ArrayList<>();
    final List<String> log = new ArrayList<>();
    /** The machine's disks where it runs now. */
    private final byte[][] machine = new byte[2][];
    private Site runsAt;
    /** Per site and disk: the tag names of the live branch and the image each stands for. */
    private final Map<Site, List<Map<String, byte[]>>> alive = new HashMap<>();
    private final Map<Site, ReplicationClient> clients = new HashMap<>();
    private List<DiskStream> streams = List.of();
    private long epoch = 1;
    /** Sites restarted since the machine last wrote to them: their RPO is unknown until the next write. */
    private final java.util.Set<Site> restarted = new java.util.HashSet<>();
    private final Map<Site, Integer> kills = new HashMap<>();
    private int tagCounter;
    private int checks;

    FailbackScenario(Path dir, long seed, Consumer<String> killer) throws Exception {
        this.dir = dir;
        this.random = new SplittableRandom(seed);
        this.killer = killer;
        this.a = new Site("A", dir.resolve("site-a"), DISK);
        this.b = new Site("B", dir.resolve("site-b"), DISK);
        for (Site s : List.of(a, b)) {
            alive.put(s, List.of(new LinkedHashMap<>(), new LinkedHashMap<>()));
        }
    }

    Site site(String name) {
        return name.equals("A") ? a : b;
    }

    /** Step 1 and then {@code cycles} times steps 2-5. */
    void run(int cycles) throws Exception {
        // The machine's original disks at site A: random content, written before agent A opens them.
        for (int d = 0; d < 2; d++) {
            machine[d] = new byte[DISK];
            random.nextBytes(machine[d]);
            Files.createDirectories(a.target(d).getParent());
            Files.write(a.target(d), machine[d]);
        }
        runsAt = a;
        a.start();
        b.start();
        for (String id : DISKS) {
            a.job("/v1/disks/" + id + "/release", null, "release " + id + " (the machine runs on it)");
        }
        step("1 protect A to B", () -> protect(a, b, 1));
        for (int c = 1; c <= cycles; c++) {
            int cycle = c;
            step(cycle + ".2 test failover at B", () -> testFailover(b, cycle));
            step(cycle + ".3 fail over at B", () -> failover(b));
            step(cycle + ".4 reprotect B to A", () -> {
                release(b);
                protect(b, a, cycle);
            });
            step(cycle + ".5 fail back at A", () -> failBack(a));
            step(cycle + ".5 reprotect A to B", () -> {
                release(a);
                protect(a, b, cycle + 1);
            });
        }
    }

    @FunctionalInterface
    interface Step {
        void run() throws Exception;
    }

    private void step(String name, Step s) throws Exception {
        long t0 = System.nanoTime();
        s.run();
        killer.accept(name);
        for (Site site : List.of(a, b)) {
            check(site, name);
        }
        log.add(String.format("%-28s %5d ms", name, (System.nanoTime() - t0) / 1_000_000));
    }

    /** kill -9 of {@code site}'s agent and a restart (the soak's fault); the clients reconnect. */
    void kill(Site site) throws Exception {
        site.killAndRestart();
        restarted.add(site);
        kills.merge(site, 1, Integer::sum);
        ReplicationClient c = clients.get(site);
        if (c != null) {
            site.reconnect(c);
        }
    }

    // ---- the steps ---------------------------------------------------------------------------------------

    /** The machine at {@code from} is protected to {@code to}: attach, differential resync, live writes, tags. */
    private void protect(Site from, Site to, int cycle) throws Exception {
        for (int d = 0; d < 2; d++) {
            if (to.disk(DISKS.get(d)).path("state").asText().equals("released")) {
                JsonNode r = to.post("/v1/disks/" + DISKS.get(d) + "/attach", Map.of("written", true))
                        .expect(200, "attach " + DISKS.get(d)).body();
                assertThat(r.path("state").asText()).as(r.toString()).isEqualTo("needs-resync");
                alive.get(to).get(d).clear(); // the machine wrote it: every earlier point is gone
            }
        }
        ReplicationClient client = client(to);
        List<DiskStream> opened = new ArrayList<>();
        for (int d = 0; d < 2; d++) {
            DiskStream s = client.openDisk(DISKS.get(d), epoch++);
            long differing = differingChunks(from.target(d), to.target(d)) * (long) CHUNK;
            long wire0 = s.wireBytesQueued();
            long sums0 = s.checksumTrafficBytes();
            String end = "c" + cycle + "-" + to.name + "-resynced-" + d;
            try (SourceDevice src = SourceDevice.open(from.target(d))) {
                Resync.Result r = s.resync(src, Resync.Options.defaults().withChunkSize(CHUNK).withEndName(end));
                assertThat(r.consistent()).isTrue();
            }
            Reprotect cost = new Reprotect(from.name, to.name, DISKS.get(d), s.wireBytesQueued() - wire0,
                    s.checksumTrafficBytes() - sums0, differing);
            reprotects.add(cost);
            // Only the chunks that differ cross the wire (plus the resync's few control frames).
            assertThat(cost.wireBytes()).as("%s", cost).isLessThanOrEqualTo(differing * 3 / 2 + 4096);
            alive.get(to).get(d).put(end, machine[d].clone());
            opened.add(s);
        }
        streams = opened;
        liveWrites(to, cycle, 30);
    }

    /** Writes of the machine: on its disks where it runs, and streamed to {@code to}; tags every few rounds. */
    private void liveWrites(Site to, int cycle, int rounds) throws Exception {
        long ts = System.currentTimeMillis() * 1000;
        for (int i = 1; i <= rounds; i++) {
            for (int d = 0; d < 2; d++) {
                byte[] data = new byte[512 * (1 + random.nextInt(16))];
                random.nextBytes(data);
                // A hot region: a reprotect then has few chunks to send.
                long off = 512L * random.nextInt((DISK / 4 - data.length) / 512);
                write(runsAt.target(d), off, data);
                System.arraycopy(data, 0, machine[d], (int) off, data.length);
                streams.get(d).write(off, Unpooled.wrappedBuffer(data), ts + i);
            }
            if (i % 10 == 5) {
                String name = "c" + cycle + "-" + to.name + "-crash" + (++tagCounter);
                for (int d = 0; d < 2; d++) {
                    streams.get(d).tag(TagType.CRASH_CONSISTENT, name + "-" + d, ts + i);
                    alive.get(to).get(d).put(name + "-" + d, machine[d].clone());
                }
            }
            if (i % 10 == 0) {
                // An app-consistent group point: the app tag and the group tag at the same position.
                String name = "c" + cycle + "-" + to.name + "-gp" + (++tagCounter);
                for (int d = 0; d < 2; d++) {
                    streams.get(d).tag(TagType.APP_CONSISTENT, name + "-app", ts + i);
                    streams.get(d).tag(TagType.GROUP, name, ts + i);
                    alive.get(to).get(d).put(name + "-app", machine[d].clone());
                    alive.get(to).get(d).put(name, machine[d].clone());
                }
            }
        }
        killer.accept("writes sent to " + to.name + ", not yet acknowledged");
        for (DiskStream s : streams) {
            s.flush(Duration.ofSeconds(60));
        }
        restarted.remove(to);
        awaitApplied(to);
    }

    /** Test failover: the newest app-consistent group point served over NBD while replication goes on. */
    private void testFailover(Site at, int cycle) throws Exception {
        String point = newestGroupPoint(at);
        List<String> names = new ArrayList<>();
        List<String> urls = new ArrayList<>();
        publishTestFailover(at, point, names, urls);
        int killed = kills.getOrDefault(at, 0);
        liveWrites(at, cycle, 10); // replication and new points continue meanwhile
        if (kills.getOrDefault(at, 0) != killed) {
            publishTestFailover(at, point, names, urls); // a restart forgets what the NBD server published
        }
        for (int d = 0; d < 2; d++) {
            assertThat(nbdRead(urls.get(d))).as("test failover of %s, disk %d over NBD", point, d)
                    .isEqualTo(alive.get(at).get(d).get(point));
            at.delete("/v1/nbd/" + URLEncoder.encode(names.get(d), StandardCharsets.UTF_8)).expect(200, "nbd stop");
        }
    }

    private void publishTestFailover(Site at, String point, List<String> names, List<String> urls) throws Exception {
        names.clear();
        urls.clear();
        for (int d = 0; d < 2; d++) {
            JsonNode r = at.post("/v1/nbd", Map.of("disk", DISKS.get(d), "point", "tag:" + point))
                    .expect(200, "nbd " + point).body();
            names.add(r.path("name").asText());
            urls.add(r.path("url").asText());
            assertThat(r.path("warning").asText()).as("one disk of a group served alone")
                    .contains("crash-consistent only at group points");
        }
    }

    /** Fail over at {@code at} to its second newest group point, check the disks, commit. */
    private void failover(Site at) throws Exception {
        List<String> groupPoints = groupPoints(at);
        String point = groupPoints.get(groupPoints.size() - 2); // an earlier one: the commit discards a branch
        at.job("/v1/recover", Map.of("group", "g", "to", point), "recover the group to " + point);
        for (int d = 0; d < 2; d++) {
            assertThat(Files.readAllBytes(at.target(d))).as("disk %d of site %s after the failover to %s", d,
                    at.name, point).isEqualTo(alive.get(at).get(d).get(point));
        }
        JsonNode commit = at.post("/v1/commit", Map.of("group", "g")).expect(200, "commit").body();
        for (JsonNode d : commit.path("disks")) {
            assertThat(d.path("state").asText()).isEqualTo("needs-resync");
        }
        closeStreams(at);
        for (int d = 0; d < 2; d++) {
            // The branch after the point is gone: its tags, and everything the agent had received after it.
            Map<String, byte[]> live = alive.get(at).get(d);
            List<String> keys = new ArrayList<>(live.keySet());
            for (String k : keys.subList(keys.indexOf(point) + 1, keys.size())) {
                live.remove(k);
            }
            machine[d] = live.get(point).clone();
        }
        runsAt = at; // the machine now runs at this site, on these disks
    }

    /** Fail back at {@code at} to latest, commit: the disks are protected again and the machine runs here. */
    private void failBack(Site at) throws Exception {
        at.job("/v1/recover", Map.of("group", "g", "to", "latest"), "recover the group to latest");
        JsonNode commit = at.post("/v1/commit", Map.of("group", "g")).expect(200, "commit").body();
        for (JsonNode d : commit.path("disks")) {
            assertThat(d.path("state").asText()).as(commit.toString()).isEqualTo("protected");
        }
        closeStreams(at);
        for (int d = 0; d < 2; d++) {
            assertThat(Files.readAllBytes(at.target(d))).as("disk %d of site %s after the failback", d, at.name)
                    .isEqualTo(machine[d]);
        }
        runsAt = at;
    }

    /** The hypervisor detaches the machine's disks from the agent at {@code at}: release them. */
    private void release(Site at) throws Exception {
        closeStreams(at);
        for (String id : DISKS) {
            at.job("/v1/disks/" + id + "/release", null, "release " + id);
        }
    }

    // ---- the invariants ----------------------------------------------------------------------------------

    /**
     * At every step: exactly the live branch's tags are listed; every listed point exports and serves over NBD
     * equal to the model; states, health and RPO tell the truth.
     */
    void check(Site site, String step) throws Exception {
        awaitApplied(site); // after a restart the applier catches up first: "latest processed" is then latest
        JsonNode health = site.get("/health").body();
        assertThat(health.path("status").asText()).as("%s: health of %s: %s", step, site.name, health)
                .isNotEqualTo("critical");
        for (int d = 0; d < 2; d++) {
            String id = DISKS.get(d);
            JsonNode disk = site.disk(id);
            String state = disk.path("state").asText();
            if (state.equals("released")) {
                assertThat(site.get("/v1/points?disk=" + id).status()).isEqualTo(404);
                continue;
            }
            assertThat(state).as("%s: state of %s at %s (%s)", step, id, site.name, disk)
                    .isIn("protected", "needs-resync");
            if (state.equals("needs-resync")) {
                assertThat(health.toString()).as("%s: health names the resync", step).contains("MT-1004");
            } else if (!restarted.contains(site)) {
                assertThat(disk.path("rpoSeconds").isNumber() || disk.path("lastDurableSeq").asLong() == 0)
                        .as("%s: RPO of %s at %s is a number: %s", step, id, site.name, disk).isTrue();
            }
            JsonNode points = site.get("/v1/points?disk=" + id).expect(200, "points").body().path("points");
            TreeSet<String> listed = new TreeSet<>();
            Map<Long, byte[]> expected = new LinkedHashMap<>();
            for (JsonNode p : points) {
                String kind = p.path("kind").asText();
                String name = p.path("name").asText();
                long seq = p.path("seq").asLong();
                byte[] image;
                if (kind.equals("latest") || kind.equals("latest-processed")) {
                    image = machine[d];
                } else {
                    if (!kind.equals("latest-app-consistent")) {
                        listed.add(name);
                    }
                    image = alive.get(site).get(d).get(name);
                    assertThat(image).as("%s: %s lists %s on %s, which is not on the live branch", step, site.name,
                            p, id).isNotNull();
                }
                expected.put(seq, image);
            }
            assertThat(listed).as("%s: tags listed on %s at %s", step, id, site.name)
                    .isEqualTo(new TreeSet<>(alive.get(site).get(d).keySet()));
            for (Map.Entry<Long, byte[]> e : expected.entrySet()) {
                assertDeliverable(site, id, e.getKey(), e.getValue(), step);
            }
        }
        checks++;
    }

    private void assertDeliverable(Site site, String id, long seq, byte[] image, String step) throws Exception {
        Path out = site.dir.resolve("out").resolve(site.name + "-" + id + "-" + seq + ".img"); // export.dirs
        Files.createDirectories(out.getParent());
        site.job("/v1/export", Map.of("disk", id, "point", "seq:" + seq, "out", out.toString(), "overwrite", true),
                "export " + id + " seq " + seq);
        byte[] exported = Files.readAllBytes(out);
        if (!java.util.Arrays.equals(exported, image)) {
            throw new AssertionError(step + ": export of " + id + " seq " + seq + " at " + site.name + " differs from"
                    + " the model: " + difference(exported, image) + "; " + whichImage(site, id, exported));
        }
        Files.delete(out);
        JsonNode nbd = site.post("/v1/nbd", Map.of("disk", id, "point", "seq:" + seq)).expect(200, "nbd").body();
        assertThat(nbdRead(nbd.path("url").asText())).as("%s: NBD of %s seq %d at %s", step, id, seq, site.name)
                .isEqualTo(image);
        site.delete("/v1/nbd/" + URLEncoder.encode(nbd.path("name").asText(), StandardCharsets.UTF_8))
                .expect(200, "nbd stop");
    }

    /** Where two images differ: first and last differing byte, and how many 512-byte sectors. */
    private static String difference(byte[] got, byte[] want) {
        int first = java.util.Arrays.mismatch(got, want);
        int last = -1;
        int sectors = 0;
        for (int off = 0; off < Math.min(got.length, want.length); off += 512) {
            if (java.util.Arrays.mismatch(got, off, off + 512, want, off, off + 512) >= 0) {
                sectors++;
                last = off;
            }
        }
        return "first differing byte " + first + ", last differing sector at " + last + ", " + sectors + " sectors";
    }

    /** Which model image the bytes equal, if any (what the agent delivered instead). */
    private String whichImage(Site site, String id, byte[] got) {
        int d = DISKS.indexOf(id);
        for (Map.Entry<String, byte[]> e : alive.get(site).get(d).entrySet()) {
            if (java.util.Arrays.equals(e.getValue(), got)) {
                return "it equals the image of " + e.getKey();
            }
        }
        return java.util.Arrays.equals(machine[d], got) ? "it equals the machine now" : "it equals no model image";
    }

    /** Reads a whole NBD export with qemu-img (a real client). */
    private byte[] nbdRead(String url) throws Exception {
        Path out = dir.resolve("nbd-read.raw");
        Files.deleteIfExists(out);
        Process p = new ProcessBuilder("qemu-img", "convert", "-f", "raw", "-O", "raw", url, out.toString())
                .redirectErrorStream(true).start();
        String text = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor()).as("qemu-img convert %s: %s", url, text).isZero();
        return Files.readAllBytes(out);
    }

    // ---- helpers -----------------------------------------------------------------------------------------

    private ReplicationClient client(Site site) throws Exception {
        ReplicationClient c = clients.get(site);
        if (c == null || !c.isConnected()) {
            if (c != null) {
                c.close();
            }
            c = site.connect();
            clients.put(site, c);
        }
        return c;
    }

    /** The process server stops streaming to {@code site}: its connection goes (a restart must not reopen them). */
    private void closeStreams(Site site) {
        streams = List.of();
        ReplicationClient c = clients.remove(site);
        if (c != null) {
            c.close();
        }
    }

    private void awaitApplied(Site site) {
        Awaitility.await(site.name + " applies everything").atMost(Duration.ofSeconds(60))
                .pollInterval(Duration.ofMillis(20)).until(() -> {
                    for (String id : DISKS) {
                        JsonNode d = site.disk(id);
                        if (d.path("appliedSeq").asLong() != d.path("lastDurableSeq").asLong()) {
                            return false;
                        }
                    }
                    return true;
                });
    }

    private List<String> groupPoints(Site site) throws Exception {
        List<String> out = new ArrayList<>();
        for (JsonNode p : site.get("/v1/points?group=g").expect(200, "group points").body().path("points")) {
            out.add(p.path("name").asText());
        }
        assertThat(out).as("group points at %s", site.name).hasSizeGreaterThanOrEqualTo(2);
        return out;
    }

    private String newestGroupPoint(Site site) throws Exception {
        List<String> g = groupPoints(site);
        return g.get(g.size() - 1);
    }

    private static void write(Path file, long offset, byte[] data) throws Exception {
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
            f.seek(offset);
            f.write(data);
        }
    }

    /** Chunks of {@code CHUNK} bytes in which the two files differ. */
    private static long differingChunks(Path x, Path y) throws Exception {
        byte[] p = Files.readAllBytes(x);
        byte[] q = Files.exists(y) ? Files.readAllBytes(y) : new byte[p.length];
        long n = 0;
        for (int off = 0; off < p.length; off += CHUNK) {
            if (java.util.Arrays.mismatch(p, off, off + CHUNK, q, off, off + CHUNK) >= 0) {
                n++;
            }
        }
        return n;
    }

    int checks() {
        return checks;
    }

    void close() throws Exception {
        for (ReplicationClient c : clients.values()) {
            c.close();
        }
        a.close();
        b.close();
    }

    String tails() throws Exception {
        return "--- site A ---\n" + a.tail() + "\n--- site B ---\n" + b.tail();
    }
}
