package io.mtagent.agent.storage;

/**
 * @param batchBytes the most payload bytes one apply batch reads (one target flush per batch)
 * @param maxWriteBytes the largest uncompressed write a record may carry (decompression cap)
 */
public record ApplierOptions(int batchBytes, int maxWriteBytes) {
    public static ApplierOptions defaults() {
        return new ApplierOptions(8 << 20, 16 << 20);
    }
}
