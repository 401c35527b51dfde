package io.mtagent.agent.server;

import io.mtagent.protocol.ResyncFrames;

/**
 * Where a hash worker sends the CHECKSUMS of one CHECKSUM_REQUEST (SPEC.md §12.4), from its own thread. Every frame
 * is handed to the session's event loop in order, so the answers of one request keep their order, and the request
 * stops counting as outstanding in the same event-loop task that sends its last frame.
 *
 * <p>Thread-safety: {@link #awaitWritable}, {@link #send} and {@link #finished} run on a hash worker; the
 * handle's state is touched only inside the event-loop tasks they queue.
 */
final class ChecksumReplies implements ChecksumService.Sink {
    private final DiskHandle handle;
    private final SessionOutput out;
    /** Event loop only: the request still counts as outstanding on the handle. */
    private boolean counted = true;

    ChecksumReplies(DiskHandle handle, SessionOutput out) {
        this.handle = handle;
        this.out = out;
    }

    @Override
    public boolean awaitWritable() throws InterruptedException {
        // TCP back-pressure: the outbound buffer is over its high-water mark until C reads.
        while (!out.writable()) {
            if (handle.detached() || !out.active()) {
                return false;
            }
            Thread.sleep(1);
        }
        return !handle.detached() && out.active();
    }

    @Override
    public void send(ResyncFrames.Checksums frame) {
        if (out.closing()) {
            return; // a stale read just sends one frame less: the event loop checks again
        }
        out.loop().execute(() -> {
            if (frame.last()) {
                // C may send its next request as soon as it has this frame, and that request must find the count
                // already lowered (SPEC.md §12.4: outstanding until the last frame).
                uncount();
            }
            if (!out.closing()) {
                out.send(frame);
            }
        });
    }

    @Override
    public void finished(String error) {
        out.loop().execute(() -> {
            uncount();
            if (error != null) {
                handle.checksumsFailed(error);
            }
        });
    }

    private void uncount() {
        if (counted) {
            counted = false;
            handle.checksumsOutstanding--;
        }
    }
}
