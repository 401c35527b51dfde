package io.mtagent.agent.cli;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.mtagent.agent.Agent;
import io.mtagent.agent.config.AgentConfig;
import io.mtagent.agent.config.DiskConfig;
import io.mtagent.agent.disk.ReplicatedDisk;
import io.mtagent.agent.ingest.ScratchFolder;
import io.mtagent.agent.recovery.TerminalLine;
import io.mtagent.agent.retention.PointCatalog;
import io.mtagent.agent.security.PassphraseStore;
import io.mtagent.agent.sim.DiskModel;
import io.mtagent.agent.sim.ProcessServerSimulator;
import io.mtagent.protocol.client.ClientOptions;
import io.mtagent.protocol.client.DiskStream;
import io.mtagent.protocol.client.ReplicationClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.logging.Level;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code mtagent demo}: an agent with file-backed disks and a built-in process server streaming a mixed
 * workload over real TLS, then a byte-for-byte check of every target disk against what was sent.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = {"See replication work in a minute, with nothing to set up:",
            "starts an agent on file-backed disks (in --dir), streams a mixed workload with consistency tags from a",
            "built-in process-server simulator over TLS for --seconds, waits until every write is acknowledged and",
            "applied, then checks that every target disk equals what was sent. Exit code 0 only if it verified."})
final class DemoCommand implements Callable<Integer> {
    @Option(names = "--seconds", defaultValue = "20", description = "How long to stream (default ${DEFAULT-VALUE}).")
    int seconds;

    @Option(names = "--disks", defaultValue = "3", description = "Number of target disks (default ${DEFAULT-VALUE}).")
    int disks;

    @Option(names = "--disk-mib", defaultValue = "32", description = "Size of each disk in MiB (default ${DEFAULT-VALUE}).")
    int diskMib;

    @Option(names = "--dir", defaultValue = "demo-data", description = "Working folder (default ${DEFAULT-VALUE}): new,"
            + " empty, or one an earlier demo created (it holds a " + ScratchFolder.MARKER + " file), which is emptied"
            + " first. Any other folder is refused: the demo never deletes what mtagent did not create.")
    Path dir;

    @Option(names = "--seed", defaultValue = "42", description = "Workload seed (default ${DEFAULT-VALUE}).")
    long seed;

    @Override
    public Integer call() throws Exception {
        LogSetup.install(Level.WARNING);
        if (seconds < 1 || disks < 1 || disks > 64 || diskMib < 1 || diskMib > 1024) {
            System.err.println("mtagent demo: --seconds ≥ 1, --disks 1..64, --disk-mib 1..1024");
            return 2;
        }
        ScratchFolder folder = ScratchFolder.claim(dir, "demo", "--dir");
        folder.clear();
        Map<String, String> settings = new LinkedHashMap<>();
        settings.put("data.listen", "127.0.0.1:0");
        settings.put("control.listen", "127.0.0.1:0"); // a demo never needs, or blocks, the service's port
        settings.put("state.dir", dir.resolve("state").toString());
        settings.put("cache.dir", dir.resolve("cache").toString());
        settings.put("retention.dir", dir.resolve("retention").toString());
        settings.put("retention.allow.shared.volume", "true");
        // Bounded disk use for a demo: at a few hundred MB/s the journals would otherwise grow by GBs.
        settings.put("retention.max.bytes", "2GiB");
        settings.put("retention.segment.bytes", "16MiB");
        for (int i = 0; i < disks; i++) {
            settings.put("disk.disk" + i + ".id", "demo-disk-" + i);
            settings.put("disk.disk" + i + ".path", dir.resolve("disks").resolve("disk" + i + ".img").toString());
            settings.put("disk.disk" + i + ".size", diskMib + "MiB");
        }
        AgentConfig config = AgentConfig.of(settings);
        char[] passphrase = randomPassphrase();
        Files.createDirectories(config.stateDir());
        PassphraseStore.set(config.stateDir(), passphrase.clone(), config.authIterations());

        say("starting an agent with %d file-backed disks of %d MiB in %s", disks, diskMib, dir.toAbsolutePath().normalize());
        long started = System.nanoTime();
        try (Agent agent = Agent.start(config, new SimpleMeterRegistry(), line -> { })) {
            say("data server on %s (TLS, certificate %s)", agent.dataAddress(), agent.identity().fingerprintText());
            ClientOptions options = ClientOptions.builder("127.0.0.1", agent.dataAddress().getPort())
                    .passphrase(passphrase).pinnedFingerprint(agent.identity().fingerprintText())
                    .clientName("demo-process-server").build();
            List<DiskStream> streams = new ArrayList<>();
            List<DiskModel> models = new ArrayList<>();
            ProcessServerSimulator sim;
            try (ReplicationClient client = ReplicationClient.connect(options)) {
                for (DiskConfig d : config.disks()) {
                    streams.add(client.openDisk(d.id(), 1));
                    models.add(new DiskModel((int) d.sizeBytes()));
                }
                say("process-server simulator connected and authenticated; streaming for %d s", seconds);
                sim = new ProcessServerSimulator(streams, models, seed);
                long t0 = System.nanoTime();
                sim.start(client.maxWriteBytes(), Long.MAX_VALUE);
                Progress progress = new Progress();
                boolean asked = false;
                while (System.nanoTime() - t0 < seconds * 1_000_000_000L && sim.failure() == null) {
                    Thread.sleep(250);
                    if (!asked && System.nanoTime() - t0 > seconds * 750_000_000L) {
                        sim.captureNextAppPoint(); // a recovery point to check at the end
                        asked = true;
                    }
                    progress.show(t0, sim, agent, streams, seconds);
                }
                sim.stopAndFlush(Duration.ofSeconds(60));
                double sendSecs = (System.nanoTime() - t0) / 1e9;
                progress.done();
                say("all %d writes and %d tags acknowledged (durable): %.1f MB in %.1f s = %.1f MB/s",
                        sim.writesSent(), sim.tagsSent(), sim.bytesSent() / 1e6, sendSecs, sim.bytesSent() / 1e6 / sendSecs);
                awaitApplied(agent, Duration.ofSeconds(120));
                say("every disk applied up to its last acknowledged write");
            }
            boolean ok = verifyRecoveryPoint(agent, config.disks().get(0).id(), sim);
            for (int i = 0; i < disks; i++) {
                DiskConfig d = config.disks().get(i);
                long diff = models.get(i).firstDifference(d.path());
                if (diff < 0) {
                    say("verified %s: %s equals what was sent (%d MiB)", d.id(), d.path(), diskMib);
                } else {
                    ok = false;
                    say("MISMATCH on %s: %s differs from what was sent at byte %d", d.id(), d.path(), diff);
                }
            }
            say(ok ? "demo verified in %.1f s" : "demo FAILED verification after %.1f s", (System.nanoTime() - started) / 1e9);
            return ok ? 0 : 1;
        } finally {
            say("its data is in %s (%s); the next demo with this --dir empties it, or remove it: rm -r '%s'",
                    folder.path(), folder.describeSize(), folder.path());
        }
    }

