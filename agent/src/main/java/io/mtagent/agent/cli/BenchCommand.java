package io.mtagent.agent.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.mtagent.agent.bench.AgentProbe;
import io.mtagent.agent.bench.AgentSpawner;
import io.mtagent.agent.bench.BaselineResult;
import io.mtagent.agent.bench.BaselineSpec;
import io.mtagent.agent.bench.BenchProfile;
import io.mtagent.agent.bench.BenchReport;
import io.mtagent.agent.bench.FioBaseline;
import io.mtagent.agent.bench.JavaBaseline;
import io.mtagent.agent.bench.LoadOptions;
import io.mtagent.agent.bench.LoadRunner;
import io.mtagent.agent.bench.ProcStats;
import io.mtagent.agent.config.AgentConfig;
import io.mtagent.agent.config.HostPort;
import io.mtagent.agent.ingest.ScratchFolder;
import io.mtagent.agent.recovery.TerminalLine;
import io.mtagent.protocol.ErrorCode;
import io.mtagent.protocol.client.ClientOptions;
import io.mtagent.protocol.client.ReplicationException;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.logging.Level;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code mtagent bench}: a load generator (a process-server simulator on {@code ReplicationClient}) that measures
 * an agent, and the same I/O pattern done by fio or a plain Java writer on the same file system in the same run.
 */
@Command(name = "bench", mixinStandardHelpOptions = true, sortOptions = false,
        description = {
            "Measure what this machine's agent can ingest before going live, the way fio and iperf3 are run:",
            "streams a load profile over TLS to a running agent (--connect) or to one started for the run in a child",
            "JVM (--spawn), then runs a baseline doing the same I/O pattern on the same file system (fio when",
            "installed, else a plain Java writer, named 'java-writer'), and prints MB/s and writes/s received and",
            "applied, ack latency p50/p99/p99.9, agent CPU seconds per GB, peak RSS and the agent/baseline ratios.",
            "",
            "Profiles: seq-1m (1 MiB sequential), rand-64k, rand-4k (random, aligned), mixed (4 KiB..1 MiB with",
            "overlapping writes and a tag every 2 s), many-disks (256 disks at 0.25 MB/s each by default).",
            "",
            "Examples:",
            "  mtagent bench --spawn --profile rand-64k --seconds 20",
            "  mtagent bench --spawn --retention off --profile seq-1m --seconds 20 --json",
            "  mtagent bench --connect 10.0.0.5:9443 --passphrase-file pw.txt --fingerprint AB:CD:.. \\",
            "                --config /etc/mtagent/mtagent.properties --profile mixed",
            "",
            "Against a running agent the bench writes to the disks it names (it is a process server): use disks",
            "that hold nothing you need. --config (the agent's own file) lets it read applied progress and the",
            "retention setting from the control API; without it 'applied' is unknown. Exit code 0 when every",
            "write was acknowledged, 1 otherwise, 2 on a usage or setup error."})
final class BenchCommand implements Callable<Integer> {
    @Option(names = "--profile", defaultValue = "rand-64k", paramLabel = "NAME",
            description = "seq-1m, rand-64k, rand-4k, mixed or many-disks (default ${DEFAULT-VALUE}).")
    String profile;

    @Option(names = "--seconds", defaultValue = "20", description = "How long to send (default ${DEFAULT-VALUE}).")
    int seconds;

    @Option(names = "--disks", description = "Disks to drive (default: the profile's: 1 for seq-1m and rand-4k,"
            + " 4 for rand-64k and mixed, 256 for many-disks).")
    Integer disks;

    @Option(names = "--connections", defaultValue = "1", description = "TLS connections; disks are spread over them"
            + " round robin (default ${DEFAULT-VALUE}).")
    int connections;

    @Option(names = "--window", defaultValue = "128", description = "Most unacknowledged writes per disk, on top of"
            + " the agent's credit (default ${DEFAULT-VALUE}).")
    int window;

    @Option(names = "--compressibility", defaultValue = "0.5", description = "Share of each 4 KiB block that is"
            + " zeros, 0 (random) to 1; LZ4 is on (default ${DEFAULT-VALUE}).")
    double compressibility;

    @Option(names = "--rate", paramLabel = "MB/s", description = "Total send rate limit over all disks (default:"
            + " none, except many-disks: 0.25 MB/s per disk).")
    Double rate;

