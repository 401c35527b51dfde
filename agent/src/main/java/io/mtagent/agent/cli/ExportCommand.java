package io.mtagent.agent.cli;

import io.mtagent.agent.config.AgentConfig;
import io.mtagent.agent.config.DiskConfig;
import io.mtagent.agent.recovery.ExportPathPolicy;
import io.mtagent.agent.recovery.ExportService;
import io.mtagent.agent.recovery.ProgressBar;
import io.mtagent.agent.retention.DiscardedHistory;
import io.mtagent.agent.retention.PointInTimeView;
import io.mtagent.agent.retention.RecoveryPoint;
import io.mtagent.agent.retention.RetentionJournal;
import io.mtagent.nativeio.FileBlockDevice;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code mtagent export}: writes a disk's image at a recovery point to a file or device. When the agent runs,
 * through the control API (an export job in the agent, while replication goes on; the CLI follows its
 * progress); when no agent answers, offline, by opening the retention journal and the target directly.
 */
@Command(name = "export", mixinStandardHelpOptions = true,
        description = {"Write a disk as it was at a recovery point to an image file or a device.",
            "When the agent runs, the agent does the export (replication goes on) and this command shows its",
            "progress; the path is then the agent's (it is made absolute here). When no agent answers, the export",
            "runs here, offline: it opens the retention journal and the target directly, and includes only writes",
            "already applied (start the agent to apply the rest).",
            "Points: a sequence number, a tag name (its latest occurrence), latest, latest-processed, latest-app,",
            "seq:N, tag:NAME, or (through the agent) a time such as 2026-11-23T10:42:17Z.",
            "To a file, the image is written to <FILE>.partial, synced and renamed, so FILE is only ever complete.",
            "FILE must lie in one of the export directories (export.dirs, default <state.dir>/exports); a path onto",
            "a target or into the state, cache or retention directory is refused, symbolic links followed.",
            "",
            "Example:  mtagent export --disk disk-0 --point before-upgrade --out /srv/images/disk-0.raw"})
final class ExportCommand implements Callable<Integer> {
    @Mixin
    ConfigOptions configOptions;

    @Option(names = "--disk", required = true, paramLabel = "ID", description = "Disk id (or its config name).")
    String disk;

    @Option(names = "--point", required = true, paramLabel = "SEQ|TAG|latest",
            description = "Recovery point: a sequence number, a tag name (its latest occurrence) or 'latest'.")
    String point;

    @Option(names = "--out", required = true, paramLabel = "FILE|DEVICE", description = "Image file or device.")
    Path out;

    @Option(names = "--overwrite", description = "Overwrite an existing non-empty file, or a device.")
    boolean overwrite;

    @Option(names = "--offline", description = "Do not ask a running agent: export here (the agent must be"
            + " stopped).")
    boolean offline;

    @Override
    public Integer call() throws Exception {
        AgentConfig config = configOptions.load();
        if (!offline) {
            try {
                return throughAgent(new ControlClient(config));
            } catch (ControlClient.Unreachable e) {
                System.out.println("no agent answers (" + e.getMessage() + "); exporting offline");
            }
        }
        return offlineExport(config);
    }

    /** The point as the control API takes it: a bare number is a seq, a bare name a tag. */
    String apiPoint() {
        if (point.matches("[0-9]{1,18}")) {
            return "seq:" + point;
        }
        if (point.startsWith("seq:") || point.startsWith("tag:") || point.startsWith("latest")
                || point.matches("[0-9]{4}-.*T.*")) {
            return point;
        }
        return "tag:" + point;
    }

