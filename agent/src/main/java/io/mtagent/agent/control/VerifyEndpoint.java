package io.mtagent.agent.control;

import com.fasterxml.jackson.databind.JsonNode;
import io.mtagent.agent.disk.ReplicatedDisk;
import io.netty.handler.codec.http.HttpResponseStatus;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** {@code POST /v1/verify}: a read-only verify job beside replication. Thread-safe. */
final class VerifyEndpoint {
    private final ControlledAgent agent;
    private final RecoveryRequests requests;

    VerifyEndpoint(ControlledAgent agent, RecoveryRequests requests) {
        this.agent = agent;
        this.requests = requests;
    }

    /**
     * {@code POST /v1/verify} {@code {"disk": ID}} (or no disk: every disk): a job that re-reads, beside
     * replication, every unapplied ingest-log record and every retention-journal record and reports the first
     * bad one per disk. Repair needs the agent stopped ({@code mtagent verify --repair}).
     */
    ApiResult verify(JsonNode body) {
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
        Jobs.Job job = requests.submit("verify", targets.stream().map(ReplicatedDisk::id).toList(), j -> {
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
        return new ApiResult(HttpResponseStatus.ACCEPTED, Map.of("job", job.id));
    }
}
