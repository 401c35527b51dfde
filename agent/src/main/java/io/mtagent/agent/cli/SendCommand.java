package io.mtagent.agent.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.mtagent.agent.recovery.ProgressBar;
import io.mtagent.agent.send.SendException;
import io.mtagent.agent.send.SendOptions;
import io.mtagent.agent.send.SendProgress;
import io.mtagent.agent.send.SendRun;
import io.mtagent.agent.send.SendSummary;
import io.mtagent.protocol.ErrorCode;
import io.mtagent.protocol.ResyncFrames;
import io.mtagent.protocol.client.ClientOptions;
import io.mtagent.protocol.client.DiskStream;
import io.mtagent.protocol.client.ReplicationClient;
import io.mtagent.protocol.client.ReplicationException;
import io.mtagent.protocol.client.Resync;
import io.mtagent.protocol.client.SourceDevice;
import java.io.Console;
import java.io.PrintStream;
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
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code mtagent send}: a minimal process server. Replicates local files or block devices (differential resync,
 * protocol v2, SPEC.md §12) or NBD exports (their allocated data, or only a QEMU dirty bitmap's extents) to disks
 * of an agent, snapshot style: each run ends every disk with an end marker (a recovery point when the copy is
 * consistent), several disks with one group point, and with {@code --tag} an app-consistent tag.
 */
@Command(name = "send", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Replicate disks to an agent, snapshot style: each run ends with a recovery point per disk",
            "(and one group point across the disks of a multi-disk run). Run it again, e.g. from a systemd timer.",
            "",
            "Sources, per --disk:",
            "  PATH   an image file or block device: every chunk is read and compared by SHA-256 with the agent's;",
            "         only chunks that differ cross the wire. A file that changes while it is read is read again;",
            "         when it does not settle within --passes the point is marked NOT consistent (exit 1).",
            "  URI    an NBD export read through libnbd (Debian package libnbd0): nbd://HOST[:PORT]/EXPORT,",
            "         nbds://... (TLS; ?tls-certificates=DIR or ?tls-psk-file=FILE), nbd+unix:///EXPORT?socket=PATH.",
            "         It must be a frozen view (libvirt's backup-begin in pull mode, an exported snapshot).",
            "         First run (or --full): the allocated data only; holes are checked by digest, never read.",
            "         --bitmap NAME: only the extents the QEMU dirty bitmap NAME marks changed (changed-block",
            "         tracking): a cycle costs the churn, not the disk. The bitmap must track the changes since the",
            "         view of the last run that ended 0; see README 'Changed-block tracking' for the rotation.",
            "",
            "Several disks: repeat --disk ID --source URI|PATH [--bitmap NAME]. They are sent in parallel on one",
            "connection and end with one group point named after the run (--name), listed by 'mtagent points",
            "--group G' and accepted by 'mtagent recover --group G' when they are the members of group G.",
            "With --tag NAME (you froze the guest) every disk also gets an app-consistent tag.",
            "",
            "Nothing is sent when an input is wrong (unreadable file, unreachable server, TLS failure, missing",
            "bitmap, size mismatch, failed disk): a one-line error names it and 'send' exits 2.",
            "--verify compares only (online verify) and lists the differing ranges; --verify --repair re-sends them.",
            "The passphrase comes from --passphrase-file, else $MTAGENT_PASSPHRASE, else a prompt.",
            "",
            "Examples:",
            "  mtagent send --agent mt01:9443 --fingerprint AB:CD:... --disk 6000c29a --source /dev/vg0/web-snap --tag nightly",
            "  mtagent send --agent mt01 --disk vm1-vda --source nbd+unix:///vda?socket=/run/vm1.sock --bitmap cp-2 \\",
            "               --disk vm1-vdb --source nbd+unix:///vdb?socket=/run/vm1.sock --bitmap cp-2",
            "  mtagent send --agent mt01 --disk disk-0 --source disk0.img --verify",
            "",
            "Exit code: 0 done (every point consistent), 1 done but a point is not consistent / --verify found",
            "differences, 2 error (nothing sent when found before sending)."})
