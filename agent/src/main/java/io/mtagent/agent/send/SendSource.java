package io.mtagent.agent.send;

import io.mtagent.protocol.client.DiskStream;
import io.mtagent.protocol.client.SourceDevice;
import java.nio.file.Path;
import java.util.regex.Pattern;

/**
 * Where {@code mtagent send} reads one disk from: a local image file or block device (compared chunk by chunk
 * with the agent's digests, {@link FileSource}) or an NBD export read through libnbd ({@link NbdSource}: the
 * allocated data of a first run, or only a dirty bitmap's extents). Opening checks everything that can be checked
 * without the agent (readable, reachable, TLS, bitmap present); {@link #checkAgainst} checks the agent's disk
 * before anything is sent. One thread uses a source at a time.
 */
public interface SendSource extends AutoCloseable {
    Pattern NBD_URI = Pattern.compile("^nbds?(\\+unix|\\+vsock)?://.*");

    /** Opens {@code source} (an NBD URI or a path) for disk {@code disk}; {@code bitmap} only for NBD. */
    static SendSource open(String disk, String source, String bitmap) throws SendException {
        if (NBD_URI.matcher(source).matches()) {
            return NbdSource.open(disk, source, bitmap);
        }
        if (bitmap != null) {
            throw new SendException("disk " + disk + ": --bitmap " + bitmap + " needs an NBD source (nbd://,"
                    + " nbds:// or nbd+unix://), but --source " + source + " is a path; serve the image with"
                    + " 'qemu-nbd --bitmap=" + bitmap + "' or libvirt's backup-begin and give its URI");
        }
        return FileSource.open(disk, Path.of(source));
    }

    /** The file, device or URI, as the operator gave it. */
    String describe();

    /** Size in bytes. */
    long size();

    /**
     * Refuses (before anything is sent) what this source cannot send to the agent's disk as opened: a size that
     * differs, a state no send can change.
     */
    default void checkAgainst(DiskStream stream) throws SendException {
        if (size() != stream.sizeBytes()) {
            throw new SendException("disk " + stream.diskId() + ": the source " + describe() + " is " + size()
                    + " bytes but the agent's disk is " + stream.sizeBytes() + " bytes; a send needs equal sizes"
                    + " (resize one of them, or pick the right --disk)");
        }
    }

    /**
     * Sends this source to the disk behind {@code stream} and ends with the end marker (a recovery point when the
     * result says consistent); returns once the agent acknowledged it.
     */
    DiskReport send(DiskStream stream, SendOptions options, SendProgress progress) throws Exception;

    /** The source as plain positional reads (for {@code --verify}). */
    SourceDevice asSourceDevice();

    @Override
    void close();
}
