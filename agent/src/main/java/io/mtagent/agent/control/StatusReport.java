package io.mtagent.agent.control;

import io.mtagent.agent.config.BuildInfo;
import io.mtagent.agent.config.DiskConfig;
import io.mtagent.agent.disk.DiskRegistry;
import io.mtagent.agent.disk.ReplicatedDisk;
import io.mtagent.agent.ingest.DiskStateStore;
import io.mtagent.agent.journal.RecoveryPoint;
import io.mtagent.agent.retention.PointCatalog;
import io.mtagent.agent.retention.RetentionEnforcer;
import io.mtagent.agent.retention.RollbackService;
import io.mtagent.agent.retention.SpacePolicy;
import io.mtagent.protocol.DiskState;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Supplier;

/**
 * Builds the documents of {@code /status}, {@code /health} and {@code /v1/disks} (plain maps and lists that
 * Jackson renders; nulls are kept so a field's absence of value is explicit), and evaluates the health rules.
 *
 * <p>Thread-safe: reads the agent's thread-safe state only.
 */
public final class StatusReport {
    private final ControlledAgent agent;
    private final RuntimeSettings settings;
    private final RateTracker rates;
    private final Supplier<List<Map<String, Object>>> jobs;

    public StatusReport(ControlledAgent agent, RuntimeSettings settings, RateTracker rates) {
        this(agent, settings, rates, List::of);
    }

    /** @param jobs the control API's jobs (long operations report their progress in {@code /status}) */
    public StatusReport(ControlledAgent agent, RuntimeSettings settings, RateTracker rates,
                        Supplier<List<Map<String, Object>>> jobs) {
        this.agent = agent;
        this.settings = settings;
        this.rates = rates;
        this.jobs = jobs;
    }

    /** The agent's version as the build stamped it ({@link BuildInfo}), "unknown" when run from unfiltered classes. */
    public static String version() {
        return BuildInfo.current().version();
    }

    /** Usable bytes on the cache volume, -1 if it cannot be read. */
    public long cacheFreeBytes() {
        try {
            return Files.getFileStore(agent.config().cacheDir()).getUsableSpace();
        } catch (IOException e) {
            return -1;
        }
    }

    /** Net bytes per second the ingest logs grow by (their backlog's growth, all disks; negative while draining). */
    public double cacheChurn() {
        double churn = 0;
        for (ReplicatedDisk d : agent.disks().all()) {
            churn += rates.rates(d.id()).backlogBytesPerSecond();
        }
        return churn;
    }

    public Double rpoForecast(ReplicatedDisk d) {
        return RateTracker.rpoForecastSeconds(d.rpoSeconds(), settings.rpoThreshold().toMillis() / 1000.0,
                rates.rates(d.id()), d.backlogBytes(), agent.config().diskQuotaBytes());
    }

    public Map<String, Object> status() {
        Map<String, Object> m = new LinkedHashMap<>();
        Map<String, Object> a = new LinkedHashMap<>();
        a.put("name", agent.config().agentName());
        a.put("version", version());
        a.put("revision", BuildInfo.current().revision());
        a.put("java", BuildInfo.java());
        a.put("uptimeSeconds", agent.uptime().toSeconds());
        a.put("certificateFingerprint", agent.identity().fingerprintText());
        m.put("agent", a);
        Map<String, Object> data = new LinkedHashMap<>();
        data.put("listening", agent.dataServerListening());
        data.put("address", agent.dataAddress().toString());
        data.put("sessions", agent.dataSessions());
        m.put("dataServer", data);
        Map<String, Object> cache = new LinkedHashMap<>();
        long free = cacheFreeBytes();
        cache.put("path", agent.config().cacheDir().toString());
        cache.put("freeBytes", free);
        cache.put("capBytes", agent.cacheBudget().capBytes());
        cache.put("backlogBytes", agent.disks().totalBacklog());
        double churn = cacheChurn();
        cache.put("churnBytesPerSecond", churn);
        cache.put("fullForecastSeconds", RateTracker.fillForecastSeconds(free, churn));
        m.put("cacheVolume", cache);
        m.put("retentionVolume", retentionVolume());
        m.put("pointInTimeRecovery", pointInTimeRecovery());
        Map<String, Object> policy = new LinkedHashMap<>();
        policy.put("rpoThresholdSeconds", settings.rpoThreshold().toSeconds());
        policy.put("appConsistentFrequencySeconds", settings.appConsistentFrequency().toSeconds());
        m.put("policy", policy);
        Health h = health();
        m.put("health", h.status());
        m.put("disks", disks());
        m.put("jobs", jobs.get());
        return m;
    }

