package io.mtagent.agent.send;

/**
 * What one disk's send did, for the summary line and {@code --json}.
 *
 * @param disk the agent's disk id
 * @param source the file, device or NBD URI read
 * @param mode {@code compare} (a file compared chunk by chunk), {@code full} (a file sent whole), {@code baseline}
 *        (an NBD export's allocated data, holes checked by digest) or {@code bitmap} (the dirty extents of a
 *        QEMU dirty bitmap)
 * @param why why this mode, when it is not the one asked for (else null)
 * @param sizeBytes the disk's size
 * @param examinedBytes bytes of the source read and compared or sent
 * @param dirtyBytes bitmap: the dirty extents' bytes; baseline: the allocated (non-zero) bytes; file: the bytes of
 *        the chunks that differed
 * @param bytesSent data bytes sent (uncompressed)
 * @param wireBytes the resync writes' bytes on the wire (after LZ4, with frame headers)
 * @param checksumBytes checksum requests and answers (both directions)
 * @param consistent whether the end marker is a recovery point
 * @param endName the end marker's (recovery point's) name
 * @param endSeq the end marker's sequence number
 * @param seconds wall time of this disk's send
 */
public record DiskReport(String disk, String source, String mode, String why, long sizeBytes, long examinedBytes,
                         long dirtyBytes, long bytesSent, long wireBytes, long checksumBytes, boolean consistent,
                         String endName, long endSeq, double seconds) {

    /** Bytes of the source handled per second (read and compared, or sent). */
    public double bytesPerSecond() {
        return seconds > 0 ? examinedBytes / seconds : 0;
    }
}