    @Option(names = "--tag-seconds", description = "Seconds between consistency tags per disk (default: 2 for"
            + " mixed, none otherwise).")
    Integer tagSeconds;

    @Option(names = "--warmup", defaultValue = "10", description = "Seconds of the same load before measuring, not"
            + " counted (JIT compilation, TLS and page-cache warm-up), in two rounds that each connect, send, wait"
            + " for applied and disconnect like the measured run (default ${DEFAULT-VALUE}).")
    int warmup;

    @Option(names = "--seed", defaultValue = "42", description = "Workload seed (default ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--json", description = "Print the summary as JSON on stdout (progress goes to stderr).")
    boolean json;

    @Option(names = "--baseline", defaultValue = "auto", paramLabel = "auto|fio|java|none",
            description = "The same-pattern baseline: fio, the plain Java writer, or auto (fio when on the PATH);"
                    + " default ${DEFAULT-VALUE}.")
    String baseline;

    @Option(names = "--baseline-runs", defaultValue = "2", description = "Times the baseline runs; the fastest"
            + " counts (default ${DEFAULT-VALUE}). The same fio job on a shared VM swings 2-3x from minute to minute;"
            + " against the fastest of several runs the agent's ratio is the conservative one.")
    int baselineRuns;

    @Option(names = "--baseline-dir", description = "Where the baseline writes (default: the spawned agent's"
            + " folder, or the agent's cache.dir from --config, else ./mtagent-bench-baseline); removed afterwards.")
    Path baselineDir;

    // ---- a running agent ----
    @Option(names = "--connect", paramLabel = "HOST:PORT", description = "Drive a running agent's data port.")
    String connect;

    @Option(names = "--passphrase-file", description = "File holding the agent's passphrase (or set"
            + " MTAGENT_PASSPHRASE).")
    Path passphraseFile;

    @Option(names = "--fingerprint", description = "Pin the agent's certificate (SHA-256, as 'mtagent cert' prints).")
    String fingerprint;

    @Option(names = "--disk-id", paramLabel = "ID", description = "Disk to drive (repeatable; default: the first"
            + " --disks disks the control API lists).")
    List<String> diskIds = new ArrayList<>();

    @Option(names = "--epoch", description = "Stream epoch to open the disks under (default: the current Unix"
            + " time, as 'mtagent send' does, so a bench after a send is not refused as an older process server).")
    Long epoch;

    @Option(names = "--agent-pid", description = "The agent's pid on this machine, for CPU and peak RSS (/proc).")
    Long agentPid;

    @Option(names = {"-c", "--config"}, paramLabel = "FILE", description = "The agent's configuration file, for its"
            + " control API (applied progress, retention on or off).")
    Path config;

    @Option(names = "--set", paramLabel = "KEY=VALUE", description = "Override a setting of --config, or of the"
            + " spawned agent's configuration (repeatable).")
    Map<String, String> overrides = new LinkedHashMap<>();

    // ---- an agent started for the run ----
    @Option(names = "--spawn", description = "Start an agent in a child JVM for the run, on file-backed disks in"
            + " --dir.")
    boolean spawn;

    @Option(names = "--dir", defaultValue = "mtagent-bench", description = "Working folder of --spawn (default"
            + " ${DEFAULT-VALUE}): new, empty, or one an earlier bench created (it holds a " + ScratchFolder.MARKER
            + " file), which is emptied first. Any other folder is refused.")
    Path dir;

    @Option(names = "--retention", defaultValue = "on", paramLabel = "on|off", description = "Whether the spawned"
            + " agent keeps a retention journal (default ${DEFAULT-VALUE}).")
    String retention;

    @Option(names = "--sparse-disks", description = "Let the spawned agent create its disk files sparse instead of"
            + " writing them full first. A hole reads as zeros without touching the device, so before-image reads of"
            + " not yet written blocks cost nothing and retention-on figures come out better than a real disk's.")
    boolean sparseDisks;

    @Option(names = "--disk-mib", description = "Size of each spawned disk in MiB (default 1024, 16 for many-disks).")
    Integer diskMib;

