package io.mtagent.agent.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code mtagent points}: the recovery points of a disk or a replication group (GET /v1/points). */
@Command(name = "points", mixinStandardHelpOptions = true,
        description = {"List the recovery points a disk or a replication group can be brought back to.",
            "",
            "Kinds: crash-consistent, app-consistent and group tags sent by the process server; 'latest' (everything",
            "acknowledged), 'latest-processed' (applied to the target), 'latest-app-consistent'. Any time inside the",
            "retention window is a point too (give it as 2026-11-23T10:42:17Z). The earliest recoverable point is",
            "shown: older ones were pruned by the retention policy. TESTED AT: when a test failover of the point",
            "ended ('mtagent test-failover').",
            "",
            "A machine with several disks is crash-consistent only at GROUP points: recover all of its disks to the",
            "same group point (mtagent recover --group G --to NAME).",
            "",
            "Examples:  mtagent points --disk disk-0",
            "           mtagent points --group sql-server --json"})
final class PointsCommand implements Callable<Integer> {
    @Mixin
    ConfigOptions configOptions;

    @ArgGroup(exclusive = true, multiplicity = "1")
    Target target;

    static final class Target {
        @Option(names = "--disk", paramLabel = "ID", description = "A disk id (or its config name).")
        String disk;

        @Option(names = "--group", paramLabel = "GROUP", description = "A replication group (disk.<name>.group).")
        String group;
    }

    @Option(names = "--json", description = "Print the JSON document instead of the table.")
    boolean json;

    @Override
    public Integer call() {
        String query = target.disk != null ? "disk=" + enc(target.disk) : "group=" + enc(target.group);
        ControlClient.Response r = new ControlClient(configOptions.load()).get("v1/points?" + query);
        if (r.status() != 200) {
            System.err.println("mtagent: " + r.error());
            return 2;
        }
        JsonNode b = r.body();
        if (json) {
            CliJson.print(System.out, b);
            return 0;
        }
        if (target.disk != null) {
            JsonNode e = b.path("earliest");
            System.out.printf("disk %s%s; earliest recoverable: seq %s at %s%n", b.path("disk").asText(),
                    b.path("group").isTextual() ? " (group " + b.path("group").asText() + ")" : "",
                    e.path("seq").asText(), e.path("time").asText("?"));
            System.out.printf("%-22s %-28s %12s  %-24s %s%n", "KIND", "TIME", "SEQ", "NAME", "TESTED AT");
            for (JsonNode p : b.path("points")) {
                System.out.printf("%-22s %-28s %12d  %-24s %s%n", p.path("kind").asText(), p.path("time").asText("-"),
                        p.path("seq").asLong(), p.path("name").asText(), p.path("testedAt").asText("-"));
            }
        } else {
            System.out.printf("group %s: disks %s%n", b.path("group").asText(), b.path("disks").toString());
            b.path("earliest").fields().forEachRemaining(e -> System.out.printf("  %s earliest recoverable: seq %s"
                    + " at %s%n", e.getKey(), e.getValue().path("seq").asText(), e.getValue().path("time").asText("?")));
            System.out.printf("%-8s %-28s %-30s %-28s %s%n", "KIND", "TIME", "NAME", "TESTED AT", "SEQ PER DISK");
            for (JsonNode p : b.path("points")) {
                StringBuilder seqs = new StringBuilder();
                p.path("seqs").fields().forEachRemaining(e -> seqs.append(seqs.length() == 0 ? "" : ", ")
                        .append(e.getKey()).append('=').append(e.getValue().asLong()));
                System.out.printf("%-8s %-28s %-30s %-28s %s%n", p.path("kind").asText(), p.path("time").asText("-"),
                        p.path("name").asText(), p.path("testedAt").asText("-"), seqs);
            }
            if (b.path("points").isEmpty()) {
                System.out.println("(no group point is held by every disk of the group yet)");
            }
        }
        if (b.has("note")) {
            System.out.println("Note: " + b.path("note").asText() + ".");
        }
        return 0;
    }

    static String enc(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8);
    }
}
