package io.mtagent.agent.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * The operator's switches of a disk's replication on a running agent ({@code mtagent disk pause|resume|
 * request-resync|rescan}): each is one control-API call, answered at once.
 */
final class DiskSwitches {
    private DiskSwitches() {
    }

    /** POSTs {@code v1/disks/<disk>/<action>} and prints the disk's new state; exit 0, or 2 with the reason. */
    static int post(ConfigOptions config, String disk, String action, JsonOutput output) {
        return post(config, disk, action, Map.of(), output);
    }

    /** The same with a request body (e.g. attach's {@code written}). */
    static int post(ConfigOptions config, String disk, String action, Map<String, Object> body, JsonOutput output) {
        ControlClient client = new ControlClient(config.load());
        String path = "v1/disks/" + PointsCommand.enc(disk) + "/" + action;
        ControlClient.Response r = body.isEmpty() ? client.post(path) : client.post(path, body);
        if (r.status() != 200) {
            System.err.println("mtagent: " + r.error());
            return OperatorErrors.ERROR;
        }
        JsonNode b = r.body();
        output.document(b);
        output.text().printf("%s: %s%s%n", b.path("disk").asText(disk), b.path("state").asText(),
                b.path("reason").asText("").isEmpty() ? "" : " (" + b.path("reason").asText() + ")");
        return OperatorErrors.OK;
    }

    @Command(name = "pause", mixinStandardHelpOptions = true,
            description = {"Hold applying a disk's writes to its target (state 'paused'). Writes are still received and",
                "acknowledged into the ingest log, up to its quota (disk.quota.bytes); then the disk's stream waits.",
                "Resume with 'mtagent disk resume'."})
    static final class Pause implements Callable<Integer> {
        @Mixin
        ConfigOptions configOptions;

        @Mixin
        JsonOutput output;

        @Option(names = "--disk", required = true, paramLabel = "ID", description = "The disk's id or configured name.")
        String disk;

        @Override
        public Integer call() {
            return post(configOptions, disk, "pause", output);
        }
    }

    @Command(name = "resume", mixinStandardHelpOptions = true,
            description = "Resume applying a paused disk: the ingest log's backlog is applied, then it streams on.")
    static final class Resume implements Callable<Integer> {
        @Mixin
        ConfigOptions configOptions;

        @Mixin
        JsonOutput output;

        @Option(names = "--disk", required = true, paramLabel = "ID", description = "The disk's id or configured name.")
        String disk;

        @Override
        public Integer call() {
            return post(configOptions, disk, "resume", output);
        }
    }

    @Command(name = "request-resync", mixinStandardHelpOptions = true,
            description = {"Ask for a resync of a disk (a target you suspect differs from its source): the disk becomes",
                "needs-resync ('operator request') and refuses writes until a process server resyncs it; the",
                "resync compares checksums, so only differing chunks cross the wire."})
    static final class RequestResync implements Callable<Integer> {
        @Mixin
        ConfigOptions configOptions;

        @Mixin
        JsonOutput output;

        @Option(names = "--disk", required = true, paramLabel = "ID", description = "The disk's id or configured name.")
        String disk;

        @Override
        public Integer call() {
            return post(configOptions, disk, "request-resync", output);
        }
    }

    @Command(name = "rescan", mixinStandardHelpOptions = true,
            description = {"Re-read the agent's configuration file and open the disks declared there since it started",
                "(as SIGHUP does for disks). Prints the disks it opened."})
    static final class Rescan implements Callable<Integer> {
        @Mixin
        ConfigOptions configOptions;

        @Mixin
        JsonOutput output;

        @Override
        public Integer call() {
            ControlClient.Response r = new ControlClient(configOptions.load()).post("v1/disks/rescan");
            if (r.status() != 200) {
                System.err.println("mtagent: " + r.error());
                return OperatorErrors.ERROR;
            }
            output.document(r.body());
            JsonNode added = r.body().path("added");
            List<String> names = new ArrayList<>();
            added.forEach(n -> names.add(n.asText()));
            output.text().println(names.isEmpty() ? "no new disk in " + r.body().path("file").asText()
                    : "opened: " + String.join(", ", names));
            return OperatorErrors.OK;
        }
    }
}