    @Option(names = "--agent-java-opt", paramLabel = "OPT", description = "JVM option of the spawned agent"
            + " (repeatable), e.g. --agent-java-opt=-Xmx256m. Default: the launcher's (-Xms1g -Xmx1g"
            + " -XX:MaxDirectMemorySize=512m), so the figures are those of an installed agent.")
    List<String> agentJavaOpts = new ArrayList<>();

    /** What bin/mtagent starts the daemon with (MTAGENT_HEAP defaults to 1g). */
    static final List<String> LAUNCHER_JAVA_OPTS = List.of("-Xms1g", "-Xmx1g", "-XX:MaxDirectMemorySize=512m",
            "-XX:+ExitOnOutOfMemoryError");

    @Override
    public Integer call() throws Exception {
        LogSetup.install(Level.WARNING);
        BenchProfile p;
        try {
            p = BenchProfile.parse(profile);
        } catch (IllegalArgumentException e) {
            return usage(e.getMessage());
        }
        if (spawn == (connect != null)) {
            return usage("say which agent to measure: --spawn (start one for the run) or --connect HOST:PORT");
        }
        if (warmup < 0) {
            return usage("--warmup ≥ 0");
        }
        if (seconds < 1 || connections < 1 || window < 1 || compressibility < 0 || compressibility > 1) {
            return usage("--seconds ≥ 1, --connections ≥ 1, --window ≥ 1, --compressibility 0..1");
        }
        if (!List.of("auto", "fio", "java", "none").contains(baseline)) {
            return usage("--baseline is auto, fio, java or none");
        }
        if (baselineRuns < 1 || baselineRuns > 10) {
            return usage("--baseline-runs is 1 to 10, not " + baselineRuns);
        }
        int n = disks != null ? disks : p.defaultDisks();
        if (n < 1 || n > 4096) {
            return usage("--disks 1..4096");
        }
        double limit = rate != null ? rate : p.defaultMbPerDisk() * n;
        LoadOptions lo = new LoadOptions(p, connections, window, compressibility, Duration.ofSeconds(seconds), limit,
                tagSeconds != null ? tagSeconds : p.tagSeconds(),
                epoch != null ? epoch : Instant.now().getEpochSecond(), seed);
        try {
            return spawn ? runSpawned(lo, n) : runConnected(lo, n);
        } catch (ReplicationException e) {
            if (e.code() != ErrorCode.STALE_EPOCH) {
                throw e;
            }
            System.err.println("mtagent bench: " + e.getMessage() + "; another process server (a 'mtagent send', or a"
                    + " real one) opened the disk under a newer epoch: give --epoch higher than it (e.g. --epoch "
                    + (Instant.now().getEpochSecond() + 1) + "), and only on a scratch disk nothing else streams to");
            return 2;
        }
    }

    private int runSpawned(LoadOptions lo, int n) throws Exception {
        boolean keep = switch (retention) {
            case "on" -> true;
            case "off" -> false;
            default -> throw new IllegalStateException("--retention is on or off, not " + retention);
        };
        long mib = diskMib != null ? diskMib : lo.profile() == BenchProfile.MANY_DISKS ? 16 : 1024;
        progress(String.format("starting an agent with %d disk(s) of %d MiB in %s (retention %s)", n, mib,
                dir.toAbsolutePath().normalize(), retention));
        ScratchFolder folder = ScratchFolder.claim(dir, "bench --spawn", "--dir"); // refused before anything starts
        Path baseDir = baselineDir != null ? baselineDir : dir.resolve("baseline");
        if (!sparseDisks) {
            progress(String.format("writing %d disk file(s) of %d MiB full first (--sparse-disks skips it)", n, mib));
        }
        try (AgentSpawner agent = AgentSpawner.start(dir, n, mib << 20, keep, overrides,
                agentJavaOpts.isEmpty() ? LAUNCHER_JAVA_OPTS : agentJavaOpts, !sparseDisks)) {
            ClientOptions co = ClientOptions.builder(agent.config().dataListen().host(),
                    agent.config().dataListen().port()).passphrase(agent.passphrase())
                    .pinnedFingerprint(agent.fingerprint()).clientName("mtagent-bench").build();
            AgentProbe probe = new ControlProbe(new ControlClient(agent.config()));
            return measure(lo, n, co, agent.diskIds(), probe, keep, new ProcStats(agent.pid()), false,
                    agent.config(), baseDir, mib << 20);
        } finally {
            progress("the spawned agent's data is in " + folder.path() + " (" + folder.describeSize() + "); the next"
                    + " bench with this --dir empties it, or remove it: rm -r '" + folder.path() + "'");
        }
    }

