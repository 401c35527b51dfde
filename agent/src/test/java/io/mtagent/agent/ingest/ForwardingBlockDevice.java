package io.mtagent.agent.ingest;

import io.mtagent.nativeio.BlockDevice;
import java.io.IOException;
import java.nio.ByteBuffer;

/** A real device underneath, every call forwarded: tests override the one or two calls they slow, count or break. */
public abstract class ForwardingBlockDevice implements BlockDevice {
    protected final BlockDevice inner;

    protected ForwardingBlockDevice(BlockDevice inner) {
        this.inner = inner;
    }

    @Override public long size() { return inner.size(); }
    @Override public int logicalSectorSize() { return inner.logicalSectorSize(); }
    @Override public int physicalSectorSize() { return inner.physicalSectorSize(); }
    @Override public String path() { return inner.path(); }
    @Override public void read(long offset, ByteBuffer dst) throws IOException { inner.read(offset, dst); }
    @Override public void write(long offset, ByteBuffer src) throws IOException { inner.write(offset, src); }
    @Override public void flush() throws IOException { inner.flush(); }
    @Override public void close() throws IOException { inner.close(); }
}
