package io.mtagent.agent.control;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.FileDescriptorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.mtagent.agent.config.BuildInfo;
import io.mtagent.agent.config.DiskConfig;
import io.mtagent.agent.disk.ReplicatedDisk;
import io.mtagent.agent.journal.RecoveryPoint;
import io.mtagent.agent.retention.PointCatalog;
import io.mtagent.agent.retention.RetentionEnforcer;
import io.mtagent.protocol.DiskState;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.OperatingSystemMXBean;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.ToLongFunction;

/**
 * The agent's own series, beside the per-disk counters of {@code DiskStats} and the data server's: names and
 * labels after the Prometheus naming guide and node_exporter's habits.
 * <ul>
 *   <li>{@code mtagent_build_info{version,revision,java}} = 1; Micrometer's JVM, GC, memory, thread, class,
 *       file-descriptor, processor and uptime binders.</li>
 *   <li>Per disk, only the {@code disk} label (its id); {@code mtagent_disk_info{disk,name,group,target}} = 1 joins
 *       the configured name, group and target path; {@code mtagent_disk_state{disk,state}} is 1 for the disk's state
 *       and 0 for the others (state {@code released} for a released disk).</li>
 *   <li>RPO, latest point, last app-consistent point and retention times come from what the disk holds on disk, so
 *       they are numbers from the first scrape after a restart. A series whose value is unknown is absent (the RPO
 *       of a disk that never held a write), never NaN; a forecast that is not heading anywhere is +Inf.</li>
 *   <li>One {@code mtagent_health_rule_firing{rule,code,severity}} series per {@link HealthRule}, 0 or 1.</li>
 *   <li>Retention (policy, cap, journals, pruned bytes by reason), jobs, the control server's connections and
 *       failures, the configuration server's heartbeats, the certificate's expiry.</li>
 * </ul>
 * The README's Prometheus section lists every series; monitoring/ has the alert rules and dashboard built on them.
 *
 * <p>Thread-safety: built once; {@link #refresh} runs on the control server's sampler thread, gauges are read by
 * scrapes.
 */
final class AgentMetrics implements AutoCloseable {
    /** Health is evaluated at most this often for the per-rule series (a scrape reads every rule). */
    private static final long HEALTH_MAX_AGE_NANOS = 500_000_000L;

    private final ControlledAgent agent;
    private final StatusReport report;
    private final JvmGcMetrics gc = new JvmGcMetrics();
    private final GaugeFamily diskInfo;
    private final GaugeFamily diskState;
    private final GaugeFamily rpo;
    private final GaugeFamily latestPoint;
    private final GaugeFamily lastAppConsistent;
    private final GaugeFamily rpoForecast;
    private final GaugeFamily earliestRecoverable;
    private final GaugeFamily windowHeld;
    private final GaugeFamily journalBytes;
    private final GaugeFamily journalDamaged;
    private volatile Set<HealthRule> firing = EnumSet.noneOf(HealthRule.class);
    private volatile long firingAtNanos = System.nanoTime() - 2 * HEALTH_MAX_AGE_NANOS;

