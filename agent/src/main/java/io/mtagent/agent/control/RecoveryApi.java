package io.mtagent.agent.control;

import com.fasterxml.jackson.databind.JsonNode;
import io.mtagent.agent.Agent;
import io.mtagent.agent.disk.ReplicatedDisk;
import io.mtagent.agent.recovery.ExportPathPolicy;
import io.mtagent.agent.config.HumanSize;
import io.mtagent.agent.recovery.ExportService;
import io.mtagent.agent.recovery.NbdExport;
import io.mtagent.agent.recovery.NbdServer;
import io.mtagent.agent.recovery.NbdUrls;
import io.mtagent.agent.recovery.TestFailovers;
import io.mtagent.agent.recovery.ViewLease;
import io.mtagent.agent.retention.DiscardedHistory;
import io.mtagent.agent.retention.PointCatalog;
import io.mtagent.agent.retention.PointInTimeView;
import io.mtagent.agent.retention.PointSpec;
import io.mtagent.agent.retention.RecoveryPoint;
import io.mtagent.agent.retention.RollbackService;
import io.mtagent.agent.retention.SegmentPrunedException;
import io.mtagent.agent.retention.TestedPoints;
import io.mtagent.protocol.DiskState;
import io.netty.handler.codec.http.HttpResponseStatus;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeoutException;

/**
 * The recovery operations of the control API (docs/ARCHITECTURE.md, "Retention journal and recovery"): recovery points,
 * rollback ("recover") and commit, export to a file, NBD views. The work is done by the retention services
 * ({@link PointCatalog}, {@link RollbackService}, {@link ExportService}); this class parses requests, refuses
 * early with the agent's message (404 unknown disk or group, 400 malformed request, 409 busy disk or a point
 * that cannot be used), and runs long operations as {@link Jobs}.
 *
 * <p>Request bodies are JSON objects: recover {@code {"disk"|"group", "to", "irreversible", "dryRun"}}, commit
 * {@code {"disk"|"group"}}, export {@code {"disk", "point", "out", "overwrite"}}, nbd {@code {"disk", "point"}}.
 *
 * <p>Thread-safe: called from the control worker pool; jobs serialise operations per disk.
 */
final class RecoveryApi implements AutoCloseable {
    static final String GROUP_NOTE = "a machine with several disks is crash-consistent only at group points: recover"
            + " all of its disks to the same group point";
    private static final Duration VIEW_WAIT = Duration.ofSeconds(30);

    /** A status and a JSON document. */
    record Result(HttpResponseStatus status, Object document) {
        static Result ok(Object document) {
            return new Result(HttpResponseStatus.OK, document);
        }

