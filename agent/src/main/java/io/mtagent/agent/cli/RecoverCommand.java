package io.mtagent.agent.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code mtagent recover}: roll a disk or a group back to a recovery point (POST /v1/recover, a job). */
@Command(name = "recover", mixinStandardHelpOptions = true,
        description = {"Bring a disk, or every disk of a replication group, back to a recovery point (failover).",
            "",
            "Replication of those disks STOPS (process servers are told the disk is recovering), everything",
            "received is applied, then the target is made equal to the disk at the point. What is overwritten is",
            "kept in an undo journal on the retention volume, so until you commit you can change your mind:",
            "recover --to another point, or --to latest to undo. Without room for the undo journal the agent",
            "refuses up front and says how much it needs; --irreversible skips the undo journal (no way back).",
            "",
            "Then: 'mtagent commit' keeps the state. Committed at latest, replication resumes; committed at an",
            "earlier point, the disks are needs-resync (the source must resync them).",
            "",
            "Points (--to; what 'mtagent points' prints is accepted): for a disk latest, latest-processed,",
            "latest-app, seq:N or N, tag:NAME or NAME, or a time with a zone such as 2026-11-23T10:42:17Z; for a",
            "group a group point's name (see 'mtagent points --group G') or latest.",
            "A machine with several disks is crash-consistent only at group points: use --group for it.",
            "",
            "Examples:  mtagent recover --group sql-server --to before-upgrade",
            "           mtagent recover --disk disk-0 --to 2026-11-23T10:42:17Z --yes",
            "           mtagent recover --group sql-server --to latest        (undo, before commit)"})
final class RecoverCommand implements Callable<Integer> {
    @Mixin
    ConfigOptions configOptions;

    @ArgGroup(exclusive = true, multiplicity = "1")
    PointsCommand.Target target;

    @Option(names = "--to", required = true, paramLabel = "POINT", description = "The recovery point (see above).")
    String to;

    @Option(names = "--irreversible", description = "Keep no undo journal: faster, needs no space, but there is no"
            + " way back to latest.")
    boolean irreversible;

    @Option(names = {"-y", "--yes"}, description = "Do not ask for confirmation (scripts).")
    boolean yes;

    @Option(names = "--dry-run", description = "Print the plan (which disks, which seq, how much is written back)"
            + " and change nothing.")
    boolean dryRun;

    @Option(names = "--json", description = "Print the plan (with --dry-run) or the outcome as one JSON object"
            + " (its first field the format version); the plan and messages go to standard error.")
    boolean json;

    @Override
    public Integer call() throws Exception {
        ControlClient client = new ControlClient(configOptions.load());
        Map<String, Object> request = new LinkedHashMap<>();
        if (target.disk != null) {
            request.put("disk", target.disk);
        } else {
            request.put("group", target.group);
        }
        request.put("to", to);
        request.put("irreversible", irreversible);
        request.put("dryRun", true);
        ControlClient.Response plan = client.post("v1/recover", request);
        if (plan.status() != 200) {
            System.err.println("mtagent: " + plan.error());
            return 2;
        }
        if (json && dryRun) {
            CliJson.print(System.out, plan.body());
            return 0;
        }
        // With --json, standard output holds the one JSON document: what people read goes to standard error.
        PrintStream text = json ? System.err : System.out;
        text.println("Plan" + (irreversible ? " (IRREVERSIBLE: no undo journal)" : "") + ":");
        for (JsonNode p : plan.body().path("plan")) {
            text.printf("  %-20s to %s%s: %s%n", p.path("disk").asText(), p.path("to").asText(),
                    p.path("seq").isNumber() ? " (seq " + p.path("seq").asLong() + ", " + p.path("time").asText("?") + ")"
                            : "", p.path("action").asText());
        }
        if (plan.body().hasNonNull("warning")) {
            text.println("WARNING: " + plan.body().path("warning").asText());
        }
        if (dryRun) {
            text.println("dry run: nothing was changed");
            return 0;
        }
        if (!yes && !confirm()) {
            return 1;
        }
        request.remove("dryRun");
        ControlClient.Response started = client.post("v1/recover", request);
        if (started.status() != 202) {
            System.err.println("mtagent: " + started.error());
            return 2;
        }
        String job = started.body().path("job").asText();
        text.println("job " + job + " started (it runs in the agent; 'mtagent status' shows it too)");
        JsonNode end = JobWatcher.await(client, job, text);
        if (!end.path("state").asText().equals("done")) {
            System.err.println("mtagent: recover failed: " + end.path("error").asText());
            return 2;
        }
        if (json) {
            CliJson.print(System.out, end.path("result"));
            return 0;
        }
        for (JsonNode d : end.path("result").path("disks")) {
            System.out.printf("  %-20s %s (%s)%n", d.path("disk").asText(), d.path("state").asText(),
                    d.path("rollback").asText());
        }
        System.out.println("Next: " + end.path("result").path("next").asText());
        return 0;
    }

    static boolean confirm() throws IOException {
        if (System.console() == null) {
            System.err.println("mtagent: not a terminal, so nobody can confirm: add --yes to proceed");
            return false;
        }
        System.out.print("Proceed? This stops replication of these disks. [y/N] ");
        System.out.flush();
        String answer = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8)).readLine();
        return answer != null && (answer.trim().equalsIgnoreCase("y") || answer.trim().equalsIgnoreCase("yes"));
    }
}
