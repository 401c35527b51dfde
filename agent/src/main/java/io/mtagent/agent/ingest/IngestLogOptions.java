package io.mtagent.agent.ingest;

import java.util.Objects;

/**
 * Tuning of an {@link IngestLog}. Immutable; {@link #builder()} starts from the defaults.
 *
 * @param segmentBytes a segment is closed and a new one started past this size (default 64 MiB)
 * @param commitMaxBytes a group commit syncs once this many bytes are written, even if more are queued (4 MiB)
 * @param commitMaxDelayMicros the longest a queued record waits for its sync; the writer syncs as soon as its
 *        queue is empty, so this only bounds batches under continuous load (2 ms)
 * @param checkpointIntervalMillis the checkpoint file is rewritten at most this often while records flow (1 s)
 * @param spareSegments applied segment files kept to be written over by the next segments instead of being deleted
 *        (1): appending to a new file makes every fdatasync also commit the file system's block allocation, and
 *        deleting one makes the file system discard its blocks; overwriting a kept file does neither
 * @param memory where the log counts the payload bytes it holds before writing them; one account shared by all
 *        of an agent's logs (a fresh, unshared one by default)
 */
public record IngestLogOptions(long segmentBytes, long commitMaxBytes, long commitMaxDelayMicros,
                               long checkpointIntervalMillis, int spareSegments, IngestMemory memory) {

    public IngestLogOptions {
        if (segmentBytes < 64 * 1024) {
            throw new IllegalArgumentException("segmentBytes must be at least 64 KiB");
        }
        if (commitMaxBytes <= 0 || commitMaxDelayMicros < 0 || checkpointIntervalMillis < 0) {
            throw new IllegalArgumentException("commit bounds must be positive");
        }
        if (spareSegments < 0) {
            throw new IllegalArgumentException("spareSegments must not be negative");
        }
        Objects.requireNonNull(memory, "memory");
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Builder with the defaults above. */
    public static final class Builder {
        private long segmentBytes = 64L << 20;
        private long commitMaxBytes = 4L << 20;
        private long commitMaxDelayMicros = 2000;
        private long checkpointIntervalMillis = 1000;
        private int spareSegments = 1;
        private IngestMemory memory;

        public Builder segmentBytes(long v) { segmentBytes = v; return this; }
        public Builder commitMaxBytes(long v) { commitMaxBytes = v; return this; }
        public Builder commitMaxDelayMicros(long v) { commitMaxDelayMicros = v; return this; }
        public Builder checkpointIntervalMillis(long v) { checkpointIntervalMillis = v; return this; }
        public Builder spareSegments(int v) { spareSegments = v; return this; }
        public Builder memory(IngestMemory v) { memory = v; return this; }

        public IngestLogOptions build() {
            return new IngestLogOptions(segmentBytes, commitMaxBytes, commitMaxDelayMicros, checkpointIntervalMillis,
                    spareSegments, memory != null ? memory : new IngestMemory());
        }
    }
}
