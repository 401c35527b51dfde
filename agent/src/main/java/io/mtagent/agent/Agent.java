package io.mtagent.agent;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.mtagent.agent.apply.ApplierOptions;
import io.mtagent.agent.config.AgentConfig;
import io.mtagent.agent.control.ControlServer;
import io.mtagent.agent.control.ControlledAgent;
import io.mtagent.agent.control.HeartbeatClient;
import io.mtagent.agent.control.PinnedTrust;
import io.mtagent.agent.control.RuntimeSettings;
import io.mtagent.agent.disk.CacheBudget;
import io.mtagent.agent.disk.DiskRegistry;
import io.mtagent.agent.disk.TargetOpener;
import io.mtagent.agent.ingest.IngestLogOptions;
import io.mtagent.agent.ingest.IngestMemory;
import io.mtagent.agent.journal.RetentionJournal;
import io.mtagent.agent.log.AtomicFile;
import io.mtagent.agent.recovery.ExportPathPolicy;
import io.mtagent.agent.recovery.NbdServer;
import io.mtagent.agent.recovery.NbdSetup;
import io.mtagent.agent.retention.JournalScrub;
import io.mtagent.agent.retention.RetentionEnforcer;
import io.mtagent.agent.retention.RetentionVolumeCheck;
import io.mtagent.agent.retention.RollbackService;
import io.mtagent.agent.retention.SpacePolicy;
import io.mtagent.agent.security.AgentIdentity;
import io.mtagent.agent.security.AuthFailureLimiter;
import io.mtagent.agent.security.ControlToken;
import io.mtagent.agent.security.DataDirectoryCheck;
import io.mtagent.agent.security.FileGroup;
import io.mtagent.agent.security.PassphraseStore;
import io.mtagent.agent.server.ChecksumService;
import io.mtagent.agent.server.DataServer;
import io.mtagent.agent.server.DataServerStats;
import io.mtagent.protocol.HandshakeCrypto;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.logging.Logger;
import javax.net.ssl.SSLContext;

/**
 * The assembled daemon: identity, passphrase verifier, disks (recovered), data server. {@link #start} returns
 * once the data server listens and every ingest log is recovered (what systemd's READY=1 will mean);
 * {@link #close} is the clean shutdown: stop accepting, make everything accepted durable, send the final ACKs,
 * say SHUTTING_DOWN, close sessions, stop appliers, close logs and targets.
 *
 * <p>Thread-safe: {@link #close} may be called from a shutdown hook while other threads read state.
 */
public final class Agent implements ControlledAgent, AutoCloseable {
    private static final Logger LOG = Logger.getLogger(Agent.class.getName());

    private final AgentConfig config;
    private final AgentIdentity identity;
    private final DiskRegistry disks;
    private final DataServer dataServer;
    private final CacheBudget cacheBudget;
    private final RetentionEnforcer retention;
    private final JournalScrub scrub;
    private final ScheduledExecutorService housekeeping;
    private final long startedNanos = System.nanoTime();
    private final RuntimeSettings runtimeSettings;
    private volatile ControlServer controlServer;
    private volatile InetSocketAddress controlAddress;
    private volatile HeartbeatClient heartbeat;
    private volatile NbdServer nbdServer;
    private volatile boolean closed;
    private final List<Runnable> closeHooks = new CopyOnWriteArrayList<>();

