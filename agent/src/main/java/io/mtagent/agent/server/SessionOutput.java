package io.mtagent.agent.server;

import io.mtagent.protocol.ErrorCode;
import io.mtagent.protocol.Frame;
import java.util.concurrent.Executor;

/**
 * What the stream logic of a session ({@link DiskStreams}, {@link DiskHandle}) needs of its connection, and
 * nothing more: it keeps the Netty channel out of the classes that decide. {@link ServerSession} implements it.
 *
 * <p>Thread-safety: {@link #write}, {@link #send}, {@link #flush}, {@link #sendError} and {@link #parkReading}
 * are called on the connection's event loop only; {@link #loop}, {@link #closing}, {@link #writable} and
 * {@link #active} from any thread.
 */
interface SessionOutput {
    /** Queues a frame without flushing. */
    void write(Frame frame);

    /** Flushes what {@link #write} queued. */
    void flush();

    /** Writes and flushes a frame. */
    void send(Frame frame);

    /**
     * Sends an ERROR (SPEC.md §8). A fatal one is the last frame of the connection: nothing is sent after it and
     * the connection half-closes and drains (§6.8). Does nothing once the session is {@link #closing}.
     */
    void sendError(ErrorCode code, int handle, long seq, String message);

    /** True once a fatal ERROR (SHUTTING_DOWN included) was sent or the session is being closed: send no more. */
    boolean closing();

    /** Runs a task on the connection's event loop (disk threads and hash workers hand their work over with it). */
    Executor loop();

    /** The connection's outbound buffer is under its high-water mark (TCP back-pressure, SPEC.md §12.4). */
    boolean writable();

    /** The connection is still open. */
    boolean active();

    /** Stops reading this connection until the cache volume and memory caps have room (SPEC.md §7). */
    void parkReading();
}
