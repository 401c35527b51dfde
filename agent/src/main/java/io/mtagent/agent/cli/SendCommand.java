package io.mtagent.agent.cli;

import io.mtagent.agent.recovery.ProgressBar;
import io.mtagent.agent.recovery.ProgressListener;
import io.mtagent.protocol.DiskState;
import io.mtagent.protocol.ResyncFrames;
import io.mtagent.protocol.TagType;
import io.mtagent.protocol.client.ClientOptions;
import io.mtagent.protocol.client.DiskStream;
import io.mtagent.protocol.client.ReplicationClient;
import io.mtagent.protocol.client.ReplicationException;
import io.mtagent.protocol.client.Resync;
import io.mtagent.protocol.client.SourceDevice;
import java.io.Console;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code mtagent send}: a minimal process server. Replicates a local file or block device to a disk of an agent by
 * differential resync (protocol v2, SPEC.md §12), snapshot style: each run ends with an end marker (a recovery
 * point when the copy is consistent) and, with {@code --tag}, an app-consistent tag.
 */
@Command(name = "send", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Replicate a local image file or block device to a disk of an agent, sending only the chunks",
            "that differ (SHA-256 of each chunk on both sides). Run it again, e.g. from cron or a systemd timer, to",
            "replicate snapshot-style: each run ends with a recovery point on the agent.",
            "",
            "A source that changes while it is read is not copied consistently. 'send' reads it again after the",
            "first pass and re-sends the chunks that changed; when a pass finds none, the copy equals the source as it",
            "was at the end of the pass before, and the end marker is a recovery point. Otherwise (still changing",
            "after --passes passes) the point is marked NOT consistent and 'send' exits 1. For an app-consistent",
            "point, freeze the source (fsfreeze, an LVM or ZFS snapshot, a stopped VM) and give --tag NAME.",
            "",
            "--verify compares only (online verify) and lists the ranges that differ; --verify --repair re-sends",
            "exactly those ranges.",
            "",
            "The passphrase comes from --passphrase-file, else $MTAGENT_PASSPHRASE, else a prompt.",
            "",
            "Examples:",
            "  mtagent send --agent mt01:9443 --fingerprint AB:CD:... --disk 6000c29a --source /dev/vg0/web-snap --tag nightly",
            "  mtagent send --agent mt01 --disk disk-0 --source disk0.img --verify",
            "",
            "Exit code: 0 done (consistent point), 1 done but not consistent / differences found by --verify,",
            "2 error."})
final class SendCommand implements Callable<Integer> {
    @Option(names = "--agent", paramLabel = "HOST[:PORT]", required = true,
            description = "The agent's data address (port 9443 if omitted).")
    String agent;

    @Option(names = "--disk", paramLabel = "ID", required = true, description = "The disk id declared on the agent.")
    String disk;

    @Option(names = "--source", paramLabel = "PATH", required = true,
            description = "The image file or block device to send (same size as the agent's disk).")
    Path source;

    @Option(names = "--tag", paramLabel = "NAME",
            description = "After a consistent run, add an app-consistent tag NAME (you froze the source).")
    String tag;

    @Option(names = "--name", paramLabel = "NAME",
            description = "Name of the end marker (default send-<UTC time>).")
    String name;

    @Option(names = "--fingerprint", paramLabel = "AB:CD:...",
            description = "Pin the agent's certificate ('mtagent cert' on the agent prints it). Strongly advised.")
    String fingerprint;

    @Option(names = "--passphrase-file", paramLabel = "FILE", description = "File holding the agent's passphrase.")
    Path passphraseFile;

    @Option(names = "--epoch", paramLabel = "N",
            description = "Stream epoch (default: seconds since 1970, so each run takes the disk over from the last).")
    Long epoch;

    @Option(names = "--chunk-size", paramLabel = "SIZE", defaultValue = "1MiB",
            description = "Compared unit: a power of two in 64KiB..1MiB (default ${DEFAULT-VALUE}).")
    String chunkSize;

    @Option(names = "--rate", paramLabel = "SIZE", defaultValue = "0",
            description = "Most bytes per second of chunk data to send, e.g. 50MiB; 0 = unlimited.")
    String rate;

    @Option(names = "--passes", paramLabel = "N", defaultValue = "3",
            description = "Most passes over a changing source before the point is marked not consistent"
                    + " (default ${DEFAULT-VALUE}; 1 = no second pass).")
    int passes;

