package io.mtagent.agent.send;

import io.mtagent.protocol.client.DiskStream;
import io.mtagent.protocol.client.ReplicationException;
import io.netty.buffer.Unpooled;
import java.nio.ByteBuffer;

/**
 * Sends source data as resync writes (WRITE with the RESYNC flag, SPEC.md §12.5) on one disk stream: splits it
 * into pieces of at most the agent's largest write, holds to a byte rate when asked, and counts what went out
 * (uncompressed bytes, and bytes on the wire after LZ4). One sending thread per instance.
 */
final class ResyncWriter {
    private final DiskStream stream;
    private final long bytesPerSecond;
    private final long startNanos = System.nanoTime();
    private long bytesSent;
    private long wireBytes;

    /** @param bytesPerSecond most bytes of data per second; 0 = unlimited */
    ResyncWriter(DiskStream stream, long bytesPerSecond) {
        this.stream = stream;
        this.bytesPerSecond = bytesPerSecond;
    }

    /** Sends the readable bytes of {@code data} (not consumed) as the content at {@code offset}. */
    void send(long offset, ByteBuffer data) throws ReplicationException, InterruptedException {
        int max = stream.maxWriteBytes();
        int from = data.position();
        for (int p = from; p < data.limit(); p += max) {
            int q = Math.min(data.limit(), p + max);
            ByteBuffer piece = data.duplicate();
            piece.limit(q).position(p);
            long before = stream.wireBytesQueued();
            stream.resyncWrite(offset + (p - from), Unpooled.wrappedBuffer(piece), System.currentTimeMillis() * 1000);
            wireBytes += stream.wireBytesQueued() - before;
            bytesSent += q - p;
            throttle();
        }
    }

    long bytesSent() {
        return bytesSent;
    }

    long wireBytes() {
        return wireBytes;
    }

    private void throttle() throws InterruptedException {
        if (bytesPerSecond <= 0) {
            return;
        }
        long due = (long) (bytesSent * 1e9 / bytesPerSecond);
        long sleep = due - (System.nanoTime() - startNanos);
        if (sleep > 0) {
            Thread.sleep(sleep / 1_000_000, (int) (sleep % 1_000_000));
        }
    }
}
