package io.mtagent.agent.control;

import com.fasterxml.jackson.databind.JsonNode;
import io.mtagent.agent.disk.ReplicatedDisk;
import io.mtagent.agent.recovery.ExportService;
import io.mtagent.agent.recovery.TestFailovers;
import io.mtagent.agent.retention.PointCatalog;
import io.mtagent.agent.retention.RollbackService;
import java.util.List;
import java.util.function.Supplier;

/**
 * The recovery operations of the control API (docs/ARCHITECTURE.md, "Retention journal and recovery"): recovery points,
 * rollback ("recover") and commit, export to a file, NBD views. The work is done by the retention services
 * ({@link PointCatalog}, {@link RollbackService}, {@link ExportService}); the endpoints parse requests, refuse
 * early with the agent's message (404 unknown disk or group, 400 malformed request, 409 busy disk or a point
 * that cannot be used), and run long operations as {@link Jobs}.
 *
 * <p>Request bodies are JSON objects: recover {@code {"disk"|"group", "to", "irreversible", "dryRun"}}, commit
 * {@code {"disk"|"group"}}, export {@code {"disk", "point", "out", "overwrite"}}, nbd {@code {"disk", "point"}}.
 *
 * <p>This class is the entry the control handler calls: one endpoint class per family ({@link PointsEndpoint},
 * {@link RollbackEndpoint}, {@link ViewEndpoints}, {@link VerifyEndpoint}, {@link TestFailoverApi}) over the shared
 * request rules of {@link RecoveryRequests}.
 *
 * <p>Thread-safe: called from the control worker pool; jobs serialise operations per disk.
 */
final class RecoveryApi implements AutoCloseable {
    private final RecoveryRequests requests;
    private final PointsEndpoint points;
    private final ViewEndpoints views;
    private final RollbackEndpoint rollback;
    private final VerifyEndpoint verify;
    private final TestFailoverApi testFailover;

    RecoveryApi(ControlledAgent agent, Jobs jobs) {
        this.requests = new RecoveryRequests(agent, jobs);
        this.points = new PointsEndpoint(agent.config(), requests);
        this.views = new ViewEndpoints(agent, requests);
        this.testFailover = new TestFailoverApi(agent, this,
                new TestFailovers(agent.nbdServer(), agent.config().testFailoverScratchDir()));
        this.rollback = new RollbackEndpoint(requests, jobs, testFailover, views);
        this.verify = new VerifyEndpoint(agent, requests);
    }

    /** The test failover endpoints. */
    TestFailoverApi testFailover() {
        return testFailover;
    }

    /** Runs one call, turning refusals into their responses. */
    ApiResult call(Supplier<ApiResult> action) {
        try {
            return action.get();
        } catch (Refusal r) {
            return ApiResult.error(r.status, r.getMessage());
        }
    }

    /** {@code GET /v1/points?disk=ID} or {@code ?group=G}. */
    ApiResult points(String diskId, String group) {
        return points.points(diskId, group);
    }

    /** {@code POST /v1/recover}: 202 with the job, or 200 with the plan when {@code dryRun}. */
    ApiResult recover(JsonNode body) {
        return rollback.recover(body);
    }

    /** {@code POST /v1/commit}: synchronous (it only deletes the undo journal and changes state). */
    ApiResult commit(JsonNode body) {
        return rollback.commit(body);
    }

    /** {@code POST /v1/export}: 202 with the job. */
    ApiResult export(JsonNode body) {
        return views.export(body);
    }

    /** {@code POST /v1/nbd}: publishes the view at a point on the agent's NBD server. */
    ApiResult nbdStart(JsonNode body) {
        return views.nbdStart(body);
    }

    /** {@code DELETE /v1/nbd/<name>}. */
    ApiResult nbdStop(String name) {
        return views.nbdStop(name);
    }

    /** {@code GET /v1/nbd}. */
    ApiResult nbdList() {
        return views.nbdList();
    }

    /** The URLs of NBD export {@code name}, one per listener (the Unix socket's first). */
    List<String> nbdUrls(String name) {
        return views.nbdUrls(name);
    }

    /** The first of {@link #nbdUrls}. */
    String nbdUrl(String name) {
        return views.nbdUrl(name);
    }

    /** {@code POST /v1/verify}. */
    ApiResult verify(JsonNode body) {
        return verify.verify(body);
    }

    /** A disk named in a request, by id or configured name (404 unknown, 409 without a journal). */
    ReplicatedDisk disk(String id) {
        return requests.disk(id);
    }

    /** The disks of replication group {@code group} (404 unknown). */
    List<ReplicatedDisk> members(String group) {
        return requests.members(group);
    }

    /** Stops publishing every view and ends every test failover unrecorded (the agent closes). */
    @Override
    public void close() {
        testFailover.tests().close();
        views.close();
    }
}
