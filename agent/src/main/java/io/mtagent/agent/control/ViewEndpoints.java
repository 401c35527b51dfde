package io.mtagent.agent.control;

import static io.mtagent.agent.control.RecoveryRequests.iso;
import static io.mtagent.agent.control.RecoveryRequests.resolve;
import static io.mtagent.agent.control.RecoveryRequests.text;

import com.fasterxml.jackson.databind.JsonNode;
import io.mtagent.agent.disk.ReplicatedDisk;
import io.mtagent.agent.journal.PointInTimeView;
import io.mtagent.agent.journal.RecoveryPoint;
import io.mtagent.agent.recovery.ExportPathPolicy;
import io.mtagent.agent.recovery.ExportService;
import io.mtagent.agent.recovery.NbdExport;
import io.mtagent.agent.recovery.NbdServer;
import io.mtagent.agent.recovery.NbdUrls;
import io.mtagent.agent.recovery.ViewLease;
import io.mtagent.agent.retention.PointCatalog;
import io.netty.handler.codec.http.HttpResponseStatus;
import java.io.IOException;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeoutException;

/**
 * The views of a point: {@code POST /v1/export} (a job writing the view into a file {@link ExportPathPolicy}
 * allows) and {@code POST/DELETE/GET /v1/nbd} (the view published on the agent's NBD server, pinned while it is
 * published; each reader holds its own lease). Thread-safe: the published views are a concurrent map.
 */
final class ViewEndpoints {
    private static final Duration VIEW_WAIT = Duration.ofSeconds(30);

    private final ControlledAgent agent;
    private final RecoveryRequests requests;
    /** NBD export name → the view that pins its point while it is published. */
    private final Map<String, PointInTimeView> published = new ConcurrentHashMap<>();

    ViewEndpoints(ControlledAgent agent, RecoveryRequests requests) {
        this.agent = agent;
        this.requests = requests;
    }

    /** {@code POST /v1/export}: 202 with the job. The file is written by the agent, so the path is absolute. */
    ApiResult export(JsonNode body) {
        ReplicatedDisk d = requests.disk(text(body, "disk", true));
        String spec = text(body, "point", true);
        Path requested;
        try {
            requested = Path.of(text(body, "out", true));
        } catch (InvalidPathException e) {
            throw new Refusal(HttpResponseStatus.BAD_REQUEST, "\"out\" is not a path: " + e.getMessage());
        }
        if (!requested.isAbsolute()) {
            throw new Refusal(HttpResponseStatus.BAD_REQUEST, "\"out\" must be an absolute path: the agent writes it,"
                    + " and its working directory is not yours");
        }
        Path out;
        try {
            out = ExportPathPolicy.of(agent.config()).check(requested);
        } catch (ExportPathPolicy.Refused e) {
            throw new Refusal(HttpResponseStatus.FORBIDDEN, e.getMessage());
        } catch (IOException e) {
            throw new Refusal(HttpResponseStatus.BAD_REQUEST, "cannot check \"out\": " + e);
        }
        boolean overwrite = body.path("overwrite").asBoolean(false);
        try {
            ExportService.refuseOverwrite(out, overwrite); // before the job: no progress for a refused export
        } catch (IllegalStateException e) {
            throw new Refusal(HttpResponseStatus.CONFLICT, e.getMessage());
        } catch (IOException e) {
            throw new Refusal(HttpResponseStatus.BAD_REQUEST, "cannot check \"out\": " + e);
        }
        RecoveryPoint p = resolve(d, spec);
        List<AutoCloseable> holds = new ArrayList<>();
        RecoveryRequests.hold(holds, d, p.seq()); // until the job's view holds it (the job may wait for the applier first)
        Jobs.Job job = requests.submitHolding("export", List.of(d.id()), holds, j -> {
            j.cancellable(); // a cancelled export removes its .partial file; the target of the export is untouched
            j.step(d.id() + " at seq " + p.seq() + " to " + out);
            try (PointInTimeView view = d.view(p.seq(), VIEW_WAIT)) {
                ExportService.Result r = new ExportService().export(view, out, overwrite,
                        pr -> j.progress(pr.doneBytes(), pr.totalBytes()));
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("out", r.out().toString());
                m.put("seq", p.seq());
                m.put("bytes", r.bytes());
                m.put("seconds", r.elapsed().toMillis() / 1000.0);
                m.put("mbps", Math.round(r.megabytesPerSecond() * 10) / 10.0);
                return m;
            }
        });
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("job", job.id);
        m.put("seq", p.seq());
        requests.putGroupWarning(m, d, "exporting");
        return new ApiResult(HttpResponseStatus.ACCEPTED, m);
    }

