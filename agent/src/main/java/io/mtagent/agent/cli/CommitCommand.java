package io.mtagent.agent.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/** {@code mtagent commit}: keep the point a recover chose (POST /v1/commit). */
@Command(name = "commit", mixinStandardHelpOptions = true,
        description = {"Keep what 'mtagent recover' did to a disk or a group, and drop the undo journal.",
            "",
            "At latest (after 'recover --to latest'), replication resumes: the disks are protected again.",
            "At an earlier point, the target keeps that point and the disks become needs-resync: the source no",
            "longer matches, so the process server must resync them before they are protected again. Points after",
            "the committed one are gone; earlier ones stay viewable.",
            "",
            "Example:  mtagent commit --group sql-server"})
final class CommitCommand implements Callable<Integer> {
    @Mixin
    ConfigOptions configOptions;

    @ArgGroup(exclusive = true, multiplicity = "1")
    PointsCommand.Target target;

    @Mixin
    JsonOutput output;

    @Override
    public Integer call() {
        ControlClient.Response r = new ControlClient(configOptions.load()).post("v1/commit",
                target.disk != null ? Map.of("disk", target.disk) : Map.of("group", target.group));
        if (r.status() != 200) {
            System.err.println("mtagent: " + r.error());
            return 2;
        }
        output.document(r.body());
        for (JsonNode d : r.body().path("disks")) {
            output.text().printf("%-20s %s: %s%n", d.path("disk").asText(), d.path("state").asText(),
                    d.path("reason").asText());
        }
        return 0;
    }
}