    AgentMetrics(ControlledAgent agent, StatusReport report, Jobs jobs, ControlServerStats control, MeterRegistry registry) {
        this.agent = agent;
        this.report = report;
        BuildInfo build = BuildInfo.current();
        Gauge.builder("mtagent.build.info", () -> 1).tags("version", build.version(), "revision", build.revision(),
                "java", BuildInfo.java()).description("The agent's build: version, git commit and Java runtime (1)")
                .register(registry);
        new JvmMemoryMetrics().bindTo(registry);
        gc.bindTo(registry);
        new JvmThreadMetrics().bindTo(registry);
        new ClassLoaderMetrics().bindTo(registry);
        bindProcessor(registry);
        new UptimeMetrics().bindTo(registry);
        new FileDescriptorMetrics().bindTo(registry);

        diskInfo = new GaugeFamily(registry, "mtagent.disk.info", null,
                "A declared disk: its configured name, replication group and target path (1)");
        diskState = new GaugeFamily(registry, "mtagent.disk.state", null,
                "1 for the disk's state, 0 for the others (released, protected, needs-resync, failed, recovering,"
                        + " initial-sync, resyncing, paused)");
        rpo = new GaugeFamily(registry, "mtagent.disk.rpo", "seconds", "Recovery point objective: now minus the"
                + " source time of the newest durable write; absent only while the disk never held a write");
        latestPoint = new GaugeFamily(registry, "mtagent.disk.latest.point.timestamp", "seconds",
                "Source time (Unix seconds, clock-offset corrected) of the disk's newest durable write: its latest"
                        + " recovery point");
        lastAppConsistent = new GaugeFamily(registry, "mtagent.disk.app.consistent.timestamp", "seconds",
                "Time (Unix seconds) of the disk's newest app-consistent point; absent when none is known");
        rpoForecast = new GaugeFamily(registry, "mtagent.disk.rpo.forecast", "seconds", "Time until the disk's RPO"
                + " passes its threshold at the current rates; +Inf when it is not heading there");
        earliestRecoverable = new GaugeFamily(registry, "mtagent.disk.retention.earliest.timestamp", "seconds",
                "Source time (Unix seconds) of the disk's earliest recoverable point; absent without a journal");
        windowHeld = new GaugeFamily(registry, "mtagent.disk.retention.window", "seconds",
                "The recoverable window the disk's journal holds: now minus its earliest recoverable point"
                        + " (compare with mtagent_retention_policy_window_seconds)");
        journalBytes = new GaugeFamily(registry, "mtagent.disk.journal", "bytes",
                "Bytes of the disk's retention journal (segments and index files)");
        journalDamaged = new GaugeFamily(registry, "mtagent.disk.journal.damaged", null,
                "1 when a record of the disk's retention journal does not verify (MT-2005)");

        Gauge.builder("mtagent.cache.volume.free", report, r -> Math.max(0, r.cacheFreeBytes())).baseUnit("bytes")
                .description("Usable bytes on the cache volume (the ingest logs' file system)").register(registry);
        Gauge.builder("mtagent.cache.cap", agent, a -> a.cacheBudget().capBytes()).baseUnit("bytes")
                .description("Bytes the ingest logs may use on the cache volume (cache.max.bytes)").register(registry);
        Gauge.builder("mtagent.cache.full.forecast", report, r -> {
            Double s = RateTracker.fillForecastSeconds(r.cacheFreeBytes(), r.cacheChurn());
            return s == null || r.cacheFreeBytes() < 0 ? Double.POSITIVE_INFINITY : s;
        }).baseUnit("seconds").description("Time until the cache volume fills at the ingest logs' current net"
                + " growth; +Inf while they do not grow").register(registry);
        Gauge.builder("mtagent.policy.rpo.threshold", agent, a -> a.runtimeSettings().rpoThreshold().toMillis() / 1000.0)
                .baseUnit("seconds").description("The RPO threshold in force (health.rpo.threshold, or the"
                        + " configuration server's): the alert rules compare mtagent_disk_rpo_seconds with it")
                .register(registry);
        Gauge.builder("mtagent.policy.app.consistent.frequency", agent,
                a -> a.runtimeSettings().appConsistentFrequency().toMillis() / 1000.0).baseUnit("seconds")
                .description("How often app-consistent points are expected (health.app.consistent.frequency)")
                .register(registry);
        Gauge.builder("mtagent.data.server.listening", agent, a -> a.dataServerListening() ? 1 : 0)
                .description("1 while the data server listens on data.listen (MT-2004)").register(registry);
        Gauge.builder("mtagent.tls.certificate.expiry.timestamp", agent,
                a -> a.identity().certificate().getNotAfter().getTime() / 1000.0).baseUnit("seconds")
                .description("When the agent's TLS certificate expires (Unix seconds)").register(registry);

        for (HealthRule rule : HealthRule.values()) {
            Gauge.builder("mtagent.health.rule.firing", this, m -> m.firing().contains(rule) ? 1 : 0)
                    .tags("rule", rule.name(), "code", rule.code(), "severity", rule.severity().label())
                    .description("1 while the health rule has a finding (GET /health lists them with the disk and"
                            + " the numbers), 0 otherwise").register(registry);
        }

        Gauge.builder("mtagent.jobs.running", jobs, Jobs::running)
                .description("Control API jobs (recover, export) running now").register(registry);
        for (Jobs.State s : new Jobs.State[] {Jobs.State.DONE, Jobs.State.FAILED}) {
            FunctionCounter.builder("mtagent.jobs.finished", jobs, j -> j.finished(s))
                    .tag("result", s.name().toLowerCase(Locale.ROOT))
                    .description("Control API jobs ended since start, by result").register(registry);
        }
        control.register(registry);
        FunctionCounter.builder("mtagent.configserver.heartbeats", agent,
                a -> a.heartbeat() == null ? 0 : a.heartbeat().heartbeatsSent())
                .description("Heartbeats the configuration server accepted (0 without configserver.url)")
                .register(registry);
        FunctionCounter.builder("mtagent.configserver.heartbeat.failures", agent,
                a -> a.heartbeat() == null ? 0 : a.heartbeat().failures())
                .description("Registrations and heartbeats that failed (unreachable, TLS, refused)").register(registry);

        RetentionEnforcer retention = agent.retention();
        if (retention != null) {
            Gauge.builder("mtagent.retention.policy.window", retention, r -> r.window().toSeconds())
                    .baseUnit("seconds").description("The retention window the policy asks for (retention.window)")
                    .register(registry);
            Gauge.builder("mtagent.retention.cap", retention, RetentionEnforcer::capBytes).baseUnit("bytes")
                    .description("Bytes the retention journals may use (retention.max.bytes)").register(registry);
            Gauge.builder("mtagent.retention.journal", retention, RetentionEnforcer::journalBytes).baseUnit("bytes")
                    .description("Bytes of all retention journals (as of the last pruning pass)").register(registry);
            Gauge.builder("mtagent.retention.window.shortened", retention, r -> r.windowShortened() ? 1 : 0)
                    .description("1 while space forced pruning inside the policy's window (MT-1003)").register(registry);
            Gauge.builder("mtagent.retention.holding", retention, r -> r.holding() ? 1 : 0)
                    .description("1 while pause-apply or stop-writes holds replication for retention space")
                    .register(registry);
            for (RetentionEnforcer.PruneReason why : RetentionEnforcer.PruneReason.values()) {
                FunctionCounter.builder("mtagent.retention.pruned", retention, r -> r.prunedBytes(why))
                        .baseUnit("bytes").tag("reason", why.label())
                        .description("Journal bytes pruned since start: window (older than the policy), cap or"
                                + " volume_full (inside the window: the recoverable window got shorter)")
                        .register(registry);
            }
        }
        refresh();
    }