    /**
     * A rollback rewrites the target that a published view reads (the view overlays the target with the journal's
     * images; the rollback's writes are not among them), so its readers would see neither point: refused until the
     * views are stopped.
     */
    void refuseServedOverNbd(ReplicatedDisk d) {
        List<String> served = agent.nbdServer().exports().stream().map(NbdExport::name)
                .filter(n -> NbdExport.isViewOf(n, d.id())).toList();
        if (!served.isEmpty()) {
            throw new Refusal(HttpResponseStatus.CONFLICT, "disk " + d.id() + " is served over NBD as " + served
                    + ": a rollback would change the target under its readers; stop it first (mtagent nbd --stop '"
                    + served.get(0) + "')");
        }
    }

    /** {@code POST /v1/nbd}: publishes the view at a point on the agent's NBD server; returns its URL. */
    ApiResult nbdStart(JsonNode body) {
        ReplicatedDisk d = requests.disk(text(body, "disk", true));
        RecoveryPoint p = resolve(d, text(body, "point", true));
        NbdServer server = agent.nbdServer();
        String name = NbdExport.nameOf(d.id(), p.seq());
        PointInTimeView anchor;
        List<String> urls;
        try {
            urls = nbdUrls(name); // no listener: IllegalStateException
            anchor = d.view(p.seq(), VIEW_WAIT); // waits for the applier here, not on the NBD event loop
        } catch (IllegalStateException e) {
            throw new Refusal(HttpResponseStatus.CONFLICT, e.getMessage());
        } catch (TimeoutException e) {
            throw new Refusal(HttpResponseStatus.SERVICE_UNAVAILABLE, "disk " + d.id() + " did not apply up to seq "
                    + p.seq() + " within " + VIEW_WAIT.toSeconds() + " s (" + e.getMessage() + "); retry");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new Refusal(HttpResponseStatus.SERVICE_UNAVAILABLE, "interrupted: the agent is shutting down");
        }
        PointInTimeView previous = published.put(name, anchor);
        if (previous != null) {
            previous.close();
        }
        long seq = p.seq();
        // Each connection opens its own view (its own lease), so stopping the export does not cut off a reader.
        server.addExport(new NbdExport(name, "disk " + d.id() + " at recovery point seq " + seq, anchor.size(), () -> {
            try {
                PointInTimeView v = d.view(seq, Duration.ZERO);
                return ViewLease.of(v, v::close);
            } catch (InterruptedException | TimeoutException | RuntimeException e) {
                throw new IOException("the view of disk " + d.id() + " at seq " + seq + " is not available: "
                        + e.getMessage(), e);
            }
        }));
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("name", name);
        m.put("disk", d.id());
        m.put("seq", seq);
        m.put("time", iso(PointCatalog.timestampOf(d, seq)));
        m.put("sizeBytes", anchor.size());
        m.put("url", urls.get(0));
        m.put("urls", urls);
        m.put("stop", "DELETE /v1/nbd/" + name);
        requests.putGroupWarning(m, d, "serving");
        return ApiResult.ok(m);
    }

    /** The URLs of export {@code name}, one per NBD listener (the Unix socket's first); none: IllegalStateException. */
    List<String> nbdUrls(String name) {
        return NbdUrls.of(agent.nbdServer().endpoints(), name, agent.config().agentName());
    }

    /** The first of {@link #nbdUrls}: the Unix socket's {@code nbd+unix://} URL. */
    String nbdUrl(String name) {
        return nbdUrls(name).get(0);
    }

    /** {@code DELETE /v1/nbd/<name>}: new clients are refused; connected ones read on until they disconnect. */
    ApiResult nbdStop(String name) {
        PointInTimeView anchor = published.remove(name);
        if (anchor == null) {
            throw new Refusal(HttpResponseStatus.NOT_FOUND, "no NBD export named '" + name + "'; published: "
                    + String.join(", ", published.keySet()));
        }
        agent.nbdServer().removeExport(name);
        anchor.close();
        return ApiResult.ok(Map.of("name", name, "stopped", true, "readers", agent.nbdServer().readers(name)));
    }

    /** {@code GET /v1/nbd}: the published exports. */
    ApiResult nbdList() {
        List<Map<String, Object>> list = new ArrayList<>();
        for (NbdExport e : agent.nbdServer().exports()) {
            list.add(Map.of("name", e.name(), "description", e.description(), "readers",
                    agent.nbdServer().readers(e.name())));
        }
        return ApiResult.ok(Map.of("exports", list));
    }

    /** Stops publishing every view (the agent closes). */
    void close() {
        for (String name : List.copyOf(published.keySet())) {
            PointInTimeView v = published.remove(name);
            if (v != null) {
                v.close();
            }
        }
    }
}
