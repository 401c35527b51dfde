package io.mtagent.agent.control;

import com.fasterxml.jackson.databind.JsonNode;
import io.mtagent.agent.disk.ReplicatedDisk;
import io.mtagent.agent.journal.RecoveryPoint;
import io.mtagent.agent.retention.PointCatalog;
import io.mtagent.agent.retention.PointSpec;
import io.netty.handler.codec.http.HttpResponseStatus;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.RejectedExecutionException;
import java.util.function.Supplier;

/**
 * What the recovery endpoints share: a disk or a group named in a request (by id or configured name; 404 unknown,
 * 409 without a journal), a point spec resolved on a disk (400 malformed, 409 not held), body fields, jobs submitted
 * with the journal leases they own, and the warning for one disk of a group handled alone. Every refusal is a
 * {@link Refusal} carrying the status. Thread-safe (no state beyond the agent and its jobs).
 */
final class RecoveryRequests {
    static final String GROUP_NOTE = "a machine with several disks is crash-consistent only at group points: recover"
            + " all of its disks to the same group point";

    private final ControlledAgent agent;
    private final Jobs jobs;

    RecoveryRequests(ControlledAgent agent, Jobs jobs) {
        this.agent = agent;
        this.jobs = jobs;
    }

    Jobs.Job submit(String kind, List<String> disks, Jobs.Work work) {
        try {
            return jobs.submit(kind, disks, work);
        } catch (Jobs.Busy e) {
            throw new Refusal(HttpResponseStatus.CONFLICT, e.getMessage());
        } catch (RejectedExecutionException e) {
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
                    + String.join(", ", new TreeSet<>(agent.config().diskGroups().values()))
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

    static <T> T journaled(Supplier<T> read) {
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

    /** Adds a lease on {@code d}'s journal at {@code seq} to {@code holds}; 409 (releasing them all) if pruned. */
    static void hold(List<AutoCloseable> holds, ReplicatedDisk d, long seq) {
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
    Jobs.Job submitHolding(String kind, List<String> ids, List<AutoCloseable> holds, Jobs.Work work) {
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

    static void release(List<AutoCloseable> holds) {
        for (AutoCloseable h : holds) {
            try {
                h.close();
            } catch (Exception e) {
                throw new IllegalStateException(e); // a journal lease's release does not fail
            }
        }
        holds.clear();
    }

    /** Adds {@code "warning"} when {@code d} is one disk of a replication group handled alone. */
    void putGroupWarning(Map<String, Object> m, ReplicatedDisk d, String what) {
        String w = GroupWarning.of(agent.config().diskGroups(), d.id(), what);
        if (w != null) {
            m.put("warning", w);
        }
    }

    /** ISO-8601 of a source time in microseconds, null when unknown (negative). */
    static String iso(long micros) {
        return micros < 0 ? null : Instant.ofEpochSecond(Math.floorDiv(micros, 1_000_000L),
                Math.floorMod(micros, 1_000_000L) * 1000).toString();
    }
}