    @Option(names = "--full", description = "Send every chunk without comparing (the target is empty or unrelated).")
    boolean full;

    @Option(names = "--verify", description = "Compare only: list the ranges where the agent's disk differs.")
    boolean verify;

    @Option(names = "--repair", description = "With --verify: re-send the differing ranges.")
    boolean repair;

    @Option(names = "--insecure-plaintext", hidden = true, description = "Test only: no TLS.")
    boolean plaintext;

    @Override
    public Integer call() throws Exception {
        int chunk = (int) parseSize(chunkSize);
        if (!ResyncFrames.validChunkSize(chunk)) {
            System.err.println("mtagent send: --chunk-size " + chunkSize + " must be a power of two from 64KiB to 1MiB");
            return 2;
        }
        if (repair && !verify) {
            System.err.println("mtagent send: --repair goes with --verify");
            return 2;
        }
        if (!Files.isReadable(source)) {
            System.err.println("mtagent send: cannot read " + source + " (does it exist, and may this user read it?)");
            return 2;
        }
        String host = agent;
        int port = 9443;
        int colon = agent.lastIndexOf(':');
        if (colon > 0 && agent.indexOf(':') == colon) {
            host = agent.substring(0, colon);
            port = Integer.parseInt(agent.substring(colon + 1));
        }
        ClientOptions.Builder b = ClientOptions.builder(host, port).passphrase(passphrase()).clientName("mtagent-send")
                .plaintext(plaintext);
        if (fingerprint != null) {
            b.pinnedFingerprint(fingerprint);
        } else if (!plaintext) {
            System.err.println("mtagent send: warning: the agent's certificate is not pinned (--fingerprint); the"
                    + " passphrase proof still binds it, but pinning also refuses an impostor before any exchange");
        }
        long e = epoch != null ? epoch : Instant.now().getEpochSecond();
        try (ReplicationClient client = ReplicationClient.connect(b.build()); SourceDevice src = SourceDevice.open(source)) {
            if (client.protocolVersion() < 2) {
                System.err.println("mtagent send: the agent speaks protocol " + client.protocolVersion()
                        + " only; resync needs version 2 (upgrade the agent)");
                return 2;
            }
            DiskStream stream = client.openDisk(disk, e);
            if (stream.state() == DiskState.FAILED || stream.state() == DiskState.RECOVERING) {
                System.err.println("mtagent send: disk " + disk + " is " + stream.state().label()
                        + " on the agent; fix that first ('mtagent status' on the agent)");
                return 2;
            }
            return verify ? verify(stream, src, chunk) : send(stream, src, chunk);
        } catch (ReplicationException ex) {
            System.err.println("mtagent send: " + ex.getMessage());
            if (ex.code() == io.mtagent.protocol.ErrorCode.STALE_EPOCH) {
                System.err.println("  another process server holds the disk under a newer epoch; give --epoch higher"
                        + " than it only if that one is gone");
            }
            return 2;
        }
    }