    private int throughAgent(ControlClient client) throws InterruptedException {
        ControlClient.Response r = client.post("v1/export", java.util.Map.of("disk", disk, "point", apiPoint(),
                "out", out.toAbsolutePath().toString(), "overwrite", overwrite));
        if (r.status() != 202) {
            System.err.println("mtagent: " + r.error());
            return 2;
        }
        System.out.printf("exporting disk %s at seq %d to %s (job %s, in the agent)%n", disk,
                r.body().path("seq").asLong(), out.toAbsolutePath(), r.body().path("job").asText());
        if (r.body().hasNonNull("warning")) {
            System.out.println("WARNING: " + r.body().path("warning").asText());
        }
        com.fasterxml.jackson.databind.JsonNode end = JobWatcher.await(client, r.body().path("job").asText());
        if (!end.path("state").asText().equals("done")) {
            System.err.println("mtagent: export failed: " + end.path("error").asText());
            return 2;
        }
        com.fasterxml.jackson.databind.JsonNode res = end.path("result");
        System.out.printf("done: %,d bytes in %.1f s (%.1f MB/s), synced%n", res.path("bytes").asLong(),
                res.path("seconds").asDouble(), res.path("mbps").asDouble());
        return 0;
    }

    private int offlineExport(AgentConfig config) throws Exception {
        DiskConfig d = config.disks().stream().filter(x -> x.id().equals(disk) || x.name().equals(disk)).findFirst()
                .orElseThrow(() -> new IllegalStateException("no disk '" + disk + "' in the configuration; disks: "
                        + String.join(", ", config.disks().stream().map(DiskConfig::id).toList())));
        Path retention = config.retentionDir().orElseThrow(() -> new IllegalStateException(
                "retention.dir is not set, so no journal exists to export earlier points from"));
        Path journalDir = retention.resolve(d.name());
        if (!Files.isDirectory(journalDir)) {
            throw new IllegalStateException("no retention journal for disk " + d.id() + " in " + journalDir);
        }
        Path checked = ExportPathPolicy.of(config).check(out.toAbsolutePath());
        ExportService.refuseOverwrite(checked, overwrite);
        // Opening recovers the journal exactly as an agent start would (a torn tail is truncated).
        try (RetentionJournal journal = RetentionJournal.open(journalDir, config.retentionSegmentBytes());
             FileBlockDevice target = FileBlockDevice.open(d.path())) {
            long seq = resolve(journal);
            PointInTimeView view = new PointInTimeView(target, journal, seq);
            System.out.printf("exporting disk %s at seq %d (%,d bytes) to %s%n", d.id(), seq, view.size(), checked);
            ExportService.Result r = new ExportService().export(view, checked, overwrite,
                    ProgressBar.forConsole("export " + d.id()));
            System.out.printf("done: %,d bytes in %.1f s (%.1f MB/s), synced%n", r.bytes(),
                    r.elapsed().toMillis() / 1000.0, r.megabytesPerSecond());
            return 0;
        }
    }

    private long resolve(RetentionJournal journal) {
        long last = journal.discarded().liveAtOrBelow(journal.lastSeq());
        String spec = apiPoint();
        if (spec.startsWith("latest")) {
            if (last < journal.earliestSeq()) {
                throw new IllegalStateException("disk " + disk + " has no latest point (its history was discarded"
                        + " and nothing was received since)");
            }
            return last;
        }
        long seq;
        if (spec.startsWith("seq:")) {
            seq = Long.parseLong(spec.substring(4));
        } else if (!spec.startsWith("tag:")) {
            throw new IllegalStateException("offline, a point is a sequence number, a tag name or 'latest'; times"
                    + " need the running agent");
        } else {
            String tag = spec.substring(4);
            List<RecoveryPoint> tags = journal.points().stream()
                    .filter(p -> p.name().equals(tag) && !journal.discarded().contains(p.seq())).toList();
            if (tags.isEmpty()) {
                throw new IllegalStateException("no tag named '" + point + "' in the journal of disk " + disk
                        + "; give a sequence number, a tag name or 'latest'");
            }
            seq = tags.get(tags.size() - 1).seq();
        }
        DiscardedHistory.Range gone = journal.discarded().rangeOf(seq);
        if (gone != null) {
            throw new IllegalStateException(DiscardedHistory.refusal(disk, seq, gone));
        }
        if (seq > last || seq < journal.earliestSeq()) {
            throw new IllegalStateException("point " + seq + " is outside what the journal holds (seq "
                    + journal.earliestSeq() + ".." + last + "); start the agent so it applies the ingest log, then"
                    + " export again");
        }
        return seq;
    }
}
