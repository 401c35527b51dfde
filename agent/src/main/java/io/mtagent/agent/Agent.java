package io.mtagent.agent;

import io.micrometer.core.instrument.MeterRegistry;
import io.mtagent.agent.config.AgentConfig;
import io.mtagent.agent.disk.CacheBudget;
import io.mtagent.agent.disk.DiskRegistry;
import io.mtagent.agent.disk.TargetOpener;
import io.mtagent.agent.security.AgentIdentity;
import io.mtagent.agent.security.AuthFailureLimiter;
import io.mtagent.agent.security.PassphraseStore;
import io.mtagent.agent.server.DataServer;
import io.mtagent.agent.server.DataServerStats;
import io.mtagent.agent.storage.ApplierOptions;
import io.mtagent.agent.storage.IngestLogOptions;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.Consumer;
import java.util.logging.Logger;

/**
 * The assembled daemon: identity, passphrase verifier, disks (recovered), data server. {@link #start} returns
 * once the data server listens and every ingest log is recovered (what systemd's READY=1 will mean);
 * {@link #close} is the clean shutdown: stop accepting, make everything accepted durable, send the final ACKs,
 * say SHUTTING_DOWN, close sessions, stop appliers, close logs and targets.
 *
 * <p>Thread-safe: {@link #close} may be called from a shutdown hook while other threads read state.
 */
public final class Agent implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(Agent.class.getName());

    private final AgentConfig config;
    private final AgentIdentity identity;
    private final DiskRegistry disks;
    private final DataServer dataServer;
    private final CacheBudget cacheBudget;
    private volatile boolean closed;

    private Agent(AgentConfig config, AgentIdentity identity, DiskRegistry disks, DataServer dataServer,
                  CacheBudget cacheBudget) {
        this.config = config;
        this.identity = identity;
        this.disks = disks;
        this.dataServer = dataServer;
        this.cacheBudget = cacheBudget;
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
        Files.createDirectories(config.stateDir());
        Files.createDirectories(config.cacheDir());
        AgentIdentity identity = AgentIdentity.loadOrCreate(config.stateDir(), config.agentName());
        PassphraseStore passphrase = loadPassphrase(config);
        IngestLogOptions logOptions = IngestLogOptions.builder()
                .segmentBytes(config.ingestSegmentBytes())
                .commitMaxBytes(config.ingestCommitMaxBytes())
                .commitMaxDelayMicros(config.ingestCommitMaxDelay().toNanos() / 1000)
                .build();
        DiskRegistry disks = DiskRegistry.open(config.disks(), config.cacheDir(), config.stateDir(), logOptions,
                ApplierOptions.defaults(), config.diskQuotaBytes(), progress, targets);
        try {
            long cap = config.cacheMaxBytesFor(Files.getFileStore(config.cacheDir()).getUsableSpace());
            CacheBudget budget = new CacheBudget(cap, disks::totalBacklog);
            disks.attach(budget);
            if (config.dataInsecurePlaintext()) {
                LOG.warning("data.insecure.plaintext=true: the data port runs WITHOUT TLS. Use this only in tests.");
            }
            DataServer server = new DataServer(config.dataListen().toSocketAddress(),
                    config.dataInsecurePlaintext() ? null : identity.serverSslContext(), identity.fingerprint(),
                    config.agentName(), passphrase, new AuthFailureLimiter(), disks, budget,
                    config.dataMaxWriteBytes(), (int) Math.min(Integer.MAX_VALUE, config.dataCreditWindowBytes()),
                    new DataServerStats(registry), Math.max(2, Runtime.getRuntime().availableProcessors()));
            try {
                server.start();
            } catch (RuntimeException e) {
                server.close();
                throw new IllegalStateException("cannot listen on " + config.dataListen() + ": " + e.getMessage()
                        + " (is another agent running? change data.listen)", e);
            }
            return new Agent(config, identity, disks, server, budget);
        } catch (IOException | RuntimeException | InterruptedException e) {
            disks.close();
            throw e;
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
    public CacheBudget cacheBudget() { return cacheBudget; }

    /** Where the data server listens (the real port when 0 was configured). */
    public InetSocketAddress dataAddress() {
        return dataServer.boundAddress();
    }

    /** Clean shutdown (idempotent). */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
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
