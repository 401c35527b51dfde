package io.mtagent.agent.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.mtagent.agent.recovery.ProgressBar;
import io.mtagent.agent.recovery.ProgressListener;
import java.io.PrintStream;
import java.time.Duration;

/**
 * Follows a control-API job ({@code GET /v1/jobs/<id>}) to its end, drawing a progress bar per step (one disk of
 * a group, a phase). Polls every 250 ms; the job runs in the agent, so interrupting the CLI does not stop it.
 */
final class JobWatcher {
    private static final long POLL_MILLIS = 250;

    private JobWatcher() {
    }

    /** Polls until the job is done or failed, with the progress on standard output; returns its final document. */
    static JsonNode await(ControlClient client, String jobId) throws InterruptedException {
        return await(client, jobId, System.out);
    }

    /**
     * Polls until the job is done or failed, drawing the progress on {@code progressOut} (standard error when
     * standard output is reserved for a {@code --json} document); returns its final document.
     */
    static JsonNode await(ControlClient client, String jobId, PrintStream progressOut) throws InterruptedException {
        String step = null;
        ProgressBar bar = null;
        while (true) {
            ControlClient.Response r = client.get("v1/jobs/" + jobId);
            if (r.status() != 200) {
                throw new IllegalStateException("cannot follow job " + jobId + ": " + r.error());
            }
            JsonNode job = r.body();
            String state = job.path("state").asText();
            String now = job.path("step").asText("");
            if (bar != null && !now.equals(step)) {
                bar.progress(finished(job, true)); // close the previous step's line
                bar = null;
            }
            if (!now.isEmpty() && !now.equals("done") && bar == null) {
                bar = ProgressBar.forConsole(progressOut, now);
            }
            step = now;
            if (bar != null) {
                bar.progress(finished(job, !state.equals("running")));
            }
            if (!state.equals("running")) {
                return job;
            }
            Thread.sleep(POLL_MILLIS);
        }
    }

    private static ProgressListener.Progress finished(JsonNode job, boolean end) {
        JsonNode p = job.path("progress");
        long total = p.path("total").asLong();
        long done = end && job.path("state").asText().equals("done") ? total : p.path("done").asLong();
        JsonNode eta = p.path("etaSeconds");
        return new ProgressListener.Progress(done, total, p.path("mbps").asDouble() * 1e6,
                eta.isNumber() ? Duration.ofSeconds(eta.asLong()) : null, end);
    }
}