    private int send(DiskStream stream, SourceDevice src, int chunk) throws Exception {
        String end = name != null ? name : "send-" + Instant.now().truncatedTo(ChronoUnit.SECONDS);
        ProgressBar bar = ProgressBar.forConsole("send " + disk);
        long size = stream.sizeBytes();
        if (stream.resyncState() != null) {
            System.err.printf("resuming an interrupted resync of %s at %s%n", disk,
                    ReplicasCommand.size(stream.resyncState().doneOffset()));
        }
        Resync.Options o = Resync.Options.defaults().withChunkSize(chunk).withRate(parseSize(rate))
                .withMode(full ? ResyncFrames.Mode.FULL : ResyncFrames.Mode.DIFFERENTIAL)
                .withPasses(Math.max(1, passes)).withConsistentSource(passes <= 1 && tag != null).withEndName(end)
                .withProgress(p -> {
                    double rateBps = p.seconds() > 0 ? p.doneOffset() / p.seconds() : 0;
                    Duration eta = rateBps <= 0 ? null : Duration.ofSeconds((long) ((p.endOffset() - p.doneOffset())
                            / rateBps));
                    bar.progress(new ProgressListener.Progress(p.doneOffset(), size, rateBps, eta, false));
                });
        Resync.Result r = stream.resync(src, o);
        bar.progress(new ProgressListener.Progress(size, size, r.bytesCompared() / Math.max(1e-3, r.seconds()),
                Duration.ZERO, true));
        System.out.printf(Locale.ROOT, "%s: compared %s in %d chunk(s) of %s, %d differed; sent %s (%s on the wire),"
                        + " checksums %s; %d pass(es), %.1f s%n", disk, ReplicasCommand.size(r.bytesCompared()),
                r.chunksCompared(), ReplicasCommand.size(r.chunkSize()), r.chunksDiffering(),
                ReplicasCommand.size(r.bytesSent()), ReplicasCommand.size(r.wireBytesSent()),
                ReplicasCommand.size(r.checksumBytes()), r.passes(), r.seconds());
        if (r.resumedFrom() > 0) {
            System.out.printf("  resumed at %s: the run before was interrupted%s%n", ReplicasCommand.size(r.resumedFrom()),
                    r.consistent() ? "" : "; the chunks before that were not re-checked in this run, so run"
                            + " 'mtagent send' again for a consistent point");
        }
        if (!r.consistent()) {
            System.out.printf("  NOT CONSISTENT: %d chunk(s) still changed in pass %d; end marker '%s' (seq %d) is"
                    + " not a recovery point. Freeze the source (or send a snapshot) for a consistent point.%n",
                    r.chunksChangedInLastPass(), r.passes(), end, r.endSeq());
            return 1;
        }
        System.out.printf("  recovery point '%s' at seq %d%n", end, r.endSeq());
        if (tag != null) {
            long seq = stream.tag(TagType.APP_CONSISTENT, tag, System.currentTimeMillis() * 1000);
            stream.awaitAcked(seq, Duration.ofMinutes(1));
            System.out.printf("  app-consistent tag '%s' at seq %d%n", tag, seq);
        }
        return 0;
    }

    private int verify(DiskStream stream, SourceDevice src, int chunk) throws Exception {
        long t0 = System.nanoTime();
        List<long[]> bad = Resync.verify(stream, src, chunk, Duration.ofSeconds(30));
        double secs = (System.nanoTime() - t0) / 1e9;
        System.out.printf(Locale.ROOT, "%s: verified %s in %.1f s (%.1f MB/s): %d differing range(s)%n", disk,
                ReplicasCommand.size(stream.sizeBytes()), secs, stream.sizeBytes() / 1e6 / secs, bad.size());
        for (long[] r : bad) {
            System.out.printf("  %d..%d (%s)%n", r[0], r[1], ReplicasCommand.size(r[1] - r[0]));
        }
        if (bad.isEmpty()) {
            return 0;
        }
        if (repair) {
            String end = name != null ? name : "repair-" + Instant.now().truncatedTo(ChronoUnit.SECONDS);
            Resync.Result r = Resync.repair(stream, src, bad, chunk, end);
            System.out.printf("  repaired: re-sent %s; end marker '%s' at seq %d%n", ReplicasCommand.size(r.bytesSent()),
                    end, r.endSeq());
            return 0;
        }
        return 1;
    }

    private char[] passphrase() throws Exception {
        if (passphraseFile != null) {
            return Files.readString(passphraseFile, StandardCharsets.UTF_8).strip().toCharArray();
        }
        String env = System.getenv("MTAGENT_PASSPHRASE");
        if (env != null) {
            return env.toCharArray();
        }
        Console c = System.console();
        if (c == null) {
            throw new IllegalArgumentException("no passphrase: give --passphrase-file or set MTAGENT_PASSPHRASE");
        }
        return c.readPassword("passphrase of the agent: ");
    }

    private static final Pattern SIZE = Pattern.compile("(\\d+)\\s*([KMGT]i?B?)?", Pattern.CASE_INSENSITIVE);

    static long parseSize(String text) {
        Matcher m = SIZE.matcher(text.trim());
        if (!m.matches()) {
            throw new IllegalArgumentException("not a size: '" + text + "' (use e.g. 65536, 64KiB, 1MiB)");
        }
        long n = Long.parseLong(m.group(1));
        String unit = m.group(2) == null ? "" : m.group(2).toUpperCase(Locale.ROOT);
        int shift = unit.isEmpty() ? 0 : switch (unit.charAt(0)) {
            case 'K' -> 10;
            case 'M' -> 20;
            case 'G' -> 30;
            default -> 40;
        };
        return n << shift;
    }
}