    /**
     * CPU series in place of Micrometer's ProcessorMetrics, whose {@code process_cpu_time_ns_total} and
     * {@code system_cpu_count} {@code promtool check metrics} rejects (an abbreviated unit; a {@code _count} suffix
     * on a gauge): the same usage gauges and load average, the CPU time in seconds as Prometheus' client libraries
     * name it, and the processor count.
     */
    private static void bindProcessor(MeterRegistry registry) {
        OperatingSystemMXBean os = ManagementFactory.getOperatingSystemMXBean();
        Gauge.builder("system.cpus", os, OperatingSystemMXBean::getAvailableProcessors)
                .description("Processors available to the JVM").register(registry);
        Gauge.builder("system.load.average.1m", os, o -> Math.max(0, o.getSystemLoadAverage()))
                .description("The system load average over the last minute").register(registry);
        if (os instanceof com.sun.management.OperatingSystemMXBean sun) {
            FunctionCounter.builder("process.cpu", sun, o -> Math.max(0, o.getProcessCpuTime()) / 1e9)
                    .baseUnit("seconds").description("CPU time the agent's process used").register(registry);
            Gauge.builder("process.cpu.usage", sun, o -> Math.max(0, o.getProcessCpuLoad()))
                    .description("The agent process's recent CPU usage (0..1 of all processors)").register(registry);
            Gauge.builder("system.cpu.usage", sun, o -> Math.max(0, o.getCpuLoad()))
                    .description("The machine's recent CPU usage (0..1)").register(registry);
        }
    }

    /** The health rules with a finding now (evaluated at most every 500 ms). */
    private Set<HealthRule> firing() {
        long now = System.nanoTime();
        if (now - firingAtNanos > HEALTH_MAX_AGE_NANOS) {
            Set<HealthRule> rules = EnumSet.noneOf(HealthRule.class);
            for (HealthFinding f : report.health().findings()) {
                rules.add(HealthRule.valueOf(f.rule()));
            }
            firing = rules;
            firingAtNanos = now;
        }
        return firing;
    }

