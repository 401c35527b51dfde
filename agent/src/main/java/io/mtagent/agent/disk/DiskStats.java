package io.mtagent.agent.disk;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.mtagent.agent.storage.ApplyStageTimes;
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
    final Counter bytesReceived;
    final Counter writesReceived;
    final Counter bytesApplied;
    final Timer fsync;
    private final ApplyStageTimes applyTimes = new ApplyStageTimes();

    /**
     * @param current the disk's current incarnation, or null while it is released
     */
    public DiskStats(MeterRegistry registry, String diskId, Supplier<ReplicatedDisk> current) {
        bytesReceived = Counter.builder("mtagent.disk.received").baseUnit("bytes").tag("disk", diskId)
                .description("Uncompressed write bytes accepted into the disk's ingest log").register(registry);
        writesReceived = Counter.builder("mtagent.disk.writes.received").baseUnit("writes").tag("disk", diskId)
                .description("Writes accepted into the disk's ingest log").register(registry);
        bytesApplied = Counter.builder("mtagent.disk.applied").baseUnit("bytes").tag("disk", diskId)
                .description("Ingest-log bytes (record framing included) applied to the target and freed")
                .register(registry);
        fsync = Timer.builder("mtagent.ingest.fsync").tag("disk", diskId)
                .description("Duration of one group-commit fdatasync of the disk's ingest log")
                .publishPercentileHistogram().minimumExpectedValue(Duration.ofMillis(1))
                .maximumExpectedValue(Duration.ofSeconds(10)).register(registry);
        Gauge.builder("mtagent.disk.backlog", () -> {
            ReplicatedDisk d = current.get();
            return d == null ? 0 : d.backlogBytes();
        }).baseUnit("bytes").tag("disk", diskId)
                .description("Ingest-log bytes accepted but not yet applied to the target").register(registry);
        Gauge.builder("mtagent.disk.rpo", () -> {
            ReplicatedDisk d = current.get();
            Double rpo = d == null ? null : d.rpoSeconds();
            return rpo == null ? Double.NaN : rpo;
        }).baseUnit("seconds").tag("disk", diskId)
                .description("Recovery point objective: now minus the source time of the newest durable write"
                        + " (NaN before anything was received)").register(registry);
        Gauge.builder("mtagent.disk.state", () -> {
            ReplicatedDisk d = current.get();
            return d == null ? 0 : d.state().code();
        }).tag("disk", diskId)
                .description("Disk state: 0 released, 1 protected, 2 needs-resync, 3 failed, 4 recovering,"
                        + " 5 initial-sync, 6 resyncing, 7 paused").register(registry);
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
