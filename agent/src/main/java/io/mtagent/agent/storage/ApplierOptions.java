package io.mtagent.agent.storage;

/**
 * @param batchBytes the most payload bytes one apply batch reads (one target flush per batch)
 * @param maxWriteBytes the largest uncompressed write a record may carry (decompression cap)
 * @param pipelined overlap batch N's target writes with batch N+1's capture when the stage allows it
 *                  ({@link ApplyStage#pipelines()}); config {@code apply.pipelined}
 */
public record ApplierOptions(int batchBytes, int maxWriteBytes, boolean pipelined) {
    public ApplierOptions(int batchBytes, int maxWriteBytes) {
        this(batchBytes, maxWriteBytes, true);
    }

    public static ApplierOptions defaults() {
        return new ApplierOptions(8 << 20, 16 << 20, true);
    }

    public ApplierOptions withPipelined(boolean on) {
        return new ApplierOptions(batchBytes, maxWriteBytes, on);
    }
}
