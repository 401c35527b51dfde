package io.mtagent.agent.control;

import com.fasterxml.jackson.databind.JsonNode;
import io.mtagent.agent.config.ConfigType;
import io.mtagent.agent.disk.ReplicatedDisk;
import io.mtagent.agent.recovery.TestFailovers;
import io.mtagent.agent.retention.PointCatalog;
import io.netty.handler.codec.http.HttpResponseStatus;
import java.io.IOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The test failover endpoints of the control API ({@link TestFailovers} does the work):
 * <ul>
 *   <li>{@code POST /v1/test-failover} {@code {"disk"|"group", "point", "scratchCap"}}: serves the point (for a
 *       group, its group point on every member) writable over NBD; 200 with the test's id and each disk's URL.
 *       {@code scratchCap} (bytes, or a size such as "2GiB") lowers {@code testfailover.scratch.max.bytes}.</li>
 *   <li>{@code GET /v1/test-failover}: the running tests, with each disk's scratch use.</li>
 *   <li>{@code DELETE /v1/test-failover/<id>}: ends a test: scratch discarded, points marked tested.</li>
 * </ul>
 * Refusals: 400 malformed, 404 unknown disk, group or test, 409 a point that cannot be served or a disk already
 * under test, 507 a scratch volume too small for the cap. Thread-safe.
 */
final class TestFailoverApi {
    private final ControlledAgent agent;
    private final RecoveryApi recovery;
    private final TestFailovers tests;

    TestFailoverApi(ControlledAgent agent, RecoveryApi recovery, TestFailovers tests) {
        this.agent = agent;
        this.recovery = recovery;
        this.tests = tests;
    }

    TestFailovers tests() {
        return tests;
    }

    ApiResult start(JsonNode body) {
        String spec = RecoveryRequests.text(body, "point", true);
        String diskId = RecoveryRequests.text(body, "disk", false);
        String group = RecoveryRequests.text(body, "group", false);
        if ((diskId == null) == (group == null)) {
            throw new Refusal(HttpResponseStatus.BAD_REQUEST, "give exactly one of \"disk\" or \"group\"");
        }
        long cap = agent.config().testFailoverScratchMaxBytes();
        JsonNode capNode = body.get("scratchCap");
        if (capNode != null && !capNode.isNull()) {
            long asked;
            try {
                asked = capNode.isNumber() ? capNode.asLong() : ConfigType.SIZE.parse(capNode.asText());
            } catch (IllegalArgumentException e) {
                throw new Refusal(HttpResponseStatus.BAD_REQUEST, "\"scratchCap\" is not a size: "
                        + e.getMessage());
            }
            if (asked < (1 << 20) || asked > cap) {
                throw new Refusal(HttpResponseStatus.BAD_REQUEST, "\"scratchCap\" must be between 1MiB and"
                        + " testfailover.scratch.max.bytes (" + cap + " bytes); it was " + asked);
            }
            cap = asked;
        }
        Map<ReplicatedDisk, Long> points = new LinkedHashMap<>();
        if (diskId != null) {
            ReplicatedDisk d = recovery.disk(diskId);
            points.put(d, RecoveryRequests.resolve(d, spec).seq());
        } else {
            List<ReplicatedDisk> members = recovery.members(group);
            String name = spec.startsWith("tag:") ? spec.substring(4) : spec;
            Map<String, Long> seqs = RecoveryRequests.journaled(() -> PointCatalog.groupPoints(members)).get(name);
            if (seqs == null) {
                throw new Refusal(HttpResponseStatus.CONFLICT, "group " + group + " has no group point '"
                        + name + "' held by all of its disks; 'mtagent points --group " + group + "' lists them");
            }
            for (ReplicatedDisk d : members) {
                points.put(d, seqs.get(d.id()));
            }
        }
        TestFailovers.Test test;
        try {
            test = tests.start(points, cap);
        } catch (IllegalStateException e) {
            HttpResponseStatus status = e.getMessage().contains("scratch volume") ? HttpResponseStatus.INSUFFICIENT_STORAGE
                    : HttpResponseStatus.CONFLICT;
            throw new Refusal(status, e.getMessage());
        } catch (IOException e) {
            throw new Refusal(HttpResponseStatus.INTERNAL_SERVER_ERROR, "cannot start the test failover: "
                    + e.getMessage());
        }
        Map<String, Object> m = document(test);
        m.put("end", "DELETE /v1/test-failover/" + test.id());
        return ApiResult.ok(m);
    }

    ApiResult list() {
        List<Map<String, Object>> list = new ArrayList<>();
        for (TestFailovers.Test t : tests.running()) {
            list.add(document(t));
        }
        return ApiResult.ok(Map.of("tests", list));
    }

    ApiResult end(String id) {
        TestFailovers.Test test;
        try {
            test = tests.end(id);
        } catch (IOException e) {
            throw new Refusal(HttpResponseStatus.INTERNAL_SERVER_ERROR, "test failover " + id + " ended, but"
                    + " recording it as tested failed: " + e.getMessage());
        }
        if (test == null) {
            throw new Refusal(HttpResponseStatus.NOT_FOUND, "no test failover '" + id + "' is running"
                    + " (running: " + String.join(", ", tests.running().stream().map(TestFailovers.Test::id).toList())
                    + ")");
        }
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", test.id());
        m.put("ended", true);
        m.put("testedAt", Instant.now().toString());
        List<Map<String, Object>> disks = new ArrayList<>();
        for (TestFailovers.Member member : test.members()) {
            disks.add(Map.of("disk", member.disk().id(), "seq", member.seq()));
        }
        m.put("disks", disks);
        return ApiResult.ok(m);
    }

    private Map<String, Object> document(TestFailovers.Test t) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", t.id());
        m.put("started", t.started().toString());
        m.put("scratchCapBytes", t.capBytes());
        List<Map<String, Object>> disks = new ArrayList<>();
        for (TestFailovers.Member member : t.members()) {
            Map<String, Object> d = new LinkedHashMap<>();
            d.put("disk", member.disk().id());
            d.put("seq", member.seq());
            d.put("time", RecoveryRequests.iso(PointCatalog.timestampOf(member.disk(), member.seq())));
            d.put("name", member.exportName());
            d.put("url", recovery.nbdUrl(member.exportName()));
            d.put("scratchFile", member.scratch().file().toString());
            d.put("scratchUsedBytes", member.scratch().usedBytes());
            d.put("connections", agent.nbdServer().readers(member.exportName()));
            disks.add(d);
        }
        m.put("disks", disks);
        return m;
    }

    /** For {@code POST /v1/recover}: a disk under test is refused (its test reads the target as it is). */
    void refuseUnderTest(ReplicatedDisk d) {
        TestFailovers.Test t = tests.of(d);
        if (t != null) {
            throw new Refusal(HttpResponseStatus.CONFLICT, "disk " + d.id() + " is under test failover "
                    + t.id() + ", which reads its target: end it first (mtagent test-failover --end " + t.id() + ")");
        }
    }
}