    /** Lists the first disk's recovery points and checks its view at the captured app-consistent tag. */
    private static boolean verifyRecoveryPoint(Agent agent, String diskId, ProcessServerSimulator sim) throws Exception {
        ReplicatedDisk disk = agent.disks().byId(diskId);
        var points = PointCatalog.points(disk);
        long tags = points.stream().filter(p -> p.kind().ordinal() <= 2).count();
        say("%s holds %d recovery points (tags), plus latest and latest processed", diskId, tags);
        if (sim.capturedSeq() == 0) {
            say("no app-consistent tag was sent in the last quarter (stream longer to see one); skipping the view check");
            return true;
        }
        byte[] expected = sim.capturedImage();
        try (var view = disk.view(sim.capturedSeq(), Duration.ofSeconds(60))) {
            long t0 = System.nanoTime();
            // A MiB at a time: the demo shares its JVM (and the launcher's heap) with the agent it drives.
            boolean same = view.size() == expected.length;
            int chunk = 1 << 20;
            for (int at = 0; same && at < expected.length; at += chunk) {
                int n = Math.min(chunk, expected.length - at);
                same = Arrays.equals(view.read(at, n), 0, n, expected, at, at + n);
            }
            double secs = (System.nanoTime() - t0) / 1e9;
            if (same) {
                say("verified the point-in-time view of %s at app-consistent seq %d (read %.0f MB in %.2f s) while"
                        + " later writes were applied on top of it", diskId, sim.capturedSeq(), expected.length / 1e6, secs);
                return true;
            }
            say("MISMATCH: the point-in-time view of %s at seq %d differs from what the disk was then", diskId,
                    sim.capturedSeq());
            return false;
        }
    }

    private static void awaitApplied(Agent agent, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        for (ReplicatedDisk d : agent.disks().all()) {
            while (d.appliedSeq() < d.lastDurableSeq()) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("disk " + d.id() + " did not finish applying within " + timeout
                            + " (applied " + d.appliedSeq() + " of " + d.lastDurableSeq() + ")");
                }
                Thread.sleep(20);
            }
        }
    }

    private static char[] randomPassphrase() {
        byte[] raw = new byte[18];
        new SecureRandom().nextBytes(raw);
        return Base64.getUrlEncoder().withoutPadding().encodeToString(raw).toCharArray();
    }

    private static void say(String format, Object... args) {
        System.out.println("demo: " + String.format(format, args));
    }

    /** The live progress line: rewritten in place on a terminal, one line every 5 s otherwise. */
    private static final class Progress {
        private final boolean terminal = System.console() != null;
        private final TerminalLine line = new TerminalLine(System.out);
        private String last = "";
        private long lastPrinted;

        void show(long t0, ProcessServerSimulator sim, Agent agent, List<DiskStream> streams, int seconds) {
            long now = System.nanoTime();
            if (!terminal && now - lastPrinted < 5_000_000_000L) {
                return;
            }
            lastPrinted = now;
            double secs = (now - t0) / 1e9;
            long acked = 0;
            long sent = 0;
            for (DiskStream s : streams) {
                acked += s.ackedSeq();
                sent += s.nextSeq() - 1;
            }
            long applied = 0;
            long backlog = 0;
            for (ReplicatedDisk d : agent.disks().all()) {
                applied += d.appliedSeq();
                backlog += d.backlogBytes();
            }
            String text = String.format("demo: [%4.1f/%d s] sent %.0f MB (%.1f MB/s), acked %d, applied %d, backlog"
                    + " %.1f MB, records sent %d", secs, seconds, sim.bytesSent() / 1e6, sim.bytesSent() / 1e6 / secs,
                    acked, applied, backlog / 1e6, sent);
            if (terminal) {
                line.redraw(text);
                last = text;
            } else {
                System.out.println(text);
            }
        }

        void done() {
            if (terminal) {
                line.finish(last);
            }
        }
    }
}
