package io.mtagent.agent.cli;

import io.mtagent.agent.config.AgentConfig;
import io.mtagent.agent.config.HumanSize;
import io.mtagent.agent.retention.RetentionVolumeCheck;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code mtagent retention check PATH}: would this location be accepted as the retention volume? */
@Command(name = "retention", mixinStandardHelpOptions = true,
        description = "Retention volume tools.", subcommands = RetentionCommand.Check.class)
final class RetentionCommand {

    @Command(name = "check", mixinStandardHelpOptions = true,
            description = {"Check PATH against the retention-volume rules the agent applies at start: not FAT/FAT32,",
                "room for at least " + RetentionVolumeCheck.MIN_SEGMENTS_PER_DISK + " journal segments per configured disk"
                        + " (retention.segment.bytes),",
                "not the volume of the install or the cache, not on a replication target disk, writable.",
                "Prints every rule that fails with the reason; exit code 0 when PATH is usable, 2 when it is refused."})
    static final class Check implements Callable<Integer> {
        @Mixin
        ConfigOptions configOptions;

        @Parameters(paramLabel = "PATH", description = "Directory to check (created if missing).")
        Path path;

        @Option(names = "--allow-shared", description = "Accept the install or cache volume (demo/tests only).")
        boolean allowShared;

        @Option(names = "--json", description = "Print the verdict as one JSON object (its first field the format"
                + " version): usable, the volume's type and sizes in bytes, and each refused rule with its reason.")
        boolean json;

        @Override
        public Integer call() throws Exception {
            AgentConfig config = configOptions.load();
            Path install = null;
            try {
                install = Path.of(RetentionCommand.class.getProtectionDomain().getCodeSource().getLocation().toURI());
            } catch (Exception e) {
                // unknown install location: that rule is skipped
            }
            List<RetentionVolumeCheck.Failure> failures = RetentionVolumeCheck.check(path, install, config.cacheDir(),
                    config.disks().stream().map(d -> d.path()).toList(), allowShared,
                    RetentionVolumeCheck.minimumBytes(config.retentionSegmentBytes(), config.disks().size()));
            if (json) {
                Map<String, Object> doc = new LinkedHashMap<>();
                doc.put("path", path.toString());
                doc.put("usable", failures.isEmpty());
                if (Files.isDirectory(path)) {
                    FileStore store = Files.getFileStore(path);
                    doc.put("type", store.type());
                    doc.put("totalBytes", store.getTotalSpace());
                    doc.put("freeBytes", store.getUsableSpace());
                }
                doc.put("refused", failures.stream().map(f -> Map.of("rule", f.rule(), "reason", f.message())).toList());
                CliJson.print(System.out, doc);
                return failures.isEmpty() ? 0 : 2;
            }
            if (failures.isEmpty()) {
                FileStore store = Files.getFileStore(path);
                System.out.println(path + ": usable as the retention volume (" + store.type() + ", "
                        + HumanSize.of(store.getTotalSpace()) + ", " + HumanSize.of(store.getUsableSpace()) + " free)");
                return 0;
            }
            for (RetentionVolumeCheck.Failure f : failures) {
                System.out.println(path + ": REFUSED [" + f.rule() + "] " + f.message());
            }
            return 2;
        }
    }
}
