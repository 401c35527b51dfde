package io.mtagent.agent.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.mtagent.agent.config.AgentConfig;
import io.mtagent.agent.config.DiskConfig;
import io.mtagent.agent.journal.PointInTimeView;
import io.mtagent.agent.journal.RetentionJournal;
import io.mtagent.agent.recovery.ExportPathPolicy;
import io.mtagent.agent.recovery.ExportService;
import io.mtagent.agent.recovery.ProgressBar;
import io.mtagent.agent.retention.OfflinePoints;
import io.mtagent.nativeio.FileBlockDevice;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
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
            "Points (what 'mtagent points' prints is accepted): latest, latest-processed, latest-app, seq:N or N,",
            "tag:NAME or NAME (its newest occurrence), or a time with a zone such as 2026-11-23T10:42:17Z.",
            "Offline only what was applied to the target can be read: latest is the last applied write.",
            "To a file, the image is written to <FILE>.partial, synced and renamed, so FILE is only ever complete.",
            "FILE must lie in one of the export directories (export.dirs, default <state.dir>/exports); a path onto",
            "a target or into the state, cache or retention directory is refused, symbolic links followed.",
            "",
            "Example:  mtagent export --disk disk-0 --point before-upgrade --out /var/lib/mtagent-exports/disk-0.raw",
            "          (the installed configuration's export directory)"})
final class ExportCommand implements Callable<Integer> {
    @Mixin
    ConfigOptions configOptions;

    @Option(names = "--disk", required = true, paramLabel = "ID", description = "Disk id (or its config name).")
    String disk;

    @Option(names = "--point", required = true, paramLabel = "POINT",
            description = "Recovery point (see above), e.g. latest, 1234, before-upgrade, 2026-11-23T10:42:17Z.")
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

    private int throughAgent(ControlClient client) throws InterruptedException {
        ControlClient.Response r = client.post("v1/export", Map.of("disk", disk, "point", point,
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
        JsonNode end = JobWatcher.await(client, r.body().path("job").asText());
        if (!end.path("state").asText().equals("done")) {
            System.err.println("mtagent: export failed: " + end.path("error").asText());
            return 2;
        }
        JsonNode res = end.path("result");
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
            long seq = OfflinePoints.resolve(journal, d.id(), point);
            PointInTimeView view = new PointInTimeView(target, journal, seq);
            System.out.printf("exporting disk %s at seq %d (%,d bytes) to %s%n", d.id(), seq, view.size(), checked);
            ExportService.Result r = new ExportService().export(view, checked, overwrite,
                    ProgressBar.forConsole("export " + d.id()));
            System.out.printf("done: %,d bytes in %.1f s (%.1f MB/s), synced%n", r.bytes(),
                    r.elapsed().toMillis() / 1000.0, r.megabytesPerSecond());
            return 0;
        }
    }
}