    private int runConnected(LoadOptions lo, int n) throws Exception {
        HostPort hp;
        try {
            hp = HostPort.parse(connect);
        } catch (RuntimeException e) {
            return usage("--connect HOST:PORT, not '" + connect + "'");
        }
        char[] pass = passphrase();
        if (pass == null) {
            return usage("give the agent's passphrase with --passphrase-file FILE or the MTAGENT_PASSPHRASE"
                    + " environment variable");
        }
        ClientOptions co = ClientOptions.builder(hp.host(), hp.port()).passphrase(pass)
                .pinnedFingerprint(fingerprint).clientName("mtagent-bench").build();
        AgentConfig agentConfig = null;
        AgentProbe probe = null;
        if (config != null) {
            agentConfig = AgentConfig.load(config, overrides);
            probe = new ControlProbe(new ControlClient(agentConfig));
        }
        List<String> ids = new ArrayList<>(diskIds);
        if (ids.isEmpty()) {
            if (probe == null) {
                return usage("name the disks to drive with --disk-id (or give --config so they can be listed)");
            }
            ids.addAll(((ControlProbe) probe).diskIds());
        }
        if (ids.size() < n && disks == null) {
            n = ids.size();
        }
        if (ids.size() < n) {
            return usage("--disks " + n + " but only " + ids.size() + " disk(s) known: " + ids);
        }
        ids = ids.subList(0, n);
        Boolean keep = probe == null ? null : probe.retention();
        ProcStats proc = agentPid == null ? null : new ProcStats(agentPid);
        boolean self = agentPid != null && agentPid == ProcessHandle.current().pid();
        Path baseDir = baselineDir != null ? baselineDir
                : agentConfig != null ? agentConfig.cacheDir().resolve("bench-baseline") : Path.of("mtagent-bench-baseline");
        return measure(lo, n, co, ids, probe, keep, proc, self, agentConfig, baseDir, 0);
    }

