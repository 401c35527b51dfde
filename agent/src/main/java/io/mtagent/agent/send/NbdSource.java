package io.mtagent.agent.send;

import io.mtagent.nativeio.nbd.NbdClient;
import io.mtagent.nativeio.nbd.NbdException;
import io.mtagent.nativeio.nbd.NbdUnavailableException;
import io.mtagent.protocol.DiskState;
import io.mtagent.protocol.ResyncFrames;
import io.mtagent.protocol.client.DiskStream;
import io.mtagent.protocol.client.SourceDevice;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * An NBD export read through libnbd: {@code nbd://}, {@code nbds://} (TLS) or {@code nbd+unix:///EXPORT?socket=}.
 * The export must be a frozen view of the disk (libvirt's pull-mode backup, an exported snapshot, an image no
 * one writes): then each run's end marker is a recovery point equal to that view.
 *
 * <p>Two ways to send it:
 * <ul>
 *   <li><b>bitmap</b> ({@code --bitmap NAME}): only the extents that {@code qemu:dirty-bitmap:NAME} marks dirty,
 *       as resync writes of mode "ranges", then the end marker ({@link ChangedBlockSend}). Correct when the
 *       agent's disk holds the point the bitmap was started at (see README: bitmap rotation).</li>
 *   <li><b>baseline</b>: the first run, {@code --full}, or whenever the agent's disk cannot be the base of a
 *       bitmap (it holds nothing yet, it needs a resync, or a resync of another kind is half done): the
 *       allocated data by {@code base:allocation}, holes only checked by digest ({@link AllocationBaseline}).</li>
 * </ul>
 */
final class NbdSource implements SendSource {
    private static final int DEFAULT_CHUNK = ResyncFrames.MIN_CHUNK_SIZE;
    private final String uri;
    private final String bitmap;
    private final NbdClient client;
    private final boolean allocationKnown;

    private NbdSource(String uri, String bitmap, NbdClient client, boolean allocationKnown) {
        this.uri = uri;
        this.bitmap = bitmap;
        this.client = client;
        this.allocationKnown = allocationKnown;
    }

    /** Connects and checks the bitmap's context: every failure is a one-line {@link SendException}. */
    static NbdSource open(String disk, String uri, String bitmap) throws SendException {
        List<String> contexts = new ArrayList<>(List.of(NbdClient.BASE_ALLOCATION));
        String bitmapContext = bitmap == null ? null : NbdClient.DIRTY_BITMAP_PREFIX + bitmap;
        if (bitmapContext != null) {
            contexts.add(bitmapContext);
        }
        NbdClient c;
        try {
            c = NbdClient.connect(uri, contexts);
        } catch (NbdUnavailableException e) {
            throw new SendException("disk " + disk + ": " + e.getMessage(), e);
        } catch (NbdException e) {
            throw new SendException("disk " + disk + ": NBD source " + e.getMessage() + tlsHint(uri, e), e);
        }
        try {
            boolean allocation = c.hasMetaContext(NbdClient.BASE_ALLOCATION);
            if (bitmapContext != null && !c.hasMetaContext(bitmapContext)) {
                throw new SendException("disk " + disk + ": " + missingBitmap(uri, bitmap, allocation));
            }
            NbdSource s = new NbdSource(uri, bitmap, c, allocation);
            c = null;
            return s;
        } catch (NbdException e) {
            throw new SendException("disk " + disk + ": NBD source " + uri + ": " + e.getMessage(), e);
        } finally {
            if (c != null) {
                c.close();
            }
        }
    }

    private static String missingBitmap(String uri, String bitmap, boolean anyContext) {
        if (!anyContext) {
            return "the NBD server at " + uri + " offers no metadata contexts (no structured replies), so it cannot"
                    + " report dirty bitmap '" + bitmap + "'; export the image with 'qemu-nbd --bitmap=" + bitmap
                    + "' or libvirt's backup-begin (pull mode)";
        }
        List<String> offered;
        try {
            offered = NbdClient.listMetaContexts(uri, NbdClient.DIRTY_BITMAP_PREFIX);
        } catch (NbdException e) {
            offered = List.of();
        }
        List<String> names = offered.stream().map(n -> n.substring(NbdClient.DIRTY_BITMAP_PREFIX.length())).toList();
        return "the NBD export " + uri + " has no dirty bitmap '" + bitmap + "' (" + (names.isEmpty()
                ? "it exports none" : "it exports: " + String.join(", ", names)) + "); export it with 'qemu-nbd"
                + " --bitmap=" + bitmap + "' or name the checkpoint's bitmap that libvirt's backup-begin exposes";
    }

    private static String tlsHint(String uri, NbdException e) {
        String m = e.getMessage().toLowerCase(Locale.ROOT);
        if (uri.startsWith("nbds") && m.contains("refused tls")) {
            return " (the server offers no TLS: start it with TLS, or use nbd:// where the link is trusted)";
        }
        if (uri.startsWith("nbds") && (m.contains("tls") || m.contains("handshake") || m.contains("certificate"))) {
            return " (the TLS setup failed: give the server's certificates with ?tls-certificates=DIR or a PSK"
                    + " with ?tls-psk-file=FILE in the URI)";
        }
        return "";
    }

    @Override
    public String describe() {
        return uri;
    }

    @Override
    public long size() {
        return client.size();
    }

    /** Why a bitmap run cannot be trusted on this disk as opened, or null when it can. */
    static String baselineReason(DiskStream stream, boolean full) {
        if (full) {
            return "--full";
        }
        if (stream.info().lastDurableSeq() == 0) {
            return "first run: the agent's disk holds nothing yet";
        }
        if (stream.state() == DiskState.NEEDS_RESYNC) {
            return "the agent's disk needs a resync (" + stream.state().label() + "), so it holds no base for the"
                    + " bitmap's changes";
        }
        ResyncFrames.ResyncState r = stream.resyncState();
        if (r != null && r.mode() != ResyncFrames.Mode.RANGES) {
            return "a " + r.mode().label() + " resync of the disk was interrupted, so it holds no base for the"
                    + " bitmap's changes";
        }
        return null;
    }

    @Override
    public DiskReport send(DiskStream stream, SendOptions o, SendProgress progress) throws Exception {
        String why = bitmap == null ? null : baselineReason(stream, o.full());
        if (bitmap != null && why == null) {
            return new ChangedBlockSend(client, NbdClient.DIRTY_BITMAP_PREFIX + bitmap, stream, o, progress).run();
        }
        if (why != null) {
            why = "baseline instead of bitmap '" + bitmap + "': " + why;
        }
        if (!allocationKnown) {
            String note = "the server reports no base:allocation, so holes are read and sent as data";
            why = why == null ? note : why + "; " + note;
        }
        return new AllocationBaseline(client, allocationKnown, stream, o.chunkOr(DEFAULT_CHUNK), o, progress).run(why);
    }

    @Override
    public SourceDevice asSourceDevice() {
        return new SourceDevice() {
            @Override
            public long size() {
                return client.size();
            }

            @Override
            public void read(long offset, ByteBuffer dst) throws IOException {
                client.read(offset, dst);
            }

            @Override
            public void close() {
                // the source owns the client
            }
        };
    }

    @Override
    public void close() {
        client.close();
    }
}
