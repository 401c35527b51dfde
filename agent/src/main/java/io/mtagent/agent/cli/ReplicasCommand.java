package io.mtagent.agent.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.mtagent.agent.config.HumanSize;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code mtagent replicas}: the running agent's replicated disks (from {@code GET /v1/disks}); {@code mtagent disks} lists the attached disks. */
@Command(name = "replicas", mixinStandardHelpOptions = true,
        description = {"List the running agent's target disks: id, state, RPO, backlog, applied/durable sequence.",
            "Released disks are listed too. Talks to the control API (address, token and certificate from the",
            "configuration)."})
final class ReplicasCommand implements Callable<Integer> {
    @Mixin
    ConfigOptions configOptions;

    @Option(names = "--json", description = "Print the JSON document instead of the table.")
    boolean json;

    @Override
    public Integer call() {
        ControlClient.Response r = new ControlClient(configOptions.load()).get("v1/disks");
        if (r.status() != 200) {
            System.err.println("mtagent: the agent answered HTTP " + r.status() + ": " + r.body().path("error").asText());
            return 2;
        }
        if (json) {
            CliJson.print(System.out, r.body());
        } else {
            table(r.body().path("disks"));
        }
        return 0;
    }

    static void table(JsonNode disks) {
        Table t = new Table("DISK", "STATE", "RPO", "BACKLOG", "DURABLE", "APPLIED", "RPO FORECAST / NOTES");
        for (JsonNode d : disks) {
            List<String> notes = new ArrayList<>();
            notes.add(seconds(d.path("rpoForecastSeconds")));
            JsonNode rs = d.path("resync");
            if (rs.has("doneOffset")) {
                notes.add(String.format(Locale.ROOT, "resync %s %s: %.1f%%, hashed %s, %d chunk(s) differing (%s"
                        + " resent), ETA %s", rs.path("mode").asText(), rs.path("id").asText(),
                        rs.path("percent").asDouble(), size(rs.path("bytesHashed").asLong()),
                        rs.path("chunksDiffering").asLong(), size(rs.path("bytesResent").asLong()),
                        rs.path("etaSeconds").isNumber() ? rs.path("etaSeconds").asLong() + "s" : "-"));
            }
            if (d.hasNonNull("reason") && !"protected".equals(d.path("state").asText())) {
                notes.add("reason: " + d.path("reason").asText());
            }
            t.row(d.path("id").asText(), d.path("state").asText(), seconds(d.path("rpoSeconds")),
                    d.has("backlogBytes") ? size(d.path("backlogBytes").asLong()) : "-",
                    d.path("lastDurableSeq").asText("-"), d.path("appliedSeq").asText("-"), String.join("; ", notes));
        }
        t.print(System.out);
    }

    private static String seconds(JsonNode n) {
        return n.isNumber() ? String.format(Locale.ROOT, "%.1fs", n.asDouble()) : "-";
    }

    static String size(long bytes) {
        return HumanSize.of(bytes);
    }
}
