package io.mtagent.agent.control;

import com.fasterxml.jackson.databind.JsonNode;
import io.mtagent.agent.disk.ReplicatedDisk;
import io.mtagent.protocol.DiskState;
import io.netty.handler.codec.http.HttpResponseStatus;
import java.io.IOException;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeoutException;

/**
 * The control API's disk operations: release and clear-failure run as {@link Jobs} (they wait for an applier or
 * re-open a disk), so a control worker never waits behind them and {@code /health}, {@code /metrics} and every
 * other call keep answering; attach, pause, resume and request-resync change state at once.
 *
 * <ul>
 *   <li>{@code POST /v1/disks/{id}/release}: 202 {@code {"job"}}; the job makes everything accepted durable, waits
 *       (up to {@value #RELEASE_MINUTES} min) until it is applied, and closes the target. A paused disk waits
 *       until it is resumed; a second release of the same disk is 409 (busy).</li>
 *   <li>{@code POST /v1/disks/{id}/attach} {@code {"written": true|false}}: opens a released disk again. The
 *       operator must say whether the target was written outside the agent while released (the machine ran on
 *       it): then its earlier points are discarded and it is needs-resync. Without the field: 400.</li>
 *   <li>{@code POST /v1/disks/{id}/clear-failure}: 202 {@code {"job"}}; after a repair, re-opens a failed disk,
 *       checks its target and applies the acknowledged writes its ingest log kept.</li>
 * </ul>
 *
 * <p>Thread-safe: called from the control worker pool.
 */
final class DiskControlApi {
    static final long RELEASE_MINUTES = 5;
    private static final Duration RELEASE_TIMEOUT = Duration.ofMinutes(RELEASE_MINUTES);

    private final ControlledAgent agent;
    private final Jobs jobs;

    DiskControlApi(ControlledAgent agent, Jobs jobs) {
        this.agent = agent;
        this.jobs = jobs;
    }

    /** {@code POST /v1/disks/{id}/release}: a job. */
    ApiResult release(String id) {
        if (agent.disks().declared().stream().noneMatch(c -> c.id().equals(id))) {
            return ApiResult.error(HttpResponseStatus.NOT_FOUND, "no disk '" + id + "' is declared"
                    + " (declared: " + agent.disks().ids() + ")");
        }
        return submit("release", id, job -> {
            ReplicatedDisk d = agent.disks().byId(id);
            job.step(id + ": apply everything received, then close the target");
            if (d != null && d.state() == DiskState.PAUSED) {
                job.step(id + ": paused: waiting until it is resumed (mtagent replicas shows it), then applying");
            }
            boolean changed;
            try {
                changed = agent.disks().release(id, RELEASE_TIMEOUT);
            } catch (TimeoutException e) {
                throw new IllegalStateException("disk " + id + " did not finish applying within " + RELEASE_MINUTES
                        + " min (" + e.getMessage() + "); it takes streams again. Resume it if it is paused, check its"
                        + " target's speed, and release again");
            }
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("disk", id);
            m.put("state", "released");
            m.put("changed", changed);
            return m;
        });
    }

    /** {@code POST /v1/disks/{id}/attach} {@code {"written": bool}}. */
    ApiResult attach(String id, JsonNode body) {
        JsonNode written = body.get("written");
        if (written == null || !written.isBoolean()) {
            return ApiResult.error(HttpResponseStatus.BAD_REQUEST, "say whether the target was written"
                    + " outside the agent while it was released: {\"written\": true} when a machine ran on it (failover,"
                    + " failback: its earlier recovery points are then discarded and it needs a resync), {\"written\":"
                    + " false} when nothing wrote it (CLI: mtagent disk attach --written-outside | --unchanged)");
        }
        try {
            boolean changed = agent.disks().reattach(id, written.asBoolean());
            ReplicatedDisk d = agent.disks().byId(id);
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("disk", id);
            m.put("state", d.state().label());
            m.put("reason", d.stateReason());
            m.put("changed", changed);
            return ApiResult.ok(m);
        } catch (IllegalArgumentException e) {
            return ApiResult.error(HttpResponseStatus.NOT_FOUND, e.getMessage());
        } catch (IOException | RuntimeException e) {
            return ApiResult.error(HttpResponseStatus.INTERNAL_SERVER_ERROR, "attaching disk " + id
                    + " failed: " + e.getMessage());
        }
    }

    /** {@code POST /v1/disks/{id}/clear-failure}: a job. */
    ApiResult clearFailure(String id) {
        ReplicatedDisk d = agent.disks().byId(id);
        if (d == null) {
            return ApiResult.error(HttpResponseStatus.NOT_FOUND, "no open disk '" + id + "' (disks: "
                    + agent.disks().ids() + "; a released disk's target is checked when it is attached)");
        }
        if (d.state() != DiskState.FAILED) {
            return ApiResult.error(HttpResponseStatus.CONFLICT, "disk " + id + " is " + d.state().label()
                    + ", not failed: nothing to clear");
        }
        return submit("clear-failure", id, job -> {
            job.step(id + ": re-open the disk and check its target");
            ReplicatedDisk fresh = agent.disks().reopenFailed(id);
            if (fresh.state() == DiskState.FAILED) {
                throw new IllegalStateException("disk " + id + " is still failed: " + fresh.stateReason());
            }
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("disk", id);
            m.put("state", fresh.state().label());
            m.put("reason", fresh.stateReason());
            m.put("backlogBytes", fresh.backlogBytes());
            return m;
        });
    }

    /** pause / resume applying, or request a resync (SPEC.md §12.2); a failed disk is pointed at clear-failure. */
    ApiResult replicationState(String id, String action) {
        ReplicatedDisk d = agent.disks().byId(id);
        if (d == null) {
            return ApiResult.error(HttpResponseStatus.NOT_FOUND, "no disk '" + id + "' on this agent");
        }
        if (d.state() == DiskState.FAILED && !action.equals("pause")) {
            return ApiResult.error(HttpResponseStatus.CONFLICT, "disk " + id + " failed (" + d.stateReason()
                    + "); repair the target, then 'mtagent disk clear-failure --disk " + id + "' (POST /v1/disks/"
                    + id + "/clear-failure) checks it and applies what the ingest log kept");
        }
        switch (action) {
            case "pause" -> d.setPaused(true, "paused by the operator (control API)");
            case "resume" -> d.setPaused(false, "resumed by the operator (control API)");
            default -> d.requestResync("operator request (control API)");
        }
        return ApiResult.ok(Map.of("disk", id, "state", d.state().label(), "reason", d.stateReason()));
    }

    private ApiResult submit(String kind, String id, Jobs.Work work) {
        try {
            Jobs.Job job = jobs.submit(kind, List.of(id), work);
            return new ApiResult(HttpResponseStatus.ACCEPTED, Map.of("job", job.id, "disk", id));
        } catch (Jobs.Busy e) {
            return ApiResult.error(HttpResponseStatus.CONFLICT, e.getMessage());
        } catch (RejectedExecutionException e) {
            return ApiResult.error(HttpResponseStatus.SERVICE_UNAVAILABLE, "the agent is shutting down");
        }
    }
}
