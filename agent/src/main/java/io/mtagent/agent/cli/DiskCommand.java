package io.mtagent.agent.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code mtagent disk release|attach|clear-failure|pause|resume|request-resync|rescan}: a target disk's life cycle
 * and replication switches on a running agent.
 */
@Command(name = "disk", mixinStandardHelpOptions = true,
        description = {"Release a target disk (so the hypervisor can detach it), attach it again, or return a failed",
            "disk to service after a repair; pause or resume applying, ask for a resync, or open the disks declared",
            "in the configuration file since the start. These go through the running agent's control API; a disk",
            "is named by its id or its configured name (disk.<name>.*).",
            "",
            "Examples:  mtagent disk release --disk disk-0",
            "           mtagent disk attach --disk disk-0 --written-outside   (a machine ran on it: failback)",
            "           mtagent disk clear-failure --disk disk-0",
            "           mtagent disk pause --disk db01"},
        subcommands = {DiskCommand.Release.class, DiskCommand.Attach.class, DiskCommand.ClearFailure.class,
            DiskSwitches.Pause.class, DiskSwitches.Resume.class, DiskSwitches.RequestResync.class,
            DiskSwitches.Rescan.class})
final class DiskCommand {

    /** Runs a job call and follows it; exit 0 when it is done. */
    static int runJob(ControlClient client, String path, String what, JsonOutput output) throws InterruptedException {
        ControlClient.Response r = client.post(path);
        if (r.status() != 202) {
            System.err.println("mtagent: " + r.error());
            return 2;
        }
        String job = r.body().path("job").asText();
        output.text().println(what + ": job " + job + " (it runs in the agent; 'mtagent status' shows it too)");
        JsonNode end = JobWatcher.await(client, job, output.text());
        if (!end.path("state").asText().equals("done")) {
            System.err.println("mtagent: " + end.path("error").asText());
            return 2;
        }
        JsonNode result = end.path("result");
        output.document(result);
        output.text().printf("%s: %s%s%n", result.path("disk").asText(), result.path("state").asText(),
                result.path("reason").isMissingNode() ? "" : " (" + result.path("reason").asText() + ")");
        return 0;
    }

    @Command(name = "release", mixinStandardHelpOptions = true,
            description = {"Stop taking streams for the disk, apply everything received, and close the target so the",
                "hypervisor can detach it (a job: a paused disk waits until it is resumed, at most 5 minutes).",
                "Its recovery points stay; attach it again with 'mtagent disk attach'."})
    static final class Release implements Callable<Integer> {
        @Mixin
        ConfigOptions configOptions;

        @Mixin
        JsonOutput output;

        @Option(names = "--disk", required = true, paramLabel = "ID", description = "The disk's id or configured name.")
        String disk;

        @Override
        public Integer call() throws InterruptedException {
            return runJob(new ControlClient(configOptions.load()), "v1/disks/" + PointsCommand.enc(disk) + "/release",
                    "release " + disk, output);
        }
    }

    @Command(name = "attach", mixinStandardHelpOptions = true,
            description = {"Open a released disk again. Say what happened to the target while it was released:",
                "  --written-outside  a machine ran on it (failover, failback). The journal holds no before-image of",
                "                     those writes, so every earlier recovery point is discarded, and the disk is",
                "                     needs-resync: the source resyncs it (differential) before it is protected.",
                "  --unchanged        nothing wrote it (a plain detach and re-attach): history and state stay.",
                "Choosing --unchanged for a target that was written leaves recovery points that no longer match."})
    static final class Attach implements Callable<Integer> {
        @Mixin
        ConfigOptions configOptions;

        @Mixin
        JsonOutput output;

        @Option(names = "--disk", required = true, paramLabel = "ID", description = "The disk's id or configured name.")
        String disk;

        @ArgGroup(exclusive = true, multiplicity = "1")
        Written written;

        static final class Written {
            @Option(names = "--written-outside", required = true, description = "A machine wrote the target while"
                    + " it was released.")
            boolean outside;

            @Option(names = "--unchanged", required = true, description = "Nothing wrote the target while it was"
                    + " released.")
            boolean unchanged;
        }

        @Override
        public Integer call() {
            return DiskSwitches.post(configOptions, disk, "attach", Map.of("written", written.outside), output);
        }
    }

    @Command(name = "clear-failure", mixinStandardHelpOptions = true,
            description = {"After repairing a failed disk's target (or its cache volume), return it to service: the agent",
                "re-opens the disk, checks the target (reads and rewrites a sector), and applies the acknowledged",
                "writes its ingest log kept. If the target still fails, the disk stays failed with the new reason.",
                "A restart of the agent does the same check for every failed disk."})
    static final class ClearFailure implements Callable<Integer> {
        @Mixin
        ConfigOptions configOptions;

        @Mixin
        JsonOutput output;

        @Option(names = "--disk", required = true, paramLabel = "ID", description = "The disk's id or configured name.")
        String disk;

        @Override
        public Integer call() throws InterruptedException {
            return runJob(new ControlClient(configOptions.load()), "v1/disks/" + PointsCommand.enc(disk)
                    + "/clear-failure",
                    "clear the failure of " + disk, output);
        }
    }
}