final class SendCommand implements Callable<Integer> {
    @Option(names = "--agent", paramLabel = "HOST[:PORT]", required = true,
            description = "The agent's data address (port 9443 if omitted).")
    String agent;

    @ArgGroup(exclusive = false, multiplicity = "1..*", heading = "Disks (repeat the group for each disk):%n")
    List<DiskArgs> disks;

    static final class DiskArgs {
        @Option(names = "--disk", paramLabel = "ID", required = true,
                description = "The disk's id on the agent (or its configured name, disk.<name>.*).")
        String disk;

        @Option(names = "--source", paramLabel = "PATH|URI", required = true,
                description = "Image file, block device or NBD URI to send (same size as the agent's disk).")
        String source;

        @Option(names = "--bitmap", paramLabel = "NAME",
                description = "NBD only: send just the extents of dirty bitmap NAME (qemu:dirty-bitmap:NAME).")
        String bitmap;
    }

    @Option(names = "--tag", paramLabel = "NAME",
            description = "After a consistent run, add an app-consistent tag NAME on every disk (you froze the source).")
    String tag;

    @Option(names = "--name", paramLabel = "NAME",
            description = "Name of the run's recovery points: each disk's end marker and the group point"
                    + " (default send-<UTC time>).")
    String name;

    @Option(names = "--group", description = "End with a group point even when the run has one disk (several disks"
            + " always do).")
    boolean group;

    @Option(names = "--fingerprint", paramLabel = "AB:CD:...",
            description = "Pin the agent's certificate ('mtagent cert' on the agent prints it). Strongly advised.")
    String fingerprint;

    @Option(names = "--passphrase-file", paramLabel = "FILE", description = "File holding the agent's passphrase.")
    Path passphraseFile;

    @Option(names = "--epoch", paramLabel = "N",
            description = "Stream epoch (default: seconds since 1970, so each run takes the disks over from the last).")
    Long epoch;

    @Option(names = "--chunk-size", paramLabel = "SIZE",
            description = "Compared unit: a power of two in 64KiB..1MiB (default 1MiB for files, 64KiB for NBD).")
    String chunkSize;

    @Option(names = "--rate", paramLabel = "SIZE", defaultValue = "0",
            description = "Most bytes per second of data to send per disk, e.g. 50MiB; 0 = unlimited.")
    String rate;

    @Option(names = "--passes", paramLabel = "N", defaultValue = "3",
            description = "Files: most passes over a changing source before the point is marked not consistent"
                    + " (default ${DEFAULT-VALUE}; 1 = no second pass).")
    int passes;

    @Option(names = "--full", description = "Send every allocated chunk without comparing, and ignore --bitmap"
            + " (the target is empty or unrelated).")
    boolean full;

    @Option(names = "--nbd-requests", paramLabel = "N", defaultValue = "8",
            description = "NBD reads in flight per disk (default ${DEFAULT-VALUE}).")
    int nbdRequests;

    @Option(names = "--nbd-request-size", paramLabel = "SIZE", defaultValue = "1MiB",
            description = "Bytes per NBD read (default ${DEFAULT-VALUE}).")
    String nbdRequestSize;

    @Option(names = "--verify", description = "Compare only (one disk): list the ranges where the agent's disk differs.")
    boolean verify;

    @Option(names = "--repair", description = "With --verify: re-send the differing ranges.")
    boolean repair;

    @Option(names = "--json", description = "Print the summary as JSON on stdout (progress goes to stderr).")
    boolean json;

    @Option(names = "--insecure-plaintext", hidden = true, description = "Test only: no TLS.")
    boolean plaintext;

