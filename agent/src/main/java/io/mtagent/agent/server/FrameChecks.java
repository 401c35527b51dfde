package io.mtagent.agent.server;

import io.mtagent.protocol.DiskState;
import io.mtagent.protocol.ErrorCode;
import io.mtagent.protocol.Protocol;
import io.mtagent.protocol.ProtocolException;
import io.mtagent.protocol.ResyncFrames;
import io.mtagent.protocol.WriteFrame;
import io.mtagent.protocol.WritePayloads;
import java.nio.ByteBuffer;

/**
 * The checks of a frame's content against its disk, in the order SPEC.md gives them: WRITE checks 3–7 of §6.4
 * (size, alignment, range, LZ4, CRC), the range of a RESYNC_START (§12.3) and the checks of a CHECKSUM_REQUEST
 * (§12.4). Each failure is the non-fatal ERROR that stops the handle ({@link DiskHandle#refuse}); nothing of a
 * refused frame reaches the disk, because every check runs before the frame is offered to the ingest log.
 *
 * <p>Thread-safety: stateless apart from one decode buffer per thread (a WRITE is verified synchronously on the
 * session's event loop, so threads never share it).
 */
final class FrameChecks {
    private static final ThreadLocal<ByteBuffer> SCRATCH = new ThreadLocal<>();

    private FrameChecks() {
    }

    /** WRITE checks 3–7 of SPEC.md §6.4, after the handle and credit checks. */
    static void checkWrite(DiskHandle b, WriteFrame w, int maxWriteBytes) throws ProtocolException {
        int length = w.length();
        if (length > maxWriteBytes) {
            throw b.refuse(ErrorCode.WRITE_TOO_LARGE, w.seq(), "write of " + length + " bytes exceeds the maximum of "
                    + maxWriteBytes);
        }
        if (length <= 0 || (length % Protocol.WRITE_ALIGNMENT) != 0 || (w.offset() % Protocol.WRITE_ALIGNMENT) != 0) {
            throw b.refuse(ErrorCode.UNALIGNED, w.seq(), "offset " + w.offset() + " and length " + length
                    + " must be positive multiples of 512");
        }
        long size = b.disk.sizeBytes();
        if (w.offset() < 0 || w.offset() > size - length) {
            throw b.refuse(ErrorCode.OUT_OF_RANGE, w.seq(), "write at " + w.offset() + "+" + length
                    + " passes the end of disk " + b.disk.id() + " (" + size + " bytes)");
        }
        ByteBuffer scratch = scratch(maxWriteBytes);
        scratch.clear();
        try {
            WritePayloads.verify(w, scratch); // the data CRC the ingest log builds its record CRC on (IngestLog.offer)
        } catch (ProtocolException e) {
            if (e.code().fatal()) {
                throw e; // a framing error: the connection's (SPEC.md §3)
            }
            throw b.refuse(e.code(), w.seq(), e.getMessage());
        }
    }

    /** The range of a RESYNC_START (SPEC.md §12.3): chunk-aligned, a positive multiple of 512, inside the disk. */
    static void checkResyncRange(DiskHandle b, ResyncFrames.ResyncStart r) throws ProtocolException {
        if (r.offset() % r.chunkSize() != 0 || r.length() <= 0 || r.length() % Protocol.WRITE_ALIGNMENT != 0) {
            throw b.refuse(ErrorCode.UNALIGNED, r.seq(), "resync range " + r.offset() + "+" + r.length()
                    + ": offset must be a multiple of the chunk size " + r.chunkSize()
                    + " and length a positive multiple of 512");
        }
        long size = b.disk.sizeBytes();
        if (r.offset() < 0 || r.length() > size - r.offset()) {
            throw b.refuse(ErrorCode.OUT_OF_RANGE, r.seq(), "resync range " + r.offset() + "+" + r.length()
                    + " passes the end of the disk (" + size + " bytes)");
        }
    }

    /** The checks of a CHECKSUM_REQUEST after "handle open", in the order of SPEC.md §12.4. */
    static void checkChecksumRequest(DiskHandle b, ResyncFrames.ChecksumRequest r) throws ProtocolException {
        DiskState st = b.disk.state();
        if (st == DiskState.FAILED) {
            throw b.refuse(ErrorCode.DISK_FAILED, 0, "disk failed: " + b.disk.stateReason());
        }
        if (st == DiskState.RECOVERING) {
            throw b.refuse(ErrorCode.DISK_RECOVERING, 0, "disk is being recovered (" + b.disk.stateReason() + ")");
        }
        if (r.offset() % r.chunkSize() != 0 || r.length() <= 0 || r.length() % Protocol.WRITE_ALIGNMENT != 0) {
            throw b.refuse(ErrorCode.UNALIGNED, 0, "checksum range " + r.offset() + "+" + r.length()
                    + ": offset must be a multiple of the chunk size " + r.chunkSize()
                    + " and length a positive multiple of 512");
        }
        if (r.offset() < 0 || r.length() > b.disk.sizeBytes() - r.offset()
                || r.chunks() > ResyncFrames.MAX_CHUNKS_PER_REQUEST) {
            throw b.refuse(ErrorCode.OUT_OF_RANGE, 0, "checksum range " + r.offset() + "+" + r.length()
                    + " passes the end of the disk (" + b.disk.sizeBytes() + " bytes) or covers more than "
                    + ResyncFrames.MAX_CHUNKS_PER_REQUEST + " chunks");
        }
        if (b.checksumsOutstanding >= ResyncFrames.MAX_OUTSTANDING_REQUESTS) {
            throw b.refuse(ErrorCode.TOO_MANY_REQUESTS, 0, ResyncFrames.MAX_OUTSTANDING_REQUESTS
                    + " checksum requests are already outstanding on the handle");
        }
    }

    private static ByteBuffer scratch(int maxWriteBytes) {
        ByteBuffer b = SCRATCH.get();
        if (b == null || b.capacity() < maxWriteBytes) {
            b = ByteBuffer.allocateDirect(maxWriteBytes);
            SCRATCH.set(b);
        }
        return b;
    }
}
