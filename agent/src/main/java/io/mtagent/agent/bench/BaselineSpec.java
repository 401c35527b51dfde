package io.mtagent.agent.bench;

import java.nio.file.Path;
import java.time.Duration;

/**
 * The I/O an agent does for a load, to be done by a plain writer on the same file system as the baseline.
 * Per disk: the ingest stream (sequential append of every write, one fdatasync per {@code ingestSyncBytes})
 * and the apply stream (batches of {@code applyBatchBytes}: with retention, read the before-image of each write
 * from the target and append it to a journal, one fdatasync of the journal; then the random target writes and one
 * fdatasync of the target). The target is opened with O_DIRECT, as the agent opens targets; the logs are
 * buffered, as the agent's are.
 *
 * @param profile the write pattern
 * @param disks how many disks (each its own files, running concurrently)
 * @param diskBytes size of each target file
 * @param bytesPerDisk how many write bytes each disk moves
 * @param retention whether the before-image read and journal append are part of the pattern
 * @param ingestSyncBytes bytes between two fdatasyncs of the ingest stream (the agent's group-commit size)
 * @param applyBatchBytes bytes per apply batch (one journal and one target fdatasync each)
 * @param timeCap stop after this long even if not done (the rate is then over what was done)
 * @param dir where the files go (the agent's cache volume), removed afterwards
 */
public record BaselineSpec(BenchProfile profile, int disks, long diskBytes, long bytesPerDisk, boolean retention,
                           int ingestSyncBytes, int applyBatchBytes, Duration timeCap, Path dir, long seed) {

    /** One line describing the pattern, for the report. */
    public String describe() {
        return (retention ? "append+fdatasync/" + size(ingestSyncBytes) + " | per " + size(applyBatchBytes)
                + " batch: O_DIRECT random read (before-image) + append journal + fdatasync, O_DIRECT random write"
                + " target + fdatasync"
                : "append+fdatasync/" + size(ingestSyncBytes) + " | per " + size(applyBatchBytes)
                + " batch: O_DIRECT random write target + fdatasync") + "; " + profile + ", " + disks + " disk(s)";
    }

    static String size(long bytes) {
        return bytes >= 1 << 20 && bytes % (1 << 20) == 0 ? (bytes >> 20) + "MiB" : (bytes >> 10) + "KiB";
    }
}
