package io.mtagent.agent.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.mtagent.agent.config.HumanSize;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code mtagent jobs}: the running agent's jobs (recover, export, verify, ...): list, follow, cancel. */
@Command(name = "jobs", mixinStandardHelpOptions = true,
        description = {"List the running agent's jobs (GET /v1/jobs): the long operations (recover, export,",
            "verify, release, ...) run in the agent, so closing the terminal does not stop them. The agent keeps",
            "the last 50 finished ones in memory (a restart forgets them).",
            "",
            "Examples:  mtagent jobs",
            "           mtagent jobs watch export-3",
            "           mtagent jobs cancel export-3      (an export stops and removes its partial file)"},
        subcommands = {JobsCommand.Watch.class, JobsCommand.Cancel.class})
final class JobsCommand implements Callable<Integer> {
    @Mixin
    ConfigOptions configOptions;

    @Option(names = "--json", description = "Print the JSON document instead of the table.")
    boolean json;

    @Override
    public Integer call() {
        ControlClient.Response r = new ControlClient(configOptions.load()).get("v1/jobs");
        if (r.status() != 200) {
            System.err.println("mtagent: " + r.error());
            return OperatorErrors.ERROR;
        }
        if (json) {
            CliJson.print(System.out, r.body());
            return OperatorErrors.OK;
        }
        Table t = new Table("JOB", "KIND", "STATE", "DISKS", "STARTED", "PROGRESS", "STEP / RESULT");
        for (JsonNode j : r.body().path("jobs")) {
            JsonNode p = j.path("progress");
            String progress = p.path("total").asLong() > 0 ? HumanSize.of(p.path("done").asLong()) + " / "
                    + HumanSize.of(p.path("total").asLong()) : "-";
            String state = j.path("state").asText();
            t.row(j.path("id").asText(), j.path("kind").asText(), state, String.join(",", texts(j.path("disks"))),
                    j.path("started").asText(), progress, state.equals("running") ? j.path("step").asText()
                            : j.path("error").isTextual() ? j.path("error").asText() : "done");
        }
        t.print(System.out);
        if (r.body().path("jobs").isEmpty()) {
            System.out.println("(no jobs since the agent started)");
        }
        return OperatorErrors.OK;
    }

    private static List<String> texts(JsonNode array) {
        List<String> out = new ArrayList<>();
        array.forEach(n -> out.add(n.asText()));
        return out;
    }

    @Command(name = "watch", mixinStandardHelpOptions = true,
            description = {"Follow a job with a progress bar until it ends. Exit code 0 when it is done, 2 when it",
                "failed or was cancelled. Interrupting this command does not stop the job."})
    static final class Watch implements Callable<Integer> {
        @Mixin
        ConfigOptions configOptions;

        @Parameters(paramLabel = "JOB", description = "The job's id, as 'mtagent jobs' lists it.")
        String id;

        @Override
        public Integer call() throws InterruptedException {
            JsonNode end = JobWatcher.await(new ControlClient(configOptions.load()), id);
            String state = end.path("state").asText();
            if (!state.equals("done")) {
                System.err.println("mtagent: job " + id + " " + state + ": " + end.path("error").asText());
                return OperatorErrors.ERROR;
            }
            System.out.println("job " + id + " done: " + end.path("result"));
            return OperatorErrors.OK;
        }
    }

    @Command(name = "cancel", mixinStandardHelpOptions = true,
            description = {"Stop a running job where its kind allows it: an export stops and removes its partial",
                "file. A recover cannot be stopped midway (undo it afterwards with 'mtagent recover --to latest')."})
    static final class Cancel implements Callable<Integer> {
        @Mixin
        ConfigOptions configOptions;

        @Parameters(paramLabel = "JOB", description = "The job's id, as 'mtagent jobs' lists it.")
        String id;

        @Override
        public Integer call() throws InterruptedException {
            ControlClient client = new ControlClient(configOptions.load());
            ControlClient.Response r = client.delete("v1/jobs/" + PointsCommand.enc(id));
            if (r.status() != 202) {
                System.err.println("mtagent: " + r.error());
                return OperatorErrors.ERROR;
            }
            JsonNode end = JobWatcher.await(client, id);
            System.out.println("job " + id + ": " + end.path("state").asText());
            return end.path("state").asText().equals("cancelled") ? OperatorErrors.OK : OperatorErrors.WARNING;
        }
    }
}
