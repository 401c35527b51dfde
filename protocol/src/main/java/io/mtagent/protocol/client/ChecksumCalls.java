package io.mtagent.protocol.client;

import io.mtagent.protocol.ErrorCode;
import io.mtagent.protocol.Protocol;
import io.mtagent.protocol.ResyncFrames;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The CHECKSUM_REQUESTs of one disk stream that await their CHECKSUMS (SPEC.md §12.4): each request's digests are
 * assembled in chunk order from the frames that answer it, and its future completes with the last one, or fails
 * when a frame does not fit the request, the stream stops or the connection is lost.
 *
 * <p>Thread-safety: thread-safe; requests are registered by callers, answers arrive on the client's I/O thread.
 */
final class ChecksumCalls {
    /** One outstanding CHECKSUM_REQUEST, filled by the I/O thread. */
    private static final class Call {
        final ResyncFrames.ChecksumRequest request;
        final byte[] digests;
        final CompletableFuture<DiskStream.Digests> done = new CompletableFuture<>();
        long minApplied = Long.MAX_VALUE;

        Call(ResyncFrames.ChecksumRequest request) {
            this.request = request;
            this.digests = new byte[(int) request.chunks() * ResyncFrames.DIGEST_LENGTH];
        }
    }

    private final String diskId;
    private final Map<Integer, Call> calls = new ConcurrentHashMap<>();
    private final AtomicInteger nextRequestId = new AtomicInteger();
    private final AtomicLong traffic = new AtomicLong();

    ChecksumCalls(String diskId) {
        this.diskId = diskId;
    }

    int nextRequestId() {
        return nextRequestId.incrementAndGet();
    }

    /** Registers a request about to be sent; its future completes with the digests. */
    CompletableFuture<DiskStream.Digests> register(ResyncFrames.ChecksumRequest req) {
        Call call = new Call(req);
        calls.put(req.requestId(), call);
        traffic.addAndGet(Protocol.LENGTH_FIELD_LENGTH + 1 + req.bodyLength());
        return call.done;
    }

    /** Bytes of checksum traffic so far (requests sent plus answers received). */
    long trafficBytes() {
        return traffic.get();
    }

    /** One CHECKSUMS frame of the agent's answer. */
    void answered(ResyncFrames.Checksums f) {
        traffic.addAndGet(Protocol.LENGTH_FIELD_LENGTH + 1 + f.bodyLength());
        Call call = calls.get(f.requestId());
        if (call == null) {
            return;
        }
        ResyncFrames.ChecksumRequest r = call.request;
        long index = (f.offset() - r.offset()) / r.chunkSize();
        long end = (index + f.count()) * ResyncFrames.DIGEST_LENGTH;
        if (f.offset() < r.offset() || (f.offset() - r.offset()) % r.chunkSize() != 0 || end > call.digests.length) {
            calls.remove(f.requestId());
            call.done.completeExceptionally(new ReplicationException(ErrorCode.PROTOCOL_VIOLATION, "disk " + diskId
                    + ": CHECKSUMS at " + f.offset() + " do not fit request " + r.requestId()));
            return;
        }
        System.arraycopy(f.digests(), 0, call.digests, (int) (index * ResyncFrames.DIGEST_LENGTH), f.digests().length);
        call.minApplied = Math.min(call.minApplied, f.appliedSeq());
        if (f.last()) {
            calls.remove(f.requestId());
            call.done.complete(new DiskStream.Digests(r.offset(), r.length(), r.chunkSize(), call.digests,
                    call.minApplied));
        }
    }

    /** Fails every outstanding request with {@code e}. */
    void failAll(ReplicationException e) {
        for (Integer id : calls.keySet()) {
            Call c = calls.remove(id);
            if (c != null) {
                c.done.completeExceptionally(e);
            }
        }
    }
}
