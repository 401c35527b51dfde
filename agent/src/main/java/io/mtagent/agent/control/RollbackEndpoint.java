package io.mtagent.agent.control;

import static io.mtagent.agent.control.RecoveryRequests.canonicalPoint;
import static io.mtagent.agent.control.RecoveryRequests.iso;
import static io.mtagent.agent.control.RecoveryRequests.journaled;
import static io.mtagent.agent.control.RecoveryRequests.resolve;
import static io.mtagent.agent.control.RecoveryRequests.text;

import com.fasterxml.jackson.databind.JsonNode;
import io.mtagent.agent.config.HumanSize;
import io.mtagent.agent.disk.ReplicatedDisk;
import io.mtagent.agent.journal.DiscardedHistory;
import io.mtagent.agent.journal.SegmentPrunedException;
import io.mtagent.agent.retention.PointCatalog;
import io.mtagent.agent.retention.RollbackService;
import io.mtagent.protocol.DiskState;
import io.netty.handler.codec.http.HttpResponseStatus;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code POST /v1/recover} and {@code POST /v1/commit}: the plan of a rollback (what each disk's target is written
 * back to, how much, whether the undo journal fits), refused before any work when a disk is under a test failover or
 * served over NBD, or the point is not held; then the rollback as a job holding its points, and the commit (all
 * members checked before any is committed). The rollback itself is {@link RollbackService}'s. Thread-safe: the jobs
 * serialise operations per disk.
 */
final class RollbackEndpoint {
    private final RecoveryRequests requests;
    private final Jobs jobs;
    private final TestFailoverApi testFailover;
    private final ViewEndpoints views;

    RollbackEndpoint(RecoveryRequests requests, Jobs jobs, TestFailoverApi testFailover, ViewEndpoints views) {
        this.requests = requests;
        this.jobs = jobs;
        this.testFailover = testFailover;
        this.views = views;
    }

    /** What a recover does to one disk: its target seq, or -1 for "back to latest". */
    private record Target(ReplicatedDisk disk, long seq, String label) {
    }

    /** {@code POST /v1/recover}: 202 with the job, or 200 with the plan when {@code dryRun}. */
    ApiResult recover(JsonNode body) {
        String to = text(body, "to", true);
        boolean irreversible = body.path("irreversible").asBoolean(false);
        List<Target> targets = targets(body, to);
        for (Target t : targets) {
            testFailover.refuseUnderTest(t.disk());
            views.refuseServedOverNbd(t.disk());
        }
        List<Map<String, Object>> plans = new ArrayList<>();
        for (Target t : targets) {
            Map<String, Object> p = new LinkedHashMap<>();
            p.put("disk", t.disk().id());
            p.put("to", t.label());
            if (t.seq() < 0) {
                p.put("seq", null);
                p.put("action", "restore the target to latest from the undo journal");
            } else {
                RollbackService.Plan plan;
                try {
                    plan = RollbackService.plan(t.disk(), t.seq());
                } catch (SegmentPrunedException e) {
                    throw new Refusal(HttpResponseStatus.CONFLICT, t.disk().id() + ": " + e.getMessage());
                } catch (IOException e) {
                    throw new Refusal(HttpResponseStatus.INTERNAL_SERVER_ERROR, "cannot read the retention journal of "
                            + t.disk().id() + ": " + e.getMessage());
                }
                if (!irreversible) {
                    try {
                        RollbackService.requireRoom(t.disk(), plan);
                    } catch (IllegalStateException e) {
                        throw new Refusal(HttpResponseStatus.CONFLICT, e.getMessage());
                    } catch (IOException e) {
                        throw new Refusal(HttpResponseStatus.INTERNAL_SERVER_ERROR, "cannot read the retention"
                                + " volume's free space: " + e.getMessage());
                    }
                }
                p.put("seq", t.seq());
                p.put("time", iso(PointCatalog.timestampOf(t.disk(), t.seq())));
                p.put("images", plan.images());
                p.put("bytes", plan.bytes());
                p.put("writeBytes", plan.writeBytes());
                p.put("action", "stop replication, " + (irreversible ? "" : "keep an undo journal of at most "
                        + HumanSize.of(plan.writeBytes()) + ", ") + "write back what " + plan.images()
                        + " writes changed (" + HumanSize.of(plan.bytes()) + " of before-images), each changed sector"
                        + " once: at most " + HumanSize.of(plan.writeBytes()));
            }
            plans.add(p);
        }
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("irreversible", irreversible);
        m.put("plan", plans);
        if (text(body, "disk", false) != null) {
            requests.putGroupWarning(m, targets.get(0).disk(), "recovering");
        }
        if (body.path("dryRun").asBoolean(false)) {
            return ApiResult.ok(m);
        }
        List<String> ids = targets.stream().map(t -> t.disk().id()).toList();
        // Hold every point from now on: the job first waits for the appliers to drain, and the pruner must not
        // take an accepted point meanwhile (the power-loss test saw accepted jobs fail "no longer held").
        List<AutoCloseable> holds = new ArrayList<>();
        for (Target t : targets) {
            if (t.seq() >= 0) {
                RecoveryRequests.hold(holds, t.disk(), t.seq());
            }
        }
        Jobs.Job job = requests.submitHolding("recover", ids, holds, j -> recoverAll(j, targets, irreversible));
        m.put("job", job.id);
        return new ApiResult(HttpResponseStatus.ACCEPTED, m);
    }

