package io.mtagent.agent.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code mtagent test-failover}: serve a point writable for a test VM, list tests, end one (/v1/test-failover). */
@Command(name = "test-failover", mixinStandardHelpOptions = true,
        description = {"Test a recovery point without touching the replica: the agent serves the disk (or every disk",
            "of a group, at its group point) as it was at the point, WRITABLE, on its NBD server, so a test VM can",
            "boot from it. The VM's writes go copy-on-write into a scratch file on testfailover.scratch.dir",
            "(default <state.dir>/scratch), at most --scratch-cap bytes per disk (testfailover.scratch.max.bytes,",
            "8GiB); beyond that writes fail as on a full disk (ENOSPC). The target and the retention journal are",
            "never written; replication and retention go on; the point is held against pruning while the test runs.",
            "",
            "Ending the test (--end ID) discards the scratch files and records \"tested at <time>\" on each point,",
            "which 'mtagent points' shows. Shut the test VM down first: its connection gets errors once the test ends.",
            "A restart of the agent ends every test (its scratch is deleted, the point is not marked tested).",
            "",
            "Points (--point): latest, latest-processed, latest-app, seq:N, tag:NAME or 2026-11-23T10:42:17Z; for a",
            "group, the name of a group point.",
            "",
            "Examples:  mtagent test-failover --disk disk-0 --point tag:before-upgrade",
            "           mtagent test-failover --group sql-server --point nightly-0200 --scratch-cap 20GiB",
            "           mtagent test-failover --list",
            "           mtagent test-failover --end test-1"})
final class TestFailoverCommand implements Callable<Integer> {
    @Mixin
    ConfigOptions configOptions;

    @Option(names = "--json", description = "With --list: print the JSON document (with the format version).")
    boolean json;

    @ArgGroup(exclusive = true, multiplicity = "1")
    Action action;

    static final class Action {
        @ArgGroup(exclusive = false)
        Start start;

        @Option(names = "--list", description = "List the running test failovers and their scratch use.")
        boolean list;

        @Option(names = "--end", paramLabel = "ID", description = "End test ID: discard its scratch, mark its points"
                + " tested.")
        String end;
    }

    static final class Start {
        @ArgGroup(exclusive = true, multiplicity = "1")
        Target target;

        @Option(names = "--point", required = true, paramLabel = "POINT", description = "The recovery point to test.")
        String point;

        @Option(names = "--scratch-cap", paramLabel = "SIZE", description = "Most bytes each disk may write to its"
                + " scratch file, e.g. 2GiB (at most testfailover.scratch.max.bytes).")
        String scratchCap;
    }

    static final class Target {
        @Option(names = "--disk", paramLabel = "ID", description = "A disk id (or its config name).")
        String disk;

        @Option(names = "--group", paramLabel = "GROUP", description = "A replication group (disk.<name>.group).")
        String group;
    }

    @Override
    public Integer call() {
        ControlClient client = new ControlClient(configOptions.load());
        if (action.end != null) {
            ControlClient.Response r = client.delete("v1/test-failover/" + PointsCommand.enc(action.end).replace("+", "%20"));
            if (r.status() != 200) {
                System.err.println("mtagent: " + r.error());
                return 2;
            }
            System.out.println("ended test failover " + action.end + ": scratch discarded; tested at "
                    + r.body().path("testedAt").asText() + ":");
            for (JsonNode d : r.body().path("disks")) {
                System.out.printf("  %s seq %d%n", d.path("disk").asText(), d.path("seq").asLong());
            }
            return 0;
        }
        if (action.list) {
            ControlClient.Response r = client.get("v1/test-failover");
            if (r.status() != 200) {
                System.err.println("mtagent: " + r.error());
                return 2;
            }
            if (json) {
                CliJson.print(System.out, r.body());
                return 0;
            }
            if (r.body().path("tests").isEmpty()) {
                System.out.println("no test failover is running");
            }
            for (JsonNode t : r.body().path("tests")) {
                print(t);
            }
            return 0;
        }
        Map<String, Object> body = new LinkedHashMap<>();
        if (action.start.target.disk != null) {
            body.put("disk", action.start.target.disk);
        } else {
            body.put("group", action.start.target.group);
        }
        body.put("point", action.start.point);
        if (action.start.scratchCap != null) {
            body.put("scratchCap", action.start.scratchCap);
        }
        ControlClient.Response r = client.post("v1/test-failover", body);
        if (r.status() != 200) {
            System.err.println("mtagent: " + r.error());
            return 2;
        }
        print(r.body());
        System.out.println("Boot a test VM from it, for example:");
        JsonNode first = r.body().path("disks").path(0);
        System.out.println("  qemu-system-x86_64 -m 2G -drive file=" + first.path("url").asText() + ",format=raw");
        System.out.println("End it (discards the writes, marks the point tested):  mtagent test-failover --end "
                + r.body().path("id").asText());
        return 0;
    }

    private static void print(JsonNode t) {
        System.out.printf("test failover %s (started %s), writable, scratch cap %,d bytes per disk:%n",
                t.path("id").asText(), t.path("started").asText(), t.path("scratchCapBytes").asLong());
        for (JsonNode d : t.path("disks")) {
            System.out.printf("  %s at seq %d (%s): %s%n    scratch %s, %,d bytes written, %d connection(s)%n",
                    d.path("disk").asText(), d.path("seq").asLong(), d.path("time").asText("?"), d.path("url").asText(),
                    d.path("scratchFile").asText(), d.path("scratchUsedBytes").asLong(), d.path("connections").asInt());
        }
    }
}