    /** Sets which per-disk series exist (disks come and go, values become known). */
    void refresh() {
        Map<Tags, GaugeFamily.Value> info = new LinkedHashMap<>();
        Map<Tags, GaugeFamily.Value> state = new LinkedHashMap<>();
        Map<Tags, GaugeFamily.Value> rpos = new LinkedHashMap<>();
        Map<Tags, GaugeFamily.Value> latest = new LinkedHashMap<>();
        Map<Tags, GaugeFamily.Value> app = new LinkedHashMap<>();
        Map<Tags, GaugeFamily.Value> forecasts = new LinkedHashMap<>();
        Map<Tags, GaugeFamily.Value> earliest = new LinkedHashMap<>();
        Map<Tags, GaugeFamily.Value> window = new LinkedHashMap<>();
        Map<Tags, GaugeFamily.Value> journal = new LinkedHashMap<>();
        Map<Tags, GaugeFamily.Value> damaged = new LinkedHashMap<>();
        Map<String, String> groups = agent.config().diskGroups();
        for (DiskConfig c : agent.disks().declared()) {
            String id = c.id();
            Tags disk = Tags.of("disk", id);
            info.put(disk.and("name", c.name(), "group", groups.getOrDefault(id, ""), "target", c.path().toString()),
                    () -> 1.0);
            state.put(disk.and("state", "released"), () -> disk(id) == null ? 1.0 : 0.0);
            for (DiskState s : DiskState.values()) {
                state.put(disk.and("state", s.label()), () -> {
                    ReplicatedDisk d = disk(id);
                    return d != null && d.state() == s ? 1.0 : 0.0;
                });
            }
            rpos.put(disk, () -> {
                ReplicatedDisk d = disk(id);
                return d == null ? null : d.rpoSeconds();
            });
            latest.put(disk, () -> seconds(disk(id), ReplicatedDisk::newestDurableMicros));
            app.put(disk, () -> seconds(disk(id), ReplicatedDisk::lastAppConsistentMicros));
            forecasts.put(disk, () -> {
                ReplicatedDisk d = disk(id);
                if (d == null || d.rpoSeconds() == null) {
                    return null;
                }
                Double f = report.rpoForecast(d);
                return f == null ? Double.POSITIVE_INFINITY : f;
            });
            earliest.put(disk, () -> earliestMicros(id) < 0 ? null : earliestMicros(id) / 1e6);
            window.put(disk, () -> {
                long e = earliestMicros(id);
                return e < 0 ? null : Math.max(0, System.currentTimeMillis() * 1000 - e) / 1e6;
            });
            journal.put(disk, () -> {
                ReplicatedDisk d = disk(id);
                if (d == null || d.journal() == null) {
                    return null;
                }
                try {
                    return (double) d.journal().sizeBytes();
                } catch (IOException e) {
                    return null;
                }
            });
            damaged.put(disk, () -> {
                ReplicatedDisk d = disk(id);
                return d == null || d.journal() == null ? null : d.journal().damage() == null ? 0.0 : 1.0;
            });
        }
        diskInfo.refresh(info);
        diskState.refresh(state);
        rpo.refresh(rpos);
        latestPoint.refresh(latest);
        lastAppConsistent.refresh(app);
        rpoForecast.refresh(forecasts);
        earliestRecoverable.refresh(earliest);
        windowHeld.refresh(window);
        journalBytes.refresh(journal);
        journalDamaged.refresh(damaged);
    }

    private ReplicatedDisk disk(String id) {
        return agent.disks().byId(id);
    }

    private static Double seconds(ReplicatedDisk d, ToLongFunction<ReplicatedDisk> micros) {
        long m = d == null ? 0 : micros.applyAsLong(d);
        return m <= 0 ? null : m / 1e6;
    }

    /** Source time (µs) of the disk's earliest recoverable point, -1 when unknown or no journal is kept. */
    private long earliestMicros(String id) {
        ReplicatedDisk d = disk(id);
        if (d == null || d.journal() == null) {
            return -1;
        }
        RecoveryPoint p = PointCatalog.earliest(d);
        return p.timestampMicros();
    }

    @Override
    public void close() {
        gc.close();
    }
}
