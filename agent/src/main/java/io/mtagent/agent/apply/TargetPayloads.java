package io.mtagent.agent.apply;

import io.mtagent.agent.ingest.IngestRecord;
import io.mtagent.agent.ingest.RecordPayloads;
import io.mtagent.agent.ingest.StoredRecord;
import io.mtagent.nativeio.AlignedBufferPool;
import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * The bytes an applier writes to its target for each record: the direct payload as stored when it is uncompressed
 * (checked, no copy), else decoded (bounded safe decompressor, CRC re-checked) into a lane's buffer or into this
 * object's own aligned buffer. Used by one applier; not thread-safe (lane 0 only uses the own buffer).
 */
final class TargetPayloads {
    private final String diskName;
    private final int maxWriteBytes;
    // Page-aligned so an O_DIRECT target takes it as is (no copy through a bounce buffer). Starts at 64 KiB and
    // grows to the largest write seen (decode): with hundreds of disks a fixed 1 MiB each was most of the agent's
    // direct memory before any write arrived (bench/RESULTS.md, many-disks).
    private ByteBuffer buffer = AlignedBufferPool.allocate(64 << 10, AlignedBufferPool.DEFAULT_ALIGNMENT);

    TargetPayloads(String diskName, int maxWriteBytes) {
        this.diskName = diskName;
        this.maxWriteBytes = maxWriteBytes;
    }

    /**
     * The bytes to write for a record: its direct payload as stored when it is uncompressed (checked, no copy),
     * else decoded into {@code laneBuffer}, or into the applier's own buffer when that is null (lane 0).
     */
    ByteBuffer dataOf(StoredRecord stored, ByteBuffer laneBuffer) throws IOException {
        checkedLength(stored);
        ByteBuffer asStored;
        try {
            asStored = RecordPayloads.storedAsIs(stored);
        } catch (IOException e) {
            throw new IOException("disk " + diskName + ": " + e.getMessage(), e);
        }
        if (asStored != null) {
            return asStored;
        }
        return laneBuffer == null ? decodeOwn(stored) : decodeInto(stored, laneBuffer);
    }

    /** Decodes into the applier's own buffer (lane 0: grown to the largest write seen). */
    private ByteBuffer decodeOwn(StoredRecord stored) throws IOException {
        int length = checkedLength(stored);
        if (buffer.capacity() < length) {
            buffer = AlignedBufferPool.allocate(Integer.highestOneBit(length - 1) << 1, AlignedBufferPool.DEFAULT_ALIGNMENT);
        }
        return decodeInto(stored, buffer);
    }

    private int checkedLength(StoredRecord stored) throws IOException {
        IngestRecord rec = stored.record();
        int length = rec.length();
        if (length < 0 || length > maxWriteBytes) {
            throw new IOException("record seq " + rec.seq() + " of " + diskName + " has length " + length);
        }
        return length;
    }

    /** Decodes into {@code dst}, which holds at least the record's length. */
    ByteBuffer decodeInto(StoredRecord stored, ByteBuffer dst) throws IOException {
        checkedLength(stored);
        try {
            return RecordPayloads.decode(stored, dst);
        } catch (IOException e) {
            throw new IOException("disk " + diskName + ": " + e.getMessage(), e);
        }
    }
}
