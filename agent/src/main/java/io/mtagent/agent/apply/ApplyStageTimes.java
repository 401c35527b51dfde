package io.mtagent.agent.apply;

import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.atomic.LongAdder;

/**
 * Where one disk's apply time goes, stage by stage: the time its applier threads spent in each, summed since the
 * agent started (exported as {@code mtagent_apply_stage_time_seconds_total{disk,stage}}). The stages run on two
 * threads at once (capture on the applier's, the target's writes and flush on the writer's), so the stage whose
 * rate is near 1 second per second while the other's is not is what limits the disk: for example
 * {@code before_image_wait} near 0.7 s/s with {@code target_wait} near 0 says the target's reads of before-images
 * are the slow link, not its writes (bench/RESULTS.md).
 *
 * <p>Thread-safe: each stage is a {@link LongAdder}; a batch adds a handful of {@link System#nanoTime()} deltas,
 * never one per byte.
 */
public final class ApplyStageTimes {
    /** The stages, named as the metric's {@code stage} tag. */
    public enum Stage {
        /** The applier thread in the retention stage for a batch (reads, journal appends and sync together). */
        CAPTURE("capture"),
        /** Within capture: waiting for the target's before-image reads. */
        BEFORE_IMAGE_WAIT("before_image_wait"),
        /** Within capture: overlaying and appending before-images to the journal (buffered writes). */
        JOURNAL_APPEND("journal_append"),
        /** Within capture: the journal's fdatasync of the batch. */
        JOURNAL_SYNC("journal_sync"),
        /** The target's writes of a batch (the writer thread, or the applier's when not pipelined). */
        TARGET_WRITE("target_write"),
        /** The target's flush after a batch's writes. */
        TARGET_FLUSH("target_flush"),
        /**
         * The applier thread waiting for the batch in flight (its target writes and flush): after the next batch's
         * capture, or before the applier goes idle.
         */
        TARGET_WAIT("target_wait");

        private final String tag;

        Stage(String tag) {
            this.tag = tag;
        }

        public String tag() {
            return tag;
        }
    }

    private final Map<Stage, LongAdder> nanos = new EnumMap<>(Stage.class);

    public ApplyStageTimes() {
        for (Stage s : Stage.values()) {
            nanos.put(s, new LongAdder());
        }
    }

    /** Adds the time since {@code startNanos} (a {@link System#nanoTime()} reading) to {@code stage}. */
    public void since(Stage stage, long startNanos) {
        nanos.get(stage).add(System.nanoTime() - startNanos);
    }

    public double seconds(Stage stage) {
        return nanos.get(stage).sum() / 1e9;
    }
}
