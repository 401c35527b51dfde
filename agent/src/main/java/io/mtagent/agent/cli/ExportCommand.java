package io.mtagent.agent.cli;

import io.mtagent.agent.config.AgentConfig;
import io.mtagent.agent.config.DiskConfig;
import io.mtagent.agent.recovery.ExportService;
import io.mtagent.agent.recovery.ProgressBar;
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
 * {@code mtagent export} (offline for now): writes a disk's image at a recovery point to a file or device by
 * opening the retention journal and the target directly, so the agent must be stopped. It moves to the control
 * API once that exists, and then works while replication runs.
 */
@Command(name = "export", mixinStandardHelpOptions = true,
        description = {"Write a disk as it was at a recovery point to an image file or a device.",
            "For now this needs the agent STOPPED (it opens the retention journal and the target directly; run",
            "'systemctl stop mtagent' first). Points are those the journal holds: a sequence number, a tag name, or",
            "'latest' (the last write applied to the target). Writes still waiting in the ingest log are not",
            "included: start the agent to apply them first.",
            "To a file, the image is written to <FILE>.partial, synced and renamed, so FILE is only ever complete.",
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

    @Override
    public Integer call() throws Exception {
        AgentConfig config = configOptions.load();
        DiskConfig d = config.disks().stream().filter(x -> x.id().equals(disk) || x.name().equals(disk)).findFirst()
                .orElseThrow(() -> new IllegalStateException("no disk '" + disk + "' in the configuration; disks: "
                        + String.join(", ", config.disks().stream().map(DiskConfig::id).toList())));
        Path retention = config.retentionDir().orElseThrow(() -> new IllegalStateException(
                "retention.dir is not set, so no journal exists to export earlier points from"));
        Path journalDir = retention.resolve(d.name());
        if (!Files.isDirectory(journalDir)) {
            throw new IllegalStateException("no retention journal for disk " + d.id() + " in " + journalDir);
        }
        // Opening recovers the journal exactly as an agent start would (a torn tail is truncated).
        try (RetentionJournal journal = RetentionJournal.open(journalDir, config.retentionSegmentBytes());
             FileBlockDevice target = FileBlockDevice.open(d.path())) {
            long seq = resolve(journal);
            PointInTimeView view = new PointInTimeView(target, journal, seq);
            System.out.printf("exporting disk %s at seq %d (%,d bytes) to %s%n", d.id(), seq, view.size(), out);
            ExportService.Result r = new ExportService().export(view, out, overwrite,
                    ProgressBar.forConsole("export " + d.id()));
            System.out.printf("done: %,d bytes in %.1f s (%.1f MB/s), synced%n", r.bytes(),
                    r.elapsed().toMillis() / 1000.0, r.megabytesPerSecond());
            return 0;
        }
    }

    private long resolve(RetentionJournal journal) {
        long last = journal.lastSeq();
        if (point.equals("latest")) {
            return last;
        }
        long seq;
        if (point.matches("[0-9]{1,18}")) {
            seq = Long.parseLong(point);
        } else {
            List<RecoveryPoint> tags = journal.points().stream().filter(p -> p.name().equals(point)).toList();
            if (tags.isEmpty()) {
                throw new IllegalStateException("no tag named '" + point + "' in the journal of disk " + disk
                        + "; give a sequence number, a tag name or 'latest'");
            }
            seq = tags.get(tags.size() - 1).seq();
        }
        if (seq > last) {
            throw new IllegalStateException("point " + seq + " is beyond the last applied write (seq " + last
                    + "); start the agent so it applies the ingest log, then export again");
        }
        return seq;
    }
}
