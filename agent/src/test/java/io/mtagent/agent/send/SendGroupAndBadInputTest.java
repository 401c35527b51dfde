package io.mtagent.agent.send;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.mtagent.agent.Agent;
import io.mtagent.agent.TestAgents;
import io.mtagent.agent.disk.ReplicatedDisk;
import io.mtagent.agent.retention.PointCatalog;
import io.mtagent.nativeio.nbd.NbdTestServers;
import io.mtagent.protocol.DiskState;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Several disks in one {@code mtagent send} run end with one group point that {@code points --group} lists and
 * {@code recover --group} brings both disks back to; and every bad input is one line naming it, exit 2, with
 * nothing sent on any disk of the run.
 */
class SendGroupAndBadInputTest {
    private static final long SIZE = 16L << 20;
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    private Map<String, String> settings() {
        Map<String, String> s = TestAgents.settingsWithRetention(dir, 2, SIZE);
        s.put("disk.d0.group", "vm1");
        s.put("disk.d1.group", "vm1");
        return s;
    }

    @Test
    void twoDisksOneRunOneGroupPointThatRecoverAccepts() throws Exception {
        NbdTestServers.assumeTools("nbdkit");
        Path a = dir.resolve("a.img");
        Path b = dir.resolve("b.img");
        SplittableRandom random = new SplittableRandom(28);
        scribble(a, random, 8);
        scribble(b, random, 8);
        Map<String, String> s = settings();
        try (Agent agent = TestAgents.start(s);
             NbdTestServers.Server na = NbdTestServers.nbdkit(dir, "a", "file", "file=" + a);
             NbdTestServers.Server nb = NbdTestServers.nbdkit(dir, "b", "file", "file=" + b)) {
            SendCli cli = new SendCli(agent, dir, s);
            // disk-1 by its configured name d1: the agent resolves it to the id.
            SendCli.Run first = cli.send("--disk", "disk-0", "--source", na.uri(), "--disk", "d1", "--source", nb.uri(),
                    "--name", "gp1", "--json");
            assertThat(first.exit()).as(first.err()).isZero();
            assertThat(JSON.readTree(first.out()).path("groupPoint").asText()).isEqualTo("gp1");
            byte[] a1 = Files.readAllBytes(a);
            byte[] b1 = Files.readAllBytes(b);

            scribble(a, random, 3);
            scribble(b, random, 3);
            SendCli.Run second = cli.send("--disk", "disk-0", "--source", na.uri(), "--disk", "disk-1", "--source",
                    nb.uri(), "--name", "gp2", "--tag", "app2");
            assertThat(second.exit()).as(second.err()).isZero();
            assertThat(second.out()).contains("group point 'gp2' on 2 disk(s)", "app-consistent tag 'app2' on 2 disk(s)");
            TestAgents.awaitApplied(agent, Duration.ofSeconds(30));
            assertThat(Files.mismatch(TestAgents.target(dir, 0), a)).isEqualTo(-1);
            assertThat(Files.mismatch(TestAgents.target(dir, 1), b)).isEqualTo(-1);

            SendCli.Run points = cli.control("points", "--group", "vm1", "--json");
            assertThat(points.exit()).as(points.err()).isZero();
            List<String> names = JSON.readTree(points.out()).path("points").findValuesAsText("name");
            assertThat(names).containsExactly("gp1", "gp2");

            SendCli.Run recover = cli.control("recover", "--group", "vm1", "--to", "gp1", "--yes");
            assertThat(recover.exit()).as(recover.err()).isZero();
            assertThat(Arrays.mismatch(Files.readAllBytes(TestAgents.target(dir, 0)), a1)).isEqualTo(-1);
            assertThat(Arrays.mismatch(Files.readAllBytes(TestAgents.target(dir, 1)), b1)).isEqualTo(-1);
        }
    }

