package io.mtagent.protocol;

import io.netty.buffer.ByteBuf;

/**
 * One protocol frame. Implementations are small immutable types, one per {@link FrameType}; only
 * {@link WriteFrame} holds a reference-counted buffer (its data), released by whoever consumes it.
 */
public sealed interface Frame permits Frames.Hello, Frames.Challenge, Frames.AuthProof, Frames.AuthOk,
        Frames.OpenDisk, Frames.DiskOpened, Frames.CloseDisk, Frames.DiskClosed, WriteFrame, Frames.Tag,
        Frames.Ack, Frames.Credit, Frames.Error, Frames.Ping, Frames.Pong, ResyncFrames.ResyncStart,
        ResyncFrames.ResyncProgress, ResyncFrames.ResyncEnd, ResyncFrames.ResyncState, ResyncFrames.ChecksumRequest,
        ResyncFrames.Checksums {

    FrameType type();

    /** Writes the body (everything after the type byte) to {@code out}; a WRITE's data is not included. */
    void writeBody(ByteBuf out);

    /** Exact body length written by {@link #writeBody}, so the encoder allocates once. */
    int bodyLength();
}