    private int measure(LoadOptions lo, int n, ClientOptions co, List<String> ids, AgentProbe probe, Boolean keep,
                        ProcStats proc, boolean self, AgentConfig agentConfig, Path baseDir, long diskBytes)
            throws Exception {
        // Two rounds, not one: the end of a round (the wait for applied polls the control API, whose HTTP handlers
        // run through the same Netty classes as the data path) makes the JIT deoptimise and recompile the data
        // path's hot methods. With one round that recompilation fell into the measured window: JFR showed about
        // 4 s of C2 compilation in a 12 s measurement, on 2 cores the load generator shares (bench/RESULTS.md).
        int rounds = warmup >= 2 ? 2 : warmup;
        for (int round = 0; round < rounds; round++) {
            long millis = warmup * 1000L / rounds;
            progress(String.format("warming up, round %d of %d, %.1f s (not counted)", round + 1, rounds, millis / 1000.0));
            LoadOptions w = new LoadOptions(lo.profile(), lo.connections(), lo.window(), lo.compressibility(),
                    Duration.ofMillis(millis), lo.rateMbPerSecond(), lo.tagSeconds(), lo.epoch(), lo.seed() + 1 + round);
            new LoadRunner(w, co, ids, probe).run(line -> { });
        }
        boolean procOk = proc != null && proc.available();
        double cpu0 = procOk ? proc.cpuSeconds() : 0;
        ProcStats me = new ProcStats(ProcessHandle.current().pid());
        double myCpu0 = me.available() ? me.cpuSeconds() : Double.NaN;
        progress(String.format("driving %d disk(s) with %s for %d s over %d TLS connection(s)", n, lo.profile(),
                lo.duration().toSeconds(), lo.connections()));
        LoadRunner.Result r = new LoadRunner(lo, co, ids, probe).run(this::progress);
        BenchReport.AgentUsage usage = procOk
                ? new BenchReport.AgentUsage(proc.pid(), proc.cpuSeconds() - cpu0, proc.peakRssBytes(), self) : null;
        // The load generator shares the machine: its CPU is what the agent could not use.
        double loadCpu = Double.isNaN(myCpu0) ? Double.NaN : me.cpuSeconds() - myCpu0;
        BaselineResult base = null;
        List<Double> baseRuns = new ArrayList<>();
        if (!baseline.equals("none")) {
            int syncBytes = agentConfig == null ? 4 << 20 : (int) agentConfig.ingestCommitMaxBytes();
            // The agent cannot group more than the in-flight window of writes into one commit.
            syncBytes = (int) Math.min(syncBytes, (long) lo.window() * lo.profile().maxWriteBytes() * n);
            long size = diskBytes > 0 ? diskBytes : Math.max(lo.profile().maxWriteBytes(), 1L << 30);
            long perDisk = Math.max(lo.profile().maxWriteBytes(), Math.min(r.bytes() / n, 2L << 30));
            BaselineSpec spec = new BaselineSpec(lo.profile(), n, size, perDisk, Boolean.TRUE.equals(keep), syncBytes,
                    8 << 20, Duration.ofSeconds(Math.max(10, 2L * lo.duration().toSeconds())), baseDir, lo.seed());
            String fio = baseline.equals("java") ? null : FioBaseline.version();
            if (baseline.equals("fio") && fio == null) {
                throw new IllegalStateException("--baseline fio but fio is not on the PATH (apt-get install fio)");
            }
            progress("baseline: " + (fio != null ? fio : "java-writer (fio not found)") + ", " + spec.describe());
            for (int i = 0; i < baselineRuns; i++) {
                BaselineResult b = fio != null ? FioBaseline.run(spec, fio) : JavaBaseline.run(spec);
                baseRuns.add(b.mbPerSecond());
                if (base == null || b.mbPerSecond() > base.mbPerSecond()) {
                    base = b;
                }
            }
        }
        BenchReport report = new BenchReport(lo, n, keep, r, usage, base, baseRuns, loadCpu);
        if (json) {
            CliJson.print(System.out, new ObjectMapper().readTree(report.json()));
        } else {
            report.printText(System.out);
        }
        return r.allAcked() && r.unacked() == 0 ? 0 : 1;
    }

    private char[] passphrase() throws IOException {
        if (passphraseFile != null) {
            String text = Files.readString(passphraseFile, StandardCharsets.UTF_8).strip();
            return text.toCharArray();
        }
        String env = System.getenv("MTAGENT_PASSPHRASE");
        return env == null || env.isEmpty() ? null : env.toCharArray();
    }

    private boolean terminal = System.console() != null;

    /** Progress lines: rewritten in place on a terminal, else one line each (stderr with --json). */
    private void progress(String line) {
        PrintStream out = json ? System.err : System.out;
        if (line == null) {
            if (terminal) {
                out.println();
            }
            return;
        }
        if (terminal && line.startsWith("bench ")) {
            new TerminalLine(out).redraw(line);
        } else {
            out.println(line.startsWith("bench ") ? line : "bench: " + line);
        }
    }

    private static int usage(String message) {
        System.err.println("mtagent bench: " + message + " (see mtagent bench --help)");
        return 2;
    }

    /** Applied progress and the retention setting from the control API's /status. */
    private static final class ControlProbe implements AgentProbe {
        private final ControlClient client;

        ControlProbe(ControlClient client) {
            this.client = client;
        }

        private JsonNode status() {
            ControlClient.Response r = client.get("status");
            if (r.status() != 200) {
                throw new IllegalStateException("the agent's control API answered HTTP " + r.status() + ": "
                        + r.body().path("error").asText());
            }
            return r.body();
        }

        List<String> diskIds() {
            List<String> ids = new ArrayList<>();
            for (JsonNode d : status().path("disks")) {
                if (d.path("state").asText().equals("protected")) {
                    ids.add(d.path("id").asText());
                }
            }
            return ids;
        }

        @Override
        public Map<String, Long> appliedSeqs() {
            Map<String, Long> m = new HashMap<>();
            for (JsonNode d : status().path("disks")) {
                if (d.has("appliedSeq")) {
                    m.put(d.path("id").asText(), d.path("appliedSeq").asLong());
                }
            }
            return m;
        }

        @Override
        public boolean retention() {
            return !status().path("retentionVolume").path("state").asText().equals("not configured");
        }
    }
}