    @Test
    void aDiskThatFailsMidRunLeavesNoGroupPointAndTheNextRunMakesIt() throws Exception {
        NbdTestServers.assumeTools("nbdkit");
        Path a = dir.resolve("a.img");
        Path b = dir.resolve("b.img");
        SplittableRandom random = new SplittableRandom(31);
        scribble(a, random, 32);
        scribble(b, random, 32);
        Map<String, String> s = settings();
        try (Agent agent = TestAgents.start(s);
             NbdTestServers.Server na = NbdTestServers.nbdkit(dir, "a", "file", "file=" + a)) {
            SendCli cli = new SendCli(agent, dir, s);
            ReplicatedDisk d1 = agent.disks().byId("disk-1");
            SendCli.Run run;
            String bUri;
            try (NbdTestServers.Server nb = NbdTestServers.nbdkit(dir, "b", "file", "file=" + b)) {
                bUri = nb.uri();
                CompletableFuture<SendCli.Run> sending = CompletableFuture.supplyAsync(() -> cli.send("--disk",
                        "disk-0", "--source", na.uri(), "--disk", "disk-1", "--source", nb.uri(), "--rate", "2MiB",
                        "--name", "gp-cut"));
                await().atMost(Duration.ofSeconds(60)).until(() -> d1.resyncStats().resyncBytes() >= 512L << 10);
                nb.close(); // disk-1's NBD server dies mid-run
                run = sending.get(2, TimeUnit.MINUTES);
            }
            List<ReplicatedDisk> members = List.of(agent.disks().byId("disk-0"), d1);
            assertThat(PointCatalog.groupPoints(members)).as("group points").isEmpty();
            assertThat(run.exit()).isEqualTo(2);
            assertThat(run.err()).contains("mtagent send: disk-1: " + bUri + ": read ");
            assertThat(run.out()).contains("no group point: not every disk ended consistent");

            try (NbdTestServers.Server nb = NbdTestServers.nbdkit(dir, "b2", "file", "file=" + b)) {
                SendCli.Run again = cli.send("--disk", "disk-0", "--source", na.uri(), "--disk", "disk-1", "--source",
                        nb.uri(), "--name", "gp-ok");
                assertThat(again.exit()).as(again.err()).isZero();
            }
            assertThat(PointCatalog.groupPoints(members)).containsOnlyKeys("gp-ok");
            TestAgents.awaitApplied(agent, Duration.ofSeconds(30));
            assertThat(Files.mismatch(TestAgents.target(dir, 1), b)).isEqualTo(-1);
        }
    }