    @Override
    public Integer call() throws Exception {
        int chunk = chunkSize == null ? 0 : (int) parseSize(chunkSize);
        if (chunkSize != null && !ResyncFrames.validChunkSize(chunk)) {
            return fail("--chunk-size " + chunkSize + " must be a power of two from 64KiB to 1MiB");
        }
        if (repair && !verify) {
            return fail("--repair goes with --verify");
        }
        if (verify && disks.size() != 1) {
            return fail("--verify checks one disk per run; give one --disk/--source pair");
        }
        int requestBytes = (int) parseSize(nbdRequestSize);
        if (nbdRequests < 1 || nbdRequests > 64 || requestBytes < 65536 || requestBytes > (32 << 20)) {
            return fail("--nbd-requests must be 1..64 and --nbd-request-size 64KiB..32MiB");
        }
        String end = name != null ? name : (verify ? "repair-" : "send-") + Instant.now().truncatedTo(ChronoUnit.SECONDS);
        SendOptions options = new SendOptions(chunk, parseSize(rate), full, passes, tag != null, end, nbdRequests,
                requestBytes);
        List<SendRun.DiskSpec> specs = disks.stream().map(d -> new SendRun.DiskSpec(d.disk, d.source, d.bitmap)).toList();
        try (SendRun run = new SendRun(specs, options)) {
            run.openSources();
            try (ReplicationClient client = ReplicationClient.connect(clientOptions())) {
                if (client.protocolVersion() < 2) {
                    return fail("the agent speaks protocol " + client.protocolVersion() + " only; send needs version 2"
                            + " (upgrade the agent)");
                }
                run.openStreams(client, epoch != null ? epoch : Instant.now().getEpochSecond());
                if (verify) {
                    String disk = specs.get(0).disk();
                    return verify(run.stream(disk), run.source(disk).asSourceDevice(), chunk > 0 ? chunk
                            : ResyncFrames.MAX_CHUNK_SIZE, end);
                }
                PrintStream progressOut = json ? System.err : System.out;
                ProgressBar bar = new ProgressBar(progressOut, "send " + (specs.size() == 1 ? specs.get(0).disk()
                        : specs.size() + " disks"), System.console() != null, Duration.ofSeconds(5));
                SendSummary summary = run.send(new SendProgress(bar), group, tag);
                if (json) {
                    CliJson.print(System.out, new ObjectMapper().readTree(summary.json()));
                } else {
                    summary.printText(System.out);
                }
                for (String error : summary.errors()) {
                    System.err.println("mtagent send: " + error);
                }
                return summary.exitCode();
            }
        } catch (SendException e) {
            return fail(e.getMessage());
        } catch (ReplicationException ex) {
            System.err.println("mtagent send: " + ex.getMessage());
            if (ex.code() == ErrorCode.STALE_EPOCH) {
                System.err.println("  another process server holds the disk under a newer epoch; give --epoch higher"
                        + " than it only if that one is gone");
            }
            return 2;
        }
    }

    private static int fail(String message) {
        System.err.println("mtagent send: " + message);
        return 2;
    }

    private ClientOptions clientOptions() throws Exception {
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
        return b.build();
    }

    private int verify(DiskStream stream, SourceDevice src, int chunk, String end) throws Exception {
        long t0 = System.nanoTime();
        List<long[]> bad = Resync.verify(stream, src, chunk, Duration.ofSeconds(30));
        double secs = (System.nanoTime() - t0) / 1e9;
        String disk = stream.diskId();
        System.out.printf(Locale.ROOT, "%s: verified %s in %.1f s (%.1f MB/s): %d differing range(s)%n", disk,
                SendSummary.size(stream.sizeBytes()), secs, stream.sizeBytes() / 1e6 / secs, bad.size());
        for (long[] r : bad) {
            System.out.printf("  %d..%d (%s)%n", r[0], r[1], SendSummary.size(r[1] - r[0]));
        }
        if (bad.isEmpty()) {
            return 0;
        }
        if (repair) {
            Resync.Result r = Resync.repair(stream, src, bad, chunk, end);
            System.out.printf("  repaired: re-sent %s; end marker '%s' at seq %d%n", SendSummary.size(r.bytesSent()),
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
