package io.mtagent.agent.apply;

/**
 * @param batchBytes the most payload bytes one apply batch reads (one target flush per batch)
 * @param maxWriteBytes the largest uncompressed write a record may carry (decompression cap)
 * @param pipelined overlap batch N's target writes with batch N+1's capture when the stage allows it
 *                  ({@link ApplyStage#pipelines()}); config {@code apply.pipelined}
 * @param targetLanes target writes of one batch under way at once, overlapping writes kept in order
 *                    ({@link OverlapOrderedWrites}); 1 writes one after another; config {@code apply.target.lanes}
 */
public record ApplierOptions(int batchBytes, int maxWriteBytes, boolean pipelined, int targetLanes) {
    public static final int DEFAULT_TARGET_LANES = 2;

    public ApplierOptions(int batchBytes, int maxWriteBytes) {
        this(batchBytes, maxWriteBytes, true, DEFAULT_TARGET_LANES);
    }

    public ApplierOptions(int batchBytes, int maxWriteBytes, boolean pipelined) {
        this(batchBytes, maxWriteBytes, pipelined, DEFAULT_TARGET_LANES);
    }

    public static ApplierOptions defaults() {
        return new ApplierOptions(8 << 20, 16 << 20, true, DEFAULT_TARGET_LANES);
    }

    public ApplierOptions withPipelined(boolean on) {
        return new ApplierOptions(batchBytes, maxWriteBytes, on, targetLanes);
    }

    public ApplierOptions withTargetLanes(int lanes) {
        return new ApplierOptions(batchBytes, maxWriteBytes, pipelined, lanes);
    }
}
