package io.mtagent.agent.send;

/**
 * How a run sends each disk.
 *
 * @param chunkSize compared unit in bytes (a power of two in 64 KiB..1 MiB), or 0 for the source's default (1 MiB
 *        for files, 64 KiB for NBD exports, whose holes and dirty granules are that fine)
 * @param bytesPerSecond most data bytes per second per disk, 0 = unlimited
 * @param full send every allocated byte without comparing (and, for an NBD export, ignore the bitmap)
 * @param passes most passes over a changing file before its point is marked not consistent
 * @param frozenSource the caller vouches that the source stood still (an app-consistent tag was asked for)
 * @param endName the end marker's name on every disk
 * @param readDepth NBD reads kept in flight per disk
 * @param readBytes bytes per NBD read request
 */
public record SendOptions(int chunkSize, long bytesPerSecond, boolean full, int passes, boolean frozenSource,
                          String endName, int readDepth, int readBytes) {
    /** The chunk size to use for a source whose own default is {@code sourceDefault}. */
    int chunkOr(int sourceDefault) {
        return chunkSize > 0 ? chunkSize : sourceDefault;
    }
}
