package io.mtagent.agent.control;

import static io.mtagent.agent.control.RecoveryRequests.iso;
import static io.mtagent.agent.control.RecoveryRequests.journaled;

import io.mtagent.agent.config.AgentConfig;
import io.mtagent.agent.disk.ReplicatedDisk;
import io.mtagent.agent.journal.RecoveryPoint;
import io.mtagent.agent.retention.PointCatalog;
import io.mtagent.agent.retention.TestedPoints;
import io.netty.handler.codec.http.HttpResponseStatus;
import java.io.IOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * {@code GET /v1/points}: a disk's or a group's recovery points as {@link PointCatalog} lists them, with the
 * earliest recoverable point and when each point was test-failed-over. Read-only; thread-safe.
 */
final class PointsEndpoint {
    private final AgentConfig config;
    private final RecoveryRequests requests;

    PointsEndpoint(AgentConfig config, RecoveryRequests requests) {
        this.config = config;
        this.requests = requests;
    }

    /** {@code GET /v1/points?disk=ID} or {@code ?group=G}. */
    ApiResult points(String diskId, String group) {
        if (diskId != null) {
            ReplicatedDisk d = requests.disk(diskId);
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("disk", d.id());
            m.put("group", config.diskGroups().get(d.id()));
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
            if (config.diskGroups().containsKey(d.id())) {
                m.put("note", RecoveryRequests.GROUP_NOTE);
            }
            return ApiResult.ok(m);
        }
        if (group != null) {
            List<ReplicatedDisk> members = requests.members(group);
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
            m.put("note", RecoveryRequests.GROUP_NOTE);
            return ApiResult.ok(m);
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
        m.put("kind", p.kind().name().toLowerCase(Locale.ROOT).replace('_', '-'));
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
}