    private Agent(AgentConfig config, AgentIdentity identity, DiskRegistry disks, DataServer dataServer,
                  CacheBudget cacheBudget) throws IOException {
        this.config = config;
        this.identity = identity;
        this.disks = disks;
        this.dataServer = dataServer;
        this.cacheBudget = cacheBudget;
        this.runtimeSettings = new RuntimeSettings(config);
        this.housekeeping = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "housekeeping");
            t.setDaemon(true);
            return t;
        });
        if (config.retentionDir().isPresent()) {
            long capacity = Files.getFileStore(config.retentionDir().get()).getTotalSpace();
            this.retention = new RetentionEnforcer(disks::all, config.retentionWindow(),
                    config.retentionMaxBytesFor(capacity),
                    SpacePolicy.ofLabel(config.retentionSpacePolicy()),
                    () -> System.currentTimeMillis() * 1000);
            // At once, then every 2 s (a pass lists and stats the journal directories). It first ran 5 s after
            // start: an agent restarted more often than that, as in the power-loss test, never pruned at all.
            housekeeping.scheduleWithFixedDelay(this::enforceRetention, 0, 2, TimeUnit.SECONDS);
            this.scrub = JournalScrub.start(disks::all, config.retentionScrubDelay());
            RetentionEnforcer enforcer = this.retention;
            RetentionJournalFull full = new RetentionJournalFull(enforcer);
            for (var d : disks.all()) {
                if (d.journal() != null) {
                    d.journal().setFullHandler(full);
                }
            }
        } else {
            this.retention = null;
            this.scrub = null;
        }
    }

    /** ENOSPC on the retention volume follows the retention policy (see RetentionEnforcer#onJournalFull). */
    private record RetentionJournalFull(RetentionEnforcer enforcer)
            implements RetentionJournal.FullHandler {
        @Override
        public boolean onFull(RetentionJournal journal) throws IOException {
            return enforcer.onJournalFull(journal);
        }

        @Override
        public void recovered(RetentionJournal journal) {
            enforcer.journalRecovered();
        }
    }

    private void enforceRetention() {
        try {
            retention.enforce();
        } catch (IOException | RuntimeException e) {
            LOG.warning("retention pruning failed (will retry): " + e);
        }
    }

    /** The retention policy in force, or null when no journal is kept. */
    @Override
    public RetentionEnforcer retention() {
        return retention;
    }

    /**
     * Starts an agent.
     *
     * @param progress receives recovery progress lines (terminal, systemd STATUS=)
     * @throws IllegalStateException with the reason and the fix when the agent cannot start (no passphrase,
     *         corrupt ingest log, port in use)
     */
    public static Agent start(AgentConfig config, MeterRegistry registry, Consumer<String> progress)
            throws IOException, InterruptedException {
        return start(config, registry, progress, TargetOpener.NATIVE);
    }

    /** As {@link #start(AgentConfig, MeterRegistry, Consumer)} with the target devices opened by {@code targets}. */
    public static Agent start(AgentConfig config, MeterRegistry registry, Consumer<String> progress,
                              TargetOpener targets) throws IOException, InterruptedException {
        // First: every file from here on is private (or readable by files.group).
        DataDirectoryCheck.restrictUmask(config.filesGroup());
        AtomicFile.createDirectories(config.stateDir()); // durably: power-loss test
        AtomicFile.createDirectories(config.cacheDir());
        if (config.retentionDir().isPresent()) {
            AtomicFile.createDirectories(config.retentionDir().get()); // files.group sets it up
        }
        Map<String, Path> dataDirs = new LinkedHashMap<>();
        dataDirs.put("state.dir", config.stateDir());
        dataDirs.put("cache.dir", config.cacheDir());
        config.retentionDir().ifPresent(d -> dataDirs.put("retention.dir", d));
        DataDirectoryCheck.check(dataDirs);
        ExportPathPolicy.of(config).prepare();
        if (config.filesGroup().isPresent()) {
            List<Path> shared = new ArrayList<>(dataDirs.values());
            shared.addAll(config.exportDirs());
            FileGroup.prepareDirectories(config.filesGroup().get(), shared);
        }
        List<Path> targetsToCreate = config.disks().stream()
                .filter(d -> d.sizeBytes() > 0 && !Files.exists(d.path())).map(d -> d.path()).toList();
        AgentIdentity identity = AgentIdentity.loadOrCreate(config.stateDir(), config.agentName());
        PassphraseStore passphrase = loadPassphrase(config);
        checkRetentionVolume(config);
        for (var d : config.disks()) {
            String problem = d.pathProblem();
            if (problem != null) {
                throw new IllegalStateException(problem);
            }
        }
        RetentionJournal.setIndexCacheBytes(config.retentionIndexCacheBytes());
        IngestMemory ingestMemory = new IngestMemory();
        IngestLogOptions logOptions = IngestLogOptions.builder()
                .memory(ingestMemory)
                .segmentBytes(config.ingestSegmentBytes())
                .spareSegments(config.ingestSegmentSpares())
                .commitMaxBytes(config.ingestCommitMaxBytes())
                .commitMaxDelayMicros(config.ingestCommitMaxDelay().toNanos() / 1000)
                .build();
        DiskRegistry disks = DiskRegistry.open(config.disks(), config.cacheDir(), config.stateDir(), config.retentionDir(),
                config.retentionSegmentBytes(), logOptions, ApplierOptions.defaults().withPipelined(config.applyPipelined())
                        .withTargetLanes(config.applyTargetLanes()), config.diskQuotaBytes(), registry,
                progress, targets);
        try {
            for (Path created : targetsToCreate) {
                if (config.filesGroup().isPresent()) {
                    FileGroup.adopt(config.filesGroup().get(), created);
                }
            }
            for (var d : disks.all()) {
                if (d.journal() != null) {
                    RollbackService.resume(d);
                }
            }
            long cap = config.cacheMaxBytesFor(Files.getFileStore(config.cacheDir()).getUsableSpace());
            CacheBudget budget = new CacheBudget(cap, disks::totalBacklog,
                    config.dataMemoryMaxBytesFor(Runtime.getRuntime().maxMemory()), ingestMemory::held);
            ingestMemory.onRelease(budget::drained);
            Gauge.builder("mtagent.data.memory.held", ingestMemory,
                    IngestMemory::held).baseUnit("bytes")
                    .description("Received write bytes in memory before their group commit wrote them, all disks;"
                            + " at data.memory.max.bytes the data server stops reading until it falls below 90 %")
                    .register(registry);
            disks.attach(budget);
            if (config.dataInsecurePlaintext()) {
                LOG.warning("data.insecure.plaintext=true: the data port runs WITHOUT TLS. Use this only in tests.");
            }
            DataServer server = new DataServer(config.dataListen().toSocketAddress(),
                    config.dataInsecurePlaintext() ? null : identity.serverSslContext(), identity.fingerprint(),
                    config.agentName(), passphrase, new AuthFailureLimiter(), disks, budget,
                    config.dataMaxWriteBytes(), (int) Math.min(Integer.MAX_VALUE, config.dataCreditWindowBytes()),
                    new DataServerStats(registry), Math.max(2, Runtime.getRuntime().availableProcessors()));
            server.idleTimeout(config.dataIdleTimeout());
            server.useChecksumService(new ChecksumService(config.resyncHashThreads(),
                    config.resyncHashRate()));
            try {
                server.start();
            } catch (Exception e) { // Netty throws the BindException without declaring it
                server.close();
                if (e instanceof InterruptedException ie) {
                    throw ie;
                }
                throw ListenFailure.of("the data server", "data.listen", config.dataListen(), e);
            }
            Agent agent = new Agent(config, identity, disks, server, budget);
            try {
                agent.startNbd();
                agent.startControlPlane(registry);
            } catch (RuntimeException | InterruptedException e) {
                agent.close();
                throw e;
            }
            return agent;
        } catch (IOException | RuntimeException | InterruptedException e) {
            disks.close();
            throw e;
        }
    }

    /** Refuses to start on a retention volume that breaks a rule, naming every rule it breaks. */
    private static void checkRetentionVolume(AgentConfig config) {
        if (config.retentionDir().isEmpty()) {
            return;
        }
        Path install = null;
        try {
            install = Path.of(Agent.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        } catch (Exception e) {
            // unknown install location: that rule is skipped
        }
        var failures = RetentionVolumeCheck.check(config.retentionDir().get(), install,
                config.cacheDir(), config.disks().stream().map(d -> d.path()).toList(), config.retentionAllowSharedVolume(),
                RetentionVolumeCheck.minimumBytes(config.retentionSegmentBytes(),
                        config.disks().size()));
        if (!failures.isEmpty()) {
            StringBuilder sb = new StringBuilder("the retention volume retention.dir=" + config.retentionDir().get()
                    + " is refused:");
            failures.forEach(f -> sb.append("\n  [").append(f.rule()).append("] ").append(f.message()));
            sb.append("\n  (run 'mtagent retention check PATH' to test another location)");
            throw new IllegalStateException(sb.toString());
        }
        if (config.retentionAllowSharedVolume()) {
            LOG.warning("retention.allow.shared.volume=true: the retention journals may share a volume with the cache"
                    + " or the install; fine for a demo or tests, not for production");
        }
    }

    /**
     * The read-only NBD server for point-in-time views (test failover): the Unix socket {@code nbd.socket} for
     * local readers and, with {@code nbd.listen}, a TCP port that requires TLS client certificates
     * ({@link NbdSetup}). It serves nothing until an export is added through the control
     * API.
     */
    private void startNbd() throws InterruptedException {
        NbdServer server = NbdSetup.fromConfig(config);
        try {
            nbdServer = server.start();
        } catch (InterruptedException e) {
            throw e;
        } catch (Exception e) { // Netty throws the BindException without declaring it
            throw new IllegalStateException("cannot start the NBD server (nbd.socket " + config.nbdSocket()
                    + config.nbdListen().map(l -> ", nbd.listen " + l).orElse("") + "): " + e.getMessage()
                    + "; change that setting, or stop what holds it", e);
        }
    }

    /** The NBD server (null only while starting). */
    public NbdServer nbdServer() {
        return nbdServer;
    }

    /** Control server after the data server (issue 6), then the heartbeat client if one is configured. */
    private void startControlPlane(MeterRegistry registry) throws InterruptedException {
        ControlToken token = ControlToken.loadOrCreate(config.controlTokenFile());
        ControlServer control = new ControlServer(this, identity.serverSslContext(), token, runtimeSettings, registry);
        controlServer = control;
        try {
            controlAddress = control.start();
        } catch (InterruptedException e) {
            throw e;
        } catch (Exception e) { // Netty throws the BindException without declaring it
            throw ListenFailure.of("the control API", "control.listen", config.controlListen(), e);
        }
        if (!config.configServerUrl().isEmpty()) {
            SSLContext tls;
            try {
                if (config.configServerCaFile().isPresent()) {
                    tls = PinnedTrust.fromPemFile(config.configServerCaFile().get());
                } else if (!config.configServerFingerprint().isEmpty()) {
                    tls = PinnedTrust.pinned(HandshakeCrypto.parseFingerprint(config.configServerFingerprint()));
                } else {
                    tls = SSLContext.getDefault();
                }
            } catch (IOException | GeneralSecurityException e) {
                throw new IllegalStateException("cannot set up TLS to the configuration server: " + e.getMessage()
                        + " (check configserver.ca.file or configserver.fingerprint)", e);
            }
            heartbeat = new HeartbeatClient(this, control.report(), runtimeSettings, tls);
            heartbeat.start();
        }
    }

    private static PassphraseStore loadPassphrase(AgentConfig config) {
        var stored = PassphraseStore.load(config.stateDir());
        if (stored.isPresent()) {
            return stored.get();
        }
        if (config.authPassphraseFile().isPresent()) {
            return PassphraseStore.setFromFile(config.stateDir(), config.authPassphraseFile().get(), config.authIterations());
        }
        throw new IllegalStateException("no passphrase is set for process servers: run 'mtagent passphrase set --config "
                + "<file>' or set auth.passphrase.file (state directory: " + config.stateDir() + ")");
    }

    public AgentConfig config() { return config; }
    public AgentIdentity identity() { return identity; }
    public DiskRegistry disks() { return disks; }
    public DataServerStats dataStats() { return dataServer.stats(); }
    public DataServer dataServer() { return dataServer; }
    public CacheBudget cacheBudget() { return cacheBudget; }

    /** Where the data server listens (the real port when 0 was configured). */
    public InetSocketAddress dataAddress() {
        return dataServer.boundAddress();
    }

    /** The control server (null only while starting). */
    public ControlServer controlServer() {
        return controlServer;
    }

    /** Where the control server listens (the real port when 0 was configured). */
    public InetSocketAddress controlAddress() {
        return controlAddress;
    }

    /** The settings that may change at run time (health thresholds). */
    public RuntimeSettings runtimeSettings() {
        return runtimeSettings;
    }

    /** The heartbeat client, or null when no configuration server is configured. */
    public HeartbeatClient heartbeat() {
        return heartbeat;
    }

    public Duration uptime() {
        return Duration.ofNanos(System.nanoTime() - startedNanos);
    }

    public boolean dataServerListening() {
        return dataServer.isListening();
    }

    public int dataSessions() {
        return dataServer.sessionCount();
    }

    /**
     * Runs {@code hook} first thing in {@link #close}, while everything still runs (an embedder's last look: the
     * tests check the final metrics there). A hook's exception is rethrown once the close is complete.
     */
    public void onClose(Runnable hook) {
        closeHooks.add(hook);
    }

    /** Clean shutdown (idempotent). */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        Throwable hookFailure = null;
        for (Runnable hook : closeHooks) {
            try {
                hook.run();
            } catch (RuntimeException | Error e) {
                hookFailure = e;
            }
        }
        shutDown();
        if (hookFailure instanceof Error e) {
            throw e;
        }
        if (hookFailure != null) {
            throw (RuntimeException) hookFailure;
        }
    }

    private void shutDown() {
        housekeeping.shutdownNow();
        if (scrub != null) {
            scrub.close();
        }
        HeartbeatClient hb = heartbeat;
        if (hb != null) {
            hb.close();
        }
        ControlServer control = controlServer;
        if (control != null) {
            control.close();
        }
        var nbd = nbdServer;
        if (nbd != null) {
            nbd.close();
        }
        LOG.info("shutting down: no new connections; flushing ingest logs");
        dataServer.stopAccepting();
        try {
            disks.flushAll();
        } catch (IOException e) {
            LOG.severe("flushing ingest logs on shutdown failed: " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        dataServer.closeSessions();
        dataServer.close();
        try {
            disks.close();
        } catch (IOException e) {
            LOG.severe("closing disks failed: " + e.getMessage());
        }
        LOG.info("shutdown complete");
    }

    /** For the demo and tests: where an agent's state lives. */
    public Path stateDir() {
        return config.stateDir();
    }
}
