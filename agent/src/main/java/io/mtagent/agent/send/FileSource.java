package io.mtagent.agent.send;

import io.mtagent.protocol.ResyncFrames;
import io.mtagent.protocol.client.DiskStream;
import io.mtagent.protocol.client.Resync;
import io.mtagent.protocol.client.SourceDevice;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A local image file or block device, sent by differential resync (SPEC.md §12): every chunk is read and its
 * SHA-256 compared with the agent's, only differing chunks cross the wire. A file that changes while it is read
 * is read again ({@link SendOptions#passes}) and its point marked not consistent when it does not settle.
 */
final class FileSource implements SendSource {
    private static final int DEFAULT_CHUNK = ResyncFrames.MAX_CHUNK_SIZE;
    private final String disk;
    private final Path path;
    private final SourceDevice device;
    private final long size;

    private FileSource(String disk, Path path, SourceDevice device, long size) {
        this.disk = disk;
        this.path = path;
        this.device = device;
        this.size = size;
    }

    static FileSource open(String disk, Path path) throws SendException {
        if (!Files.isReadable(path)) {
            throw new SendException("disk " + disk + ": cannot read " + path + " (does it exist, and may this user"
                    + " read it?)");
        }
        try {
            SourceDevice d = SourceDevice.open(path);
            return new FileSource(disk, path, d, d.size());
        } catch (IOException e) {
            throw new SendException("disk " + disk + ": cannot open " + path + ": " + e.getMessage(), e);
        }
    }

    @Override
    public String describe() {
        return path.toString();
    }

    @Override
    public long size() {
        return size;
    }

    @Override
    public DiskReport send(DiskStream stream, SendOptions o, SendProgress progress) throws Exception {
        int chunk = o.chunkOr(DEFAULT_CHUNK);
        long[] reported = {0};
        progress.plan(size);
        Resync.Options ro = Resync.Options.defaults().withChunkSize(chunk).withRate(o.bytesPerSecond())
                .withMode(o.full() ? ResyncFrames.Mode.FULL : ResyncFrames.Mode.DIFFERENTIAL)
                .withPasses(Math.max(1, o.passes())).withConsistentSource(o.passes() <= 1 && o.frozenSource())
                .withEndName(o.endName())
                .withProgress(p -> {
                    // Later passes re-read the file: count only the first pass's advance.
                    if (p.pass() == 1 && p.doneOffset() > reported[0]) {
                        progress.advance(p.doneOffset() - reported[0]);
                        reported[0] = p.doneOffset();
                    }
                });
        ResyncFrames.ResyncState resumed = stream.resyncState();
        if (resumed != null) {
            reported[0] = resumed.doneOffset();
            progress.advance(resumed.doneOffset());
        }
        Resync.Result r = stream.resync(device, ro);
        String why = r.resumedFrom() > 0 ? "resumed an interrupted resync at byte " + r.resumedFrom()
                + (r.consistent() ? "" : "; the chunks before it were not re-checked in this run, so run 'mtagent"
                + " send' again for a consistent point") : null;
        if (!r.consistent() && why == null) {
            why = r.chunksChangedInLastPass() + " chunk(s) still changed in pass " + r.passes() + ": freeze the"
                    + " source (or send a snapshot) for a consistent point";
        }
        return new DiskReport(stream.diskId(), describe(), o.full() ? "full" : "compare", why, size,
                r.bytesCompared(), r.chunksDiffering() * (long) r.chunkSize(), r.bytesSent(), r.wireBytesSent(),
                r.checksumBytes(), r.consistent(), o.endName(), r.endSeq(), r.seconds());
    }

    @Override
    public SourceDevice asSourceDevice() {
        return device;
    }

    @Override
    public void close() {
        try {
            device.close();
        } catch (IOException e) {
            throw new UncheckedIOException("disk " + disk + ": closing " + path, e);
        }
    }
}