    private static Map<String, Object> recoverAll(Jobs.Job j, List<Target> targets, boolean irreversible)
            throws Exception {
        List<Map<String, Object>> results = new ArrayList<>();
        for (Target t : targets) {
            ReplicatedDisk d = t.disk();
            RollbackService.Progress progress = j::progress;
            if (t.seq() < 0) {
                j.step(d.id() + ": back to latest");
                RollbackService.restoreLatest(d, progress);
            } else {
                j.step(d.id() + ": to " + t.label() + " (seq " + t.seq() + ")");
                RollbackService.recover(d, t.seq(), irreversible, progress);
            }
            Map<String, Object> r = new LinkedHashMap<>();
            r.put("disk", d.id());
            r.put("state", d.state().label());
            r.put("rollback", RollbackService.describe(d));
            results.add(r);
        }
        j.step("done");
        return Map.of("disks", results, "next", "'mtagent commit' keeps this point; 'mtagent recover --to"
                + " latest' undoes it");
    }

    private List<Target> targets(JsonNode body, String given) {
        String to = canonicalPoint(given);
        String diskId = text(body, "disk", false);
        String group = text(body, "group", false);
        if ((diskId == null) == (group == null)) {
            throw new Refusal(HttpResponseStatus.BAD_REQUEST, "give exactly one of \"disk\" or \"group\"");
        }
        List<Target> out = new ArrayList<>();
        if (diskId != null) {
            ReplicatedDisk d = requests.disk(diskId);
            if (to.equals("latest") && rolledBack(d)) {
                out.add(new Target(d, -1, to));
            } else {
                out.add(new Target(d, resolve(d, to).seq(), to));
            }
            return out;
        }
        List<ReplicatedDisk> members = requests.members(group);
        if (to.equals("latest")) {
            for (ReplicatedDisk d : members) {
                out.add(rolledBack(d) ? new Target(d, -1, to) : new Target(d, resolve(d, to).seq(), to));
            }
            return out;
        }
        if (!to.startsWith("tag:")) {
            throw new Refusal(HttpResponseStatus.BAD_REQUEST, "'" + given + "': a group is recovered to a group point"
                    + " (its name, as 'mtagent points --group " + group + "' lists it) or to latest, so that its disks"
                    + " stay consistent with each other");
        }
        String name = to.substring(4);
        Map<String, Map<String, Long>> points = journaled(() -> PointCatalog.groupPoints(members));
        Map<String, Long> seqs = points.get(name);
        if (seqs == null) {
            throw new Refusal(HttpResponseStatus.CONFLICT, "group " + group + " has no group point '" + name
                    + "' held by all of its disks (" + (points.isEmpty() ? "it has none"
                    : "it has: " + String.join(", ", points.keySet())) + "); 'mtagent points --group " + group
                    + "' lists them. " + RecoveryRequests.GROUP_NOTE);
        }
        for (ReplicatedDisk d : members) {
            long seq = seqs.get(d.id());
            checkHeld(d, seq);
            out.add(new Target(d, seq, name));
        }
        return out;
    }

    private static boolean rolledBack(ReplicatedDisk d) {
        try {
            String s = RollbackService.describe(d);
            return s != null && !s.startsWith("at-latest");
        } catch (IOException e) {
            throw new Refusal(HttpResponseStatus.INTERNAL_SERVER_ERROR, "cannot read the rollback state of disk "
                    + d.id() + ": " + e.getMessage());
        }
    }

    private static void checkHeld(ReplicatedDisk d, long seq) {
        long earliest = PointCatalog.earliest(d).seq();
        if (seq < earliest) {
            throw new Refusal(HttpResponseStatus.CONFLICT, "disk " + d.id() + ": seq " + seq + " was pruned"
                    + " (earliest recoverable seq " + earliest + ")");
        }
        DiscardedHistory.Range gone = d.journal().discarded().rangeOf(seq);
        if (gone != null) {
            throw new Refusal(HttpResponseStatus.CONFLICT, DiscardedHistory.refusal(d.id(), seq, gone));
        }
    }

    /** {@code POST /v1/commit}: synchronous (it only deletes the undo journal and changes state). */
    ApiResult commit(JsonNode body) {
        String diskId = text(body, "disk", false);
        String group = text(body, "group", false);
        if ((diskId == null) == (group == null)) {
            throw new Refusal(HttpResponseStatus.BAD_REQUEST, "give exactly one of \"disk\" or \"group\"");
        }
        List<ReplicatedDisk> disks = diskId != null ? List.of(requests.disk(diskId)) : requests.members(group);
        List<String> ids = disks.stream().map(ReplicatedDisk::id).toList();
        try {
            jobs.lock(ids, "a commit");
        } catch (Jobs.Busy e) {
            throw new Refusal(HttpResponseStatus.CONFLICT, e.getMessage());
        }
        try {
            for (ReplicatedDisk d : disks) { // all or nothing: check every member before committing any
                String s = RollbackService.describe(d);
                if (s == null || !(s.startsWith("at-point") || s.startsWith("at-latest"))) {
                    throw new Refusal(HttpResponseStatus.CONFLICT, "disk " + d.id() + (s == null
                            ? " is not being recovered: nothing to commit ('mtagent recover' first)"
                            : " is in the middle of a rollback (" + s + "): wait for its job"));
                }
            }
            List<Map<String, Object>> results = new ArrayList<>();
            for (ReplicatedDisk d : disks) {
                DiskState state = RollbackService.commit(d);
                Map<String, Object> r = new LinkedHashMap<>();
                r.put("disk", d.id());
                r.put("state", state.label());
                r.put("reason", d.stateReason());
                results.add(r);
            }
            return ApiResult.ok(Map.of("disks", results));
        } catch (IllegalStateException e) {
            throw new Refusal(HttpResponseStatus.CONFLICT, e.getMessage());
        } catch (IOException e) {
            throw new Refusal(HttpResponseStatus.INTERNAL_SERVER_ERROR, "commit failed: " + e.getMessage());
        } finally {
            jobs.unlock(ids);
        }
    }
}