    /**
     * Whether earlier points can be recovered at all: {@code {"on": bool, "why": text}}. Off when no retention journal
     * is kept, which an operator must learn before failover, not during it.
     */
    private Map<String, Object> pointInTimeRecovery() {
        Map<String, Object> p = new LinkedHashMap<>();
        boolean on = agent.retention() != null && agent.config().retentionDir().isPresent();
        p.put("on", on);
        p.put("why", on ? "retention journals in " + agent.config().retentionDir().get() + ", window "
                + agent.retention().window().toHours() + " h" : NO_JOURNAL);
        return p;
    }

    private static final String NO_JOURNAL = "retention.dir is not set, so no retention journal is kept: only the"
            + " disks' current state can be recovered, no earlier point (set retention.dir to a dedicated volume and"
            + " restart; 'mtagent retention check PATH' tests one)";

    /** The retention volume and policy (agent level): policy, cap, journal bytes, window shortened, holding. */
    private Map<String, Object> retentionVolume() {
        Map<String, Object> r = new LinkedHashMap<>();
        RetentionEnforcer e = agent.retention();
        if (e == null || agent.config().retentionDir().isEmpty()) {
            r.put("state", "not configured");
            r.put("path", null);
            r.put("freeBytes", null);
            r.put("fullForecastSeconds", null);
            return r;
        }
        Path dir = agent.config().retentionDir().get();
        r.put("state", !usable(dir) ? "unusable" : e.holding() ? "holding (" + e.policy().label() + ")"
                : e.windowShortened() ? "window shortened" : "ok");
        r.put("path", dir.toString());
        long free;
        try {
            free = Files.getFileStore(dir).getUsableSpace();
        } catch (IOException ex) {
            free = -1;
        }
        r.put("freeBytes", free);
        // Pruning keeps the journals under their cap (or holds replication): the volume does not fill by growth.
        r.put("fullForecastSeconds", null);
        r.put("policy", e.policy().label());
        r.put("windowSeconds", e.window().toSeconds());
        r.put("capBytes", e.capBytes());
        r.put("journalBytes", e.journalBytes());
        r.put("windowShortened", e.windowShortened());
        r.put("holding", e.holding());
        return r;
    }

    private static boolean usable(Path dir) {
        return Files.isDirectory(dir) && Files.isWritable(dir);
    }

    /** Per disk: journal bytes, earliest recoverable point, window held vs policy, rollback state. */
    private void diskRetention(ReplicatedDisk d, Map<String, Object> m) {
        RetentionEnforcer e = agent.retention();
        if (d.journal() == null || e == null) {
            m.put("retentionWindowSeconds", null);
            m.put("retentionPolicySeconds", null);
            m.put("retention", "not configured");
            return;
        }
        long journalBytes;
        try {
            journalBytes = d.journal().sizeBytes();
        } catch (IOException ex) {
            journalBytes = -1;
        }
        RecoveryPoint earliest = PointCatalog.earliest(d);
        long nowMicros = System.currentTimeMillis() * 1000;
        m.put("retentionWindowSeconds", earliest.timestampMicros() < 0 ? null
                : Math.max(0, nowMicros - earliest.timestampMicros()) / 1_000_000);
        m.put("retentionPolicySeconds", e.window().toSeconds());
        m.put("retention", d.journal().damage() == null ? "journaled" : "damaged");
        m.put("journalBytes", journalBytes);
        m.put("journalDamage", d.journal().damage());
        Map<String, Object> er = new LinkedHashMap<>();
        er.put("seq", earliest.seq());
        er.put("time", RecoveryRequests.iso(earliest.timestampMicros()));
        m.put("earliestRecoverable", er);
        String rollback;
        try {
            rollback = RollbackService.describe(d);
        } catch (IOException ex) {
            rollback = "unreadable: " + ex.getMessage();
        }
        m.put("rollback", rollback);
    }