    @Test
    void badInputsAreOneLineExitTwoAndNothingSent() throws Exception {
        NbdTestServers.assumeTools("nbdkit", "qemu-img", "qemu-nbd");
        Path img = dir.resolve("vm.qcow2");
        NbdTestServers.run("qemu-img", "create", "-q", "-f", "qcow2", img.toString(), String.valueOf(SIZE));
        NbdTestServers.run("qemu-img", "bitmap", "--add", "--enable", img.toString(), "b0");
        Path psk = dir.resolve("server.psk");
        Files.writeString(psk, "alice:" + "0123456789abcdef".repeat(4) + "\n");
        Path wrongPsk = dir.resolve("client.psk");
        Files.writeString(wrongPsk, "alice:" + "fedcba9876543210".repeat(4) + "\n");
        Map<String, String> s = settings();
        try (Agent agent = TestAgents.start(s);
             NbdTestServers.Server qemu = NbdTestServers.qemuNbd(dir, "q", img, "qcow2", "b0");
             NbdTestServers.Server plain = NbdTestServers.nbdkit(dir, "plain", "memory", String.valueOf(SIZE));
             NbdTestServers.Server noSr = NbdTestServers.nbdkit(dir, "nosr", "--no-sr", "memory", String.valueOf(SIZE));
             NbdTestServers.Server big = NbdTestServers.nbdkit(dir, "big", "memory", String.valueOf(2 * SIZE));
             NbdTestServers.Server tls = NbdTestServers.nbdkit(dir, "tls", "--tls=require", "--tls-psk=" + psk,
                     "memory", String.valueOf(SIZE))) {
            SendCli cli = new SendCli(agent, dir, s);
            refused(agent, cli.send("--disk", "disk-0", "--source", qemu.uri(), "--bitmap", "nope"),
                    "disk disk-0: the NBD export", "has no dirty bitmap 'nope' (it exports: b0)", "qemu-nbd --bitmap=nope");
            refused(agent, cli.send("--disk", "disk-0", "--source", noSr.uri(), "--bitmap", "b0"),
                    "offers no metadata contexts", "cannot report dirty bitmap 'b0'");
            refused(agent, cli.send("--disk", "disk-0", "--source", big.uri()),
                    "disk disk-0: the source " + big.uri() + " is 33554432 bytes but the agent's disk is 16777216 bytes");
            refused(agent, cli.send("--disk", "disk-0", "--source", "nbd+unix:///?socket=" + dir.resolve("gone.sock")),
                    "disk disk-0: NBD source cannot connect to nbd+unix:///?socket=", "No such file");
            refused(agent, cli.send("--disk", "disk-0", "--source", "nbd://127.0.0.1:1/"),
                    "cannot connect to nbd://127.0.0.1:1/", "refused");
            refused(agent, cli.send("--disk", "disk-0", "--source", "nbds+unix:///?socket=" + plain.socket()),
                    "cannot connect to nbds+unix:///?socket=", "server offers no TLS");
            refused(agent, cli.send("--disk", "disk-0", "--source", "nbds+unix://alice@/?socket=" + tls.socket()
                    + "&tls-psk-file=" + wrongPsk), "cannot connect to nbds+unix://alice@/", "tls-psk-file=FILE");
            refused(agent, cli.send("--disk", "disk-0", "--source", img.toString(), "--bitmap", "b0"),
                    "--bitmap b0 needs an NBD source");
            // Two disks, the second one wrong: the first is not sent either.
            refused(agent, cli.send("--disk", "disk-0", "--source", plain.uri(), "--disk", "disk-1", "--source",
                    qemu.uri(), "--bitmap", "nope"), "disk disk-1: the NBD export");
            refused(agent, cli.send("--disk", "disk-0", "--source", plain.uri(), "--disk", "disk-1", "--source",
                    big.uri()), "disk disk-1: the source");
            // The right PSK gets through (the refusal above was the key, not the setup).
            SendCli.Run ok = cli.send("--disk", "disk-0", "--source", "nbds+unix://alice@/?socket=" + tls.socket()
                    + "&tls-psk-file=" + psk);
            assertThat(ok.exit()).as(ok.err()).isZero();
        }
    }

    /** Exit 2, one "mtagent send:" line holding every fragment, and no disk of the agent received anything. */
    private static void refused(Agent agent, SendCli.Run run, String... fragments) {
        assertThat(run.exit()).as(run.err()).isEqualTo(2);
        List<String> lines = run.err().lines().filter(l -> l.startsWith("mtagent send:")).toList();
        assertThat(lines).hasSize(1);
        assertThat(lines.get(0)).contains(fragments);
        assertThat(run.out()).doesNotContain("recovery point");
        for (ReplicatedDisk d : agent.disks().all()) {
            assertThat(d.lastDurableSeq()).as("disk %s received nothing", d.id()).isZero();
            assertThat(d.state()).isEqualTo(DiskState.PROTECTED);
        }
    }

    private static void scribble(Path file, SplittableRandom r, int blocks) throws Exception {
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
            f.setLength(SIZE);
            byte[] b = new byte[128 << 10];
            for (int i = 0; i < blocks; i++) {
                r.nextBytes(b);
                f.seek(r.nextLong(SIZE / b.length) * b.length);
                f.write(b);
            }
        }
    }
}
