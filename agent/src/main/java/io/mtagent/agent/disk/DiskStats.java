package io.mtagent.agent.disk;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.mtagent.agent.apply.ApplyStageTimes;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * Metrics of one target disk (tag {@code disk} = its stable id), built from an injected registry. One instance per
 * disk id lives as long as the agent, across release and re-attach: the gauges read whichever incarnation of the
 * disk is current through {@code current} (null while released).
 *
 * <p>Thread-safe: Micrometer meters are.
 */
public final class DiskStats {
    /**
     * Buckets of the ingest log's fdatasync histogram, in seconds: explicit and few (the default percentile
     * histogram has 61 odd-valued buckets per disk), from a fast NVMe sync to a stalled volume.
     */
    public static final Duration[] SYNC_BUCKETS = {Duration.ofNanos(250_000), Duration.ofMillis(1),
        Duration.ofNanos(2_500_000), Duration.ofMillis(5), Duration.ofMillis(10), Duration.ofMillis(25),
        Duration.ofMillis(50), Duration.ofMillis(100), Duration.ofMillis(250), Duration.ofSeconds(1),
        Duration.ofSeconds(5)};

    final Counter bytesReceived;
    final Counter writesReceived;
    final Counter bytesDurable;
    final Counter bytesApplied;
    final Timer fsync;
    private final ApplyStageTimes applyTimes = new ApplyStageTimes();

    /**
     * Registers the disk's meters. Received, durable and applied bytes are all the uncompressed bytes of the disk's
     * writes, so their rates compare (applied ≈ received while apply keeps up); the backlog is in ingest-log bytes
     * (compressed, with record framing): the disk's share of the cache volume. The disk's RPO, state, latest point
     * and retention series are the agent's ({@code io.mtagent.agent.control.AgentMetrics}): they need the agent's
     * view (released disks, policy, health).
     *
     * @param current the disk's current incarnation, or null while it is released
     */
    public DiskStats(MeterRegistry registry, String diskId, Supplier<ReplicatedDisk> current) {
        bytesReceived = Counter.builder("mtagent.disk.received").baseUnit("bytes").tag("disk", diskId)
                .description("Bytes of the disk's writes accepted into its ingest log (uncompressed)").register(registry);
        writesReceived = Counter.builder("mtagent.disk.received.writes").tag("disk", diskId)
                .description("Writes accepted into the disk's ingest log").register(registry);
        bytesDurable = Counter.builder("mtagent.disk.durable").baseUnit("bytes").tag("disk", diskId)
                .description("Bytes of the disk's writes made durable in its ingest log and acknowledged"
                        + " (uncompressed)").register(registry);
        bytesApplied = Counter.builder("mtagent.disk.applied").baseUnit("bytes").tag("disk", diskId)
                .description("Bytes of the disk's writes applied to the target (uncompressed, as received)")
                .register(registry);
        fsync = Timer.builder("mtagent.ingest.fsync").tag("disk", diskId)
                .description("Duration of one group-commit fdatasync of the disk's ingest log")
                .serviceLevelObjectives(SYNC_BUCKETS).register(registry);
        Gauge.builder("mtagent.disk.backlog", () -> {
            ReplicatedDisk d = current.get();
            return d == null ? 0 : d.backlogBytes();
        }).baseUnit("bytes").tag("disk", diskId)
                .description("Ingest-log bytes (compressed, with record framing) accepted but not yet applied to the"
                        + " target: the disk's share of the cache volume").register(registry);
        FunctionCounter.builder("mtagent.disk.resync.hashed", current, c -> {
            ReplicatedDisk d = c.get();
            return d == null ? 0 : d.resyncStats().totalBytesHashed();
        }).baseUnit("bytes").tag("disk", diskId)
                .description("Target bytes hashed for checksum requests (resync and online verify)").register(registry);
        FunctionCounter.builder("mtagent.disk.resync.resent", current, c -> {
            ReplicatedDisk d = c.get();
            return d == null ? 0 : d.resyncStats().totalBytesResent();
        }).baseUnit("bytes").tag("disk", diskId)
                .description("Resync write bytes received: the chunks that differed from the source").register(registry);
        Gauge.builder("mtagent.disk.resync.remaining", () -> {
            ReplicatedDisk d = current.get();
            return d == null ? 0 : d.resyncStats().remainingBytes();
        }).baseUnit("bytes").tag("disk", diskId)
                .description("Bytes of the running resync's range not yet reported done (0 when none runs)")
                .register(registry);
        for (ApplyStageTimes.Stage stage : ApplyStageTimes.Stage.values()) {
            FunctionCounter.builder("mtagent.apply.stage.time", applyTimes, t -> t.seconds(stage))
                    .baseUnit("seconds").tag("disk", diskId).tag("stage", stage.tag())
                    .description("Time the disk's applier spent in each stage (capture holds before_image_wait,"
                            + " journal_append and journal_sync; target_write and target_flush run beside it;"
                            + " target_wait is capture waiting for them): the stage near 1 s/s limits the disk")
                    .register(registry);
        }
    }

    /** Where the disk's apply time goes; shared by its applier and retention stage across re-attach. */
    public ApplyStageTimes applyTimes() {
        return applyTimes;
    }

    /** The fdatasync hook handed to the ingest log (keeps the log free of Micrometer). */
    void recordSync(long nanos) {
        fsync.record(nanos, TimeUnit.NANOSECONDS);
    }

    public double bytesReceived() {
        return bytesReceived.count();
    }

    public double bytesApplied() {
        return bytesApplied.count();
    }
}