    public List<Map<String, Object>> disks() {
        DiskRegistry registry = agent.disks();
        List<Map<String, Object>> list = new ArrayList<>();
        for (DiskConfig c : registry.declared()) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("id", c.id());
            m.put("name", c.name());
            m.put("path", c.path().toString());
            ReplicatedDisk d = registry.byId(c.id());
            if (d == null) {
                m.put("state", "released");
                m.put("reason", "released through the control API; POST /v1/disks/" + c.id() + "/attach to open it");
                list.add(m);
                continue;
            }
            DiskState state = d.state();
            m.put("state", state.label());
            m.put("reason", d.stateReason().isEmpty() ? null : d.stateReason());
            m.put("sizeBytes", d.sizeBytes());
            m.put("rpoSeconds", d.rpoSeconds());
            m.put("rpoForecastSeconds", rpoForecast(d));
            m.put("backlogBytes", d.backlogBytes());
            m.put("lastAcceptedSeq", d.lastAcceptedSeq());
            m.put("lastDurableSeq", d.lastDurableSeq());
            m.put("appliedSeq", d.appliedSeq());
            // Who holds the applier (operator, retention-cap, rollback): a disk whose state is protected can still be
            // held by the retention volume's pause-apply, and that is why its backlog grows.
            m.put("applyHeldBy", d.applyControl().holds().stream()
                    .map(h -> h.name().toLowerCase(Locale.ROOT).replace('_', '-')).sorted().toList());
            m.put("resync", resync(d));
            RateTracker.Rates r = rates.rates(d.id());
            m.put("ingestBytesPerSecond", r.ingestBytesPerSecond());
            m.put("applyBytesPerSecond", r.applyBytesPerSecond());
            long app = d.lastAppConsistentMicros();
            m.put("lastAppConsistentAgeSeconds", app == 0 ? null
                    : Math.max(0, System.currentTimeMillis() * 1000 - app) / 1_000_000);
            Throwable applierError = d.applyControl().lastError();
            IOException logError = d.ingestLog().failure();
            m.put("lastError", logError != null ? logError.getMessage()
                    : applierError != null ? String.valueOf(applierError.getMessage()) : null);
            diskRetention(d, m);
            list.add(m);
        }
        return list;
    }

    /** The resync in progress (SPEC.md §12) with its hashing progress and ETA, or hashing counters, or null. */
    static Map<String, Object> resync(ReplicatedDisk d) {
        Map<String, Object> m = d.resyncStats().status();
        DiskStateStore.Resync r = d.resync();
        if (m != null && r != null) {
            Map<String, Object> withId = new LinkedHashMap<>();
            withId.put("id", Long.toUnsignedString(r.id()));
            withId.put("mode", r.mode());
            withId.put("chunkSize", r.chunkSize());
            withId.put("startSeq", r.startSeq());
            withId.putAll(m);
            return withId;
        }
        return m;
    }

    /** True when the failure came out of the retention journal (its code is on the stack). */
    static boolean journalFailure(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause() == c ? null : c.getCause()) {
            for (StackTraceElement e : c.getStackTrace()) {
                if (e.getClassName().startsWith("io.mtagent.agent.retention.")) {
                    return true;
                }
            }
        }
        return false;
    }

    /** The overall state and every failing rule. */
    public record Health(HealthRule.Severity severity, List<HealthFinding> findings) {
        public Map<String, Object> status() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("status", severity.label());
            m.put("rules", findings);
            return m;
        }
    }

    public Health health() {
        List<HealthFinding> findings = new ArrayList<>();
        if (!agent.dataServerListening()) {
            findings.add(HealthFinding.of(HealthRule.DATA_SERVER_DOWN, "the data server does not listen on "
                    + agent.config().dataListen(), null));
        }
        long free = cacheFreeBytes();
        if (agent.cacheBudget().cacheVolumeOverCap() || (free >= 0 && free < agent.config().ingestSegmentBytes())) {
            findings.add(HealthFinding.of(HealthRule.CACHE_VOLUME_FULL, "the ingest logs hold "
                    + agent.disks().totalBacklog() + " bytes of a cap of " + agent.cacheBudget().capBytes()
                    + "; " + free + " bytes are free on " + agent.config().cacheDir(), null));
        }
        double threshold = settings.rpoThreshold().toMillis() / 1000.0;
        long appFrequencyMicros = settings.appConsistentFrequency().toMillis() * 1000;
        long nowMicros = System.currentTimeMillis() * 1000;
        // A disk whose newest app-consistent tag is unknown (none held on disk) gets one frequency of grace after start.
        boolean upLongEnough = agent.uptime().toMillis() * 1000 > appFrequencyMicros;
        RetentionEnforcer retention = agent.retention();
        if (retention == null || agent.config().retentionDir().isEmpty()) {
            findings.add(HealthFinding.of(HealthRule.POINT_IN_TIME_RECOVERY_OFF, NO_JOURNAL, null));
        }
        if (retention != null && retention.windowShortened()) {
            findings.add(HealthFinding.of(HealthRule.RETENTION_WINDOW_SHORT, "the retention cap of "
                    + retention.capBytes() + " bytes was reached before the " + retention.window().toHours()
                    + " h window: the oldest points were pruned early (journals hold " + retention.journalBytes()
                    + " bytes)", null));
        }
        if (retention != null && agent.config().retentionDir().isPresent()
                && !usable(agent.config().retentionDir().get())) {
            findings.add(HealthFinding.of(HealthRule.RETENTION_VOLUME_UNUSABLE, "the retention volume "
                    + agent.config().retentionDir().get() + " is missing or not writable", null));
        } else if (retention != null && retention.holding() && retention.policy() == SpacePolicy.STOP_WRITES) {
            findings.add(HealthFinding.of(HealthRule.RETENTION_VOLUME_UNUSABLE, "the retention journals reached"
                    + " their cap of " + retention.capBytes() + " bytes and retention.space.policy=stop-writes:"
                    + " no writes are accepted", null));
        }
        for (ReplicatedDisk d : agent.disks().all()) {
            DiskState state = d.state();
            String damage = d.journal() == null ? null : d.journal().damage();
            if (damage != null) {
                findings.add(HealthFinding.of(HealthRule.RETENTION_JOURNAL_DAMAGED, "disk " + d.id()
                        + ": the retention journal is damaged (" + damage + "); recovery points before it cannot be"
                        + " read. Stop the agent, copy the journal directory, run 'mtagent verify --repair'", d.id()));
            }
            if (state == DiskState.FAILED && journalFailure(d.applyControl().lastError())) {
                findings.add(HealthFinding.of(HealthRule.RETENTION_VOLUME_UNUSABLE, "disk " + d.id()
                        + ": the retention journal failed, so the applier stopped: "
                        + d.applyControl().lastError().getMessage(), d.id()));
            }
            if (state == DiskState.FAILED) {
                findings.add(HealthFinding.of(HealthRule.DISK_FAILED, "disk " + d.id() + " failed: "
                        + d.stateReason(), d.id()));
                continue;
            }
            if (state == DiskState.NEEDS_RESYNC) {
                findings.add(HealthFinding.of(HealthRule.DISK_NEEDS_RESYNC, "disk " + d.id() + " needs a resync: "
                        + d.stateReason(), d.id()));
            }
            String stalled = d.ingestLog().stalled() != null ? d.ingestLog().stalled() : d.applyControl().stalled();
            if (stalled != null) {
                findings.add(HealthFinding.of(HealthRule.DISK_STALLED, "disk " + d.id() + ": writes are held, not"
                        + " lost, and its process server waits (no acknowledgement, no credit) until this ends: "
                        + stalled, d.id()));
            }
            Double rpo = d.rpoSeconds();
            if (rpo != null && rpo > threshold) {
                findings.add(HealthFinding.of(HealthRule.RPO_OVER_THRESHOLD, String.format(Locale.ROOT,
                        "disk %s: RPO %.1f s is over the threshold of %.0f s", d.id(), rpo, threshold), d.id()));
            }
            long app = d.lastAppConsistentMicros();
            if (rpo != null && (app != 0 ? nowMicros - app > appFrequencyMicros : upLongEnough)) {
                findings.add(HealthFinding.of(HealthRule.NO_APP_CONSISTENT_POINT, "disk " + d.id()
                        + ": no app-consistent point within " + settings.appConsistentFrequency().toSeconds()
                        + " s", d.id()));
            }
        }
        HealthRule.Severity worst = HealthRule.Severity.OK;
        for (HealthFinding f : findings) {
            HealthRule.Severity s = HealthRule.Severity.valueOf(f.severity().toUpperCase(Locale.ROOT));
            if (s.compareTo(worst) > 0) {
                worst = s;
            }
        }
        return new Health(worst, findings);
    }
}