        static Result error(HttpResponseStatus status, String message) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("error", message);
            return new Result(status, m);
        }
    }

    /** An early refusal: becomes the response. */
    static final class Refusal extends RuntimeException {
        final HttpResponseStatus status;

        Refusal(HttpResponseStatus status, String message) {
            super(message);
            this.status = status;
        }
    }

    private final Agent agent;
    private final Jobs jobs;
    /** NBD export name → the view that pins its point while it is published. */
    private final Map<String, PointInTimeView> published = new ConcurrentHashMap<>();

    private final TestFailoverApi testFailover;

    RecoveryApi(Agent agent, Jobs jobs) {
        this.agent = agent;
        this.jobs = jobs;
        this.testFailover = new TestFailoverApi(agent, this,
                new TestFailovers(agent.nbdServer(), agent.config().testFailoverScratchDir()));
    }

    /** The test failover endpoints. */
    TestFailoverApi testFailover() {
        return testFailover;
    }

    /** Runs one call, turning refusals into their responses. */
    Result call(java.util.function.Supplier<Result> action) {
        try {
            return action.get();
        } catch (Refusal r) {
            return Result.error(r.status, r.getMessage());
        }
    }

    // ---- points -------------------------------------------------------------------------------------------

    /** {@code GET /v1/points?disk=ID} or {@code ?group=G}. */
    Result points(String diskId, String group) {
        if (diskId != null) {
            ReplicatedDisk d = disk(diskId);
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("disk", d.id());
            m.put("group", agent.config().diskGroups().get(d.id()));
            List<Map<String, Object>> list = new ArrayList<>();
            Map<Long, Instant> tested = tested(d);
            for (RecoveryPoint p : journaled(() -> PointCatalog.points(d))) {
                Map<String, Object> point = point(p);
                if (tested.containsKey(p.seq())) {
                    point.put("testedAt", tested.get(p.seq()).toString());
                }
                list.add(point);
            }
            m.put("points", list);
            m.put("earliest", earliest(d));
            if (agent.config().diskGroups().containsKey(d.id())) {
                m.put("note", GROUP_NOTE);
            }
            return Result.ok(m);
        }
        if (group != null) {
            List<ReplicatedDisk> members = members(group);
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("group", group);
            m.put("disks", members.stream().map(ReplicatedDisk::id).toList());
            List<Map<String, Object>> list = new ArrayList<>();
            for (var e : journaled(() -> PointCatalog.groupPoints(members)).entrySet()) {
                long newest = -1;
                for (ReplicatedDisk d : members) {
                    newest = Math.max(newest, PointCatalog.timestampOf(d, e.getValue().get(d.id())));
                }
                Map<String, Object> p = new LinkedHashMap<>();
                p.put("kind", "group");
                p.put("name", e.getKey());
                p.put("time", iso(newest));
                p.put("seqs", e.getValue());
                Instant testedAt = null; // a group point is tested when every member's point is: the earliest time
                for (ReplicatedDisk d : members) {
                    Instant t = tested(d).get(e.getValue().get(d.id()));
                    if (t == null) {
                        testedAt = null;
                        break;
                    }
                    testedAt = testedAt == null || t.isBefore(testedAt) ? t : testedAt;
                }
                if (testedAt != null) {
                    p.put("testedAt", testedAt.toString());
                }
                list.add(p);
            }
            m.put("points", list);
            Map<String, Object> earliest = new LinkedHashMap<>();
            for (ReplicatedDisk d : members) {
                earliest.put(d.id(), earliest(d));
            }
            m.put("earliest", earliest);
            m.put("note", GROUP_NOTE);
            return Result.ok(m);
        }
        throw new Refusal(HttpResponseStatus.BAD_REQUEST, "give ?disk=ID or ?group=NAME");
    }

    /** When each point of {@code d} was test-failed-over ("tested at"); empty when none was. */
    private static Map<Long, Instant> tested(ReplicatedDisk d) {
        try {
            return TestedPoints.read(d.journal().directory());
        } catch (IOException e) {
            throw new Refusal(HttpResponseStatus.INTERNAL_SERVER_ERROR, "cannot read the tested points of disk "
                    + d.id() + ": " + e.getMessage());
        }
    }

    static Map<String, Object> point(RecoveryPoint p) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("kind", p.kind().name().toLowerCase(java.util.Locale.ROOT).replace('_', '-'));
        m.put("seq", p.seq());
        m.put("time", iso(p.timestampMicros()));
        m.put("name", p.name());
        return m;
    }

    static Map<String, Object> earliest(ReplicatedDisk d) {
        RecoveryPoint e = PointCatalog.earliest(d);
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("seq", e.seq());
        m.put("time", iso(e.timestampMicros()));
        return m;
    }

    /** ISO-8601 of a source time in microseconds, null when unknown (negative). */
    static String iso(long micros) {
        return micros < 0 ? null : Instant.ofEpochSecond(Math.floorDiv(micros, 1_000_000L),
                Math.floorMod(micros, 1_000_000L) * 1000).toString();
    }

    // ---- recover and commit -------------------------------------------------------------------------------

    /** What a recover does to one disk: its target seq, or -1 for "back to latest". */
    private record Target(ReplicatedDisk disk, long seq, String label) {
    }

    /** {@code POST /v1/recover}: 202 with the job, or 200 with the plan when {@code dryRun}. */
    Result recover(JsonNode body) {
        String to = text(body, "to", true);
        boolean irreversible = body.path("irreversible").asBoolean(false);
        List<Target> targets = targets(body, to);
        for (Target t : targets) {
            testFailover.refuseUnderTest(t.disk());
            refuseServedOverNbd(t.disk());
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
            putGroupWarning(m, targets.get(0).disk(), "recovering");
        }
        if (body.path("dryRun").asBoolean(false)) {
            return Result.ok(m);
        }
        List<String> ids = targets.stream().map(t -> t.disk().id()).toList();
        // Hold every point from now on: the job first waits for the appliers to drain, and the pruner must not
        // take an accepted point meanwhile (the power-loss test saw accepted jobs fail "no longer held").
        List<AutoCloseable> holds = new ArrayList<>();
        for (Target t : targets) {
            if (t.seq() >= 0) {
                hold(holds, t.disk(), t.seq());
            }
        }
        Jobs.Job job = submitHolding("recover", ids, holds, j -> recoverAll(j, targets, irreversible));
        m.put("job", job.id);
        return new Result(HttpResponseStatus.ACCEPTED, m);
    }

    /** Adds a lease on {@code d}'s journal at {@code seq} to {@code holds}; 409 (releasing them all) if pruned. */
    private static void hold(List<AutoCloseable> holds, ReplicatedDisk d, long seq) {
        if (d.journal() == null) {
            return;
        }
        try {
            holds.add(d.journal().lease(seq));
        } catch (IllegalStateException e) {
            release(holds);
            throw new Refusal(HttpResponseStatus.CONFLICT, d.id() + ": " + e.getMessage());
        }
    }

    /** Submits a job that owns {@code holds}: they are released when it ends, or now if it is not accepted. */
    private Jobs.Job submitHolding(String kind, List<String> ids, List<AutoCloseable> holds, Jobs.Work work) {
        try {
            return submit(kind, ids, j -> {
                try {
                    return work.run(j);
                } finally {
                    release(holds);
                }
            });
        } catch (RuntimeException e) {
            release(holds);
            throw e;
        }
    }

    private static void release(List<AutoCloseable> holds) {
        for (AutoCloseable h : holds) {
            try {
                h.close();
            } catch (Exception e) {
                throw new IllegalStateException(e); // a journal lease's release does not fail
            }
        }
        holds.clear();
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
            ReplicatedDisk d = disk(diskId);
            if (to.equals("latest") && rolledBack(d)) {
                out.add(new Target(d, -1, to));
            } else {
                out.add(new Target(d, resolve(d, to).seq(), to));
            }
            return out;
        }
        List<ReplicatedDisk> members = members(group);
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
                    + "' lists them. " + GROUP_NOTE);
        }
        for (ReplicatedDisk d : members) {
            long seq = seqs.get(d.id());
            checkHeld(d, seq);
            out.add(new Target(d, seq, name));
        }
        return out;
    }

    /** Adds {@code "warning"} when {@code d} is one disk of a replication group handled alone. */
    private void putGroupWarning(Map<String, Object> m, ReplicatedDisk d, String what) {
        String w = GroupWarning.of(agent.config().diskGroups(), d.id(), what);
        if (w != null) {
            m.put("warning", w);
        }
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
    Result commit(JsonNode body) {
        String diskId = text(body, "disk", false);
        String group = text(body, "group", false);
        if ((diskId == null) == (group == null)) {
            throw new Refusal(HttpResponseStatus.BAD_REQUEST, "give exactly one of \"disk\" or \"group\"");
        }
        List<ReplicatedDisk> disks = diskId != null ? List.of(disk(diskId)) : members(group);
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
            return Result.ok(Map.of("disks", results));
        } catch (IllegalStateException e) {
            throw new Refusal(HttpResponseStatus.CONFLICT, e.getMessage());
        } catch (IOException e) {
            throw new Refusal(HttpResponseStatus.INTERNAL_SERVER_ERROR, "commit failed: " + e.getMessage());
        } finally {
            jobs.unlock(ids);
        }
    }

    // ---- export and NBD -----------------------------------------------------------------------------------

    /** {@code POST /v1/export}: 202 with the job. The file is written by the agent, so the path is absolute. */
    Result export(JsonNode body) {
        ReplicatedDisk d = disk(text(body, "disk", true));
        String spec = text(body, "point", true);
        Path requested;
        try {
            requested = Path.of(text(body, "out", true));
        } catch (java.nio.file.InvalidPathException e) {
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
        } catch (java.io.IOException e) {
            throw new Refusal(HttpResponseStatus.BAD_REQUEST, "cannot check \"out\": " + e);
        }
        boolean overwrite = body.path("overwrite").asBoolean(false);
        try {
            ExportService.refuseOverwrite(out, overwrite); // before the job: no progress for a refused export
        } catch (IllegalStateException e) {
            throw new Refusal(HttpResponseStatus.CONFLICT, e.getMessage());
        } catch (java.io.IOException e) {
            throw new Refusal(HttpResponseStatus.BAD_REQUEST, "cannot check \"out\": " + e);
        }
        RecoveryPoint p = resolve(d, spec);
        List<AutoCloseable> holds = new ArrayList<>();
        hold(holds, d, p.seq()); // until the job's view holds it (the job may wait for the applier first)
        Jobs.Job job = submitHolding("export", List.of(d.id()), holds, j -> {
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
        putGroupWarning(m, d, "exporting");
        return new Result(HttpResponseStatus.ACCEPTED, m);
    }

    /**
     * A rollback rewrites the target that a published view reads (the view overlays the target with the journal's
     * images; the rollback's writes are not among them), so its readers would see neither point: refused until the
     * views are stopped.
     */
    private void refuseServedOverNbd(ReplicatedDisk d) {
        List<String> served = agent.nbdServer().exports().stream().map(NbdExport::name)
                .filter(n -> NbdExport.isViewOf(n, d.id())).toList();
        if (!served.isEmpty()) {
            throw new Refusal(HttpResponseStatus.CONFLICT, "disk " + d.id() + " is served over NBD as " + served
                    + ": a rollback would change the target under its readers; stop it first (mtagent nbd --stop '"
                    + served.get(0) + "')");
        }
    }

    /** {@code POST /v1/nbd}: publishes the view at a point on the agent's NBD server; returns its URL. */
    Result nbdStart(JsonNode body) {
        ReplicatedDisk d = disk(text(body, "disk", true));
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
        putGroupWarning(m, d, "serving");
        return Result.ok(m);
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
    Result nbdStop(String name) {
        PointInTimeView anchor = published.remove(name);
        if (anchor == null) {
            throw new Refusal(HttpResponseStatus.NOT_FOUND, "no NBD export named '" + name + "'; published: "
                    + String.join(", ", published.keySet()));
        }
        agent.nbdServer().removeExport(name);
        anchor.close();
        return Result.ok(Map.of("name", name, "stopped", true, "readers", agent.nbdServer().readers(name)));
    }

    /** {@code GET /v1/nbd}: the published exports. */
    Result nbdList() {
        List<Map<String, Object>> list = new ArrayList<>();
        for (NbdExport e : agent.nbdServer().exports()) {
            list.add(Map.of("name", e.name(), "description", e.description(), "readers",
                    agent.nbdServer().readers(e.name())));
        }
        return Result.ok(Map.of("exports", list));
    }

    /** Stops publishing every view and ends every test failover unrecorded (the agent closes). */
    @Override
    public void close() {
        testFailover.tests().close();
        for (String name : List.copyOf(published.keySet())) {
            PointInTimeView v = published.remove(name);
            if (v != null) {
                v.close();
            }
        }
    }

    // ---- verify -------------------------------------------------------------------------------------------

    /**
     * {@code POST /v1/verify} {@code {"disk": ID}} (or no disk: every disk): a job that re-reads, beside
     * replication, every unapplied ingest-log record and every retention-journal record and reports the first
     * bad one per disk. Repair needs the agent stopped ({@code mtagent verify --repair}).
     */
    Result verify(JsonNode body) {
        String id = body == null ? "" : body.path("disk").asText("");
        List<ReplicatedDisk> targets = new ArrayList<>();
        if (id.isEmpty()) {
            targets.addAll(agent.disks().all());
        } else {
            ReplicatedDisk d = agent.disks().byId(id);
            if (d == null) {
                throw new Refusal(HttpResponseStatus.NOT_FOUND, "no open disk '" + id + "'");
            }
            targets.add(d);
        }
        Jobs.Job job = submit("verify", targets.stream().map(ReplicatedDisk::id).toList(), j -> {
            List<Map<String, Object>> disks = new ArrayList<>();
            boolean ok = true;
            for (ReplicatedDisk d : targets) {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("disk", d.id());
                j.step(d.id() + ": ingest log");
                String log = d.ingestLog().verifyUnapplied(n -> j.progress(n, Math.max(n, 1)));
                m.put("ingestLog", log == null ? "ok" : log);
                String jr = null;
                if (d.journal() != null) {
                    j.step(d.id() + ": retention journal");
                    jr = d.journal().verifyOnline(n -> j.progress(n, Math.max(n, 1)));
                    m.put("retentionJournal", jr == null ? "ok" : jr);
                }
                ok &= log == null && jr == null;
                disks.add(m);
            }
            Map<String, Object> r = new LinkedHashMap<>();
            r.put("ok", ok);
            r.put("disks", disks);
            if (!ok) {
                r.put("fix", "stop the agent, copy the cache and retention directories, then run 'mtagent verify --repair'");
            }
            return r;
        });
        return new Result(HttpResponseStatus.ACCEPTED, Map.of("job", job.id));
    }

    // ---- helpers ------------------------------------------------------------------------------------------

    private Jobs.Job submit(String kind, List<String> disks, Jobs.Work work) {
        try {
            return jobs.submit(kind, disks, work);
        } catch (Jobs.Busy e) {
            throw new Refusal(HttpResponseStatus.CONFLICT, e.getMessage());
        } catch (java.util.concurrent.RejectedExecutionException e) {
            throw new Refusal(HttpResponseStatus.SERVICE_UNAVAILABLE, "the agent is shutting down");
        }
    }

    ReplicatedDisk disk(String id) {
        ReplicatedDisk d = agent.disks().byId(id);
        if (d == null) {
            for (var c : agent.disks().declared()) {
                if (c.name().equals(id)) {
                    d = agent.disks().byId(c.id());
                }
            }
        }
        if (d == null) {
            throw new Refusal(HttpResponseStatus.NOT_FOUND, "no open disk '" + id + "'; disks: " + String.join(", ",
                    agent.disks().all().stream().map(ReplicatedDisk::id).toList()));
        }
        if (d.journal() == null) {
            throw new Refusal(HttpResponseStatus.CONFLICT, "disk " + d.id() + " keeps no retention journal, so it has"
                    + " no recovery points: set retention.dir and restart the agent");
        }
        return d;
    }

    List<ReplicatedDisk> members(String group) {
        List<ReplicatedDisk> out = new ArrayList<>();
        for (var e : agent.config().diskGroups().entrySet()) {
            if (e.getValue().equals(group)) {
                out.add(disk(e.getKey()));
            }
        }
        if (out.isEmpty()) {
            throw new Refusal(HttpResponseStatus.NOT_FOUND, "no replication group '" + group + "'; groups: "
                    + String.join(", ", new java.util.TreeSet<>(agent.config().diskGroups().values()))
                    + " (set disk.<name>.group in the configuration)");
        }
        return out;
    }

    /** Resolves a point spec: a malformed one is 400, one the disk does not hold 409. */
    static RecoveryPoint resolve(ReplicatedDisk d, String spec) {
        String canonical = canonicalPoint(spec);
        try {
            return PointCatalog.resolve(d, canonical);
        } catch (IllegalArgumentException | IllegalStateException e) {
            throw new Refusal(HttpResponseStatus.CONFLICT, e.getMessage());
        }
    }

    /** The point in {@link PointSpec}'s canonical form; a malformed one is refused with 400 and the grammar. */
    static String canonicalPoint(String spec) {
        try {
            return PointSpec.canonical(spec);
        } catch (IllegalArgumentException e) {
            throw new Refusal(HttpResponseStatus.BAD_REQUEST, e.getMessage());
        }
    }

    static <T> T journaled(java.util.function.Supplier<T> read) {
        try {
            return read.get();
        } catch (IllegalStateException e) {
            throw new Refusal(HttpResponseStatus.CONFLICT, e.getMessage());
        }
    }

    static String text(JsonNode body, String field, boolean required) {
        JsonNode n = body.get(field);
        if (n == null || n.isNull() || n.asText().isEmpty()) {
            if (required) {
                throw new Refusal(HttpResponseStatus.BAD_REQUEST, "the request needs \"" + field + "\"");
            }
            return null;
        }
        if (!n.isTextual()) {
            throw new Refusal(HttpResponseStatus.BAD_REQUEST, "\"" + field + "\" must be a string");
        }
        return n.asText();
    }
}
