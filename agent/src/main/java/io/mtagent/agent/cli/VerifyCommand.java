package io.mtagent.agent.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.mtagent.agent.config.AgentConfig;
import io.mtagent.agent.config.DiskConfig;
import io.mtagent.agent.ingest.IngestLog;
import io.mtagent.agent.ingest.IngestLogOptions;
import io.mtagent.agent.ingest.IngestLogRepair;
import io.mtagent.agent.journal.RetentionJournal;
import io.mtagent.agent.log.CorruptLogException;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code mtagent verify}: check (and with --repair, repair) the ingest logs while the agent is stopped. */
@Command(name = "verify", mixinStandardHelpOptions = true,
        description = {"Check every disk's ingest log and retention journal record by record (stop the agent first).",
            "A torn tail left by a power cut is repaired by a normal start; this command is for corruption",
            "inside the log, which the agent refuses to start on. With --repair the damaged segment is moved aside",
            "(<name>.broken), everything before the bad record is kept, and writes after it must be re-sent by the",
            "process server (it resumes from the agent's durable point) or the disk resynced. Copy the cache",
            "directory first if you may need the damaged data."})
final class VerifyCommand implements Callable<Integer> {
    @Mixin
    ConfigOptions configOptions;

    @Option(names = "--repair", description = "Repair corrupt ingest logs and journals (see above; agent stopped).")
    boolean repair;

    @Option(names = "--offline", description = "Do not ask a running agent; check the files here (agent stopped).")
    boolean offline;

    @Option(names = "--disk", paramLabel = "ID", description = "Only this disk (through a running agent).")
    String disk;

    @Mixin
    JsonOutput output;

    /** The offline result, in the shape of the running agent's verify job ({@code disks}, {@code ok}, {@code fix}). */
    private final List<Map<String, Object>> offlineDisks = new ArrayList<>();

    /** @return 1 if the disk's journal is corrupt and was not repaired */
    private int verifyJournal(AgentConfig config, DiskConfig d, Map<String, Object> report) throws IOException {
        Path jdir = config.retentionDir().get().resolve(d.name());
        try (var journal = RetentionJournal.open(jdir, config.retentionSegmentBytes())) {
            // Open checks the unsynced tail; sealed segments are trusted to their index there, so read them all.
            String damage = journal.verifyOnline(n -> { });
            if (damage != null) {
                throw new CorruptLogException(jdir, 0, damage);
            }
            output.text().printf("%s: retention journal OK (journaled up to seq %d, earliest recoverable seq %d)%n",
                    d.id(), journal.lastSeq(), journal.earliestSeq());
            report.put("retentionJournal", "ok");
            report.put("journaledSeq", journal.lastSeq());
            report.put("earliestSeq", journal.earliestSeq());
            return 0;
        } catch (CorruptLogException e) {
            output.text().printf("%s: retention journal CORRUPT: %s%n", d.id(), e.getMessage());
            report.put("retentionJournal", e.getMessage());
            if (!repair) {
                return 1;
            }
            long applied;
            try (IngestLog log = IngestLog.open(config.cacheDir().resolve(d.name()), d.name(),
                    IngestLogOptions.builder().segmentBytes(config.ingestSegmentBytes()).build())) {
                applied = log.appliedSeq();
            }
            Path aside = RetentionJournal.resetAfterDamage(jdir, applied);
            output.text().printf("%s: the damaged journal was moved to %s; a new journal starts at seq %d. Recovery"
                    + " points before it are lost (a partial journal cannot rebuild older points correctly).%n",
                    d.id(), aside, applied);
            report.put("retentionJournalRepaired", aside.toString());
            return 0;
        }
    }

    @Override
    public Integer call() throws Exception {
        AgentConfig config = configOptions.load();
        if (!repair && !offline) {
            try {
                return throughAgent(new ControlClient(config));
            } catch (ControlClient.Unreachable e) {
                output.text().println("no agent answers (" + e.getMessage() + "); verifying the files offline");
            }
        }
        return offlineVerify(config);
    }

    /** While the agent runs: a read-only verify job beside replication (repair needs the agent stopped). */
    private int throughAgent(ControlClient client) throws InterruptedException {
        ControlClient.Response r = client.post("v1/verify", disk == null ? Map.of() : Map.of("disk", disk));
        if (r.status() != 202) {
            System.err.println("mtagent: " + r.error());
            return 2;
        }
        JsonNode end = JobWatcher.await(client, r.body().path("job").asText(), output.text());
        if (!end.path("state").asText().equals("done")) {
            System.err.println("mtagent: verify failed: " + end.path("error").asText());
            return 2;
        }
        JsonNode res = end.path("result");
        output.document(res);
        for (JsonNode d : res.path("disks")) {
            output.text().printf("%s: ingest log %s%s%n", d.path("disk").asText(), d.path("ingestLog").asText(),
                    d.has("retentionJournal") ? "; retention journal " + d.path("retentionJournal").asText() : "");
        }
        if (!res.path("ok").asBoolean()) {
            output.text().println(res.path("fix").asText());
            return 1;
        }
        return 0;
    }

    private int offlineVerify(AgentConfig config) throws Exception {
        int bad = 0;
        int badJournals = 0;
        for (DiskConfig d : config.disks()) {
            Map<String, Object> report = new LinkedHashMap<>();
            report.put("disk", d.id());
            offlineDisks.add(report);
            Path dir = config.cacheDir().resolve(d.name());
            IngestLog.forgetCleanShutdown(dir); // verify reads every record, even after a clean shutdown
            try (IngestLog log = IngestLog.open(dir, d.name(), IngestLogOptions.builder()
                    .segmentBytes(config.ingestSegmentBytes()).build())) {
                output.text().printf("%s: ingest log OK (durable seq %d, applied seq %d, %d bytes not yet applied)%n",
                        d.id(), log.lastDurableSeq(), log.appliedSeq(), log.backlogBytes());
                report.put("ingestLog", "ok");
                report.put("durableSeq", log.lastDurableSeq());
                report.put("appliedSeq", log.appliedSeq());
                report.put("backlogBytes", log.backlogBytes());
            } catch (CorruptLogException e) {
                bad++;
                output.text().printf("%s: CORRUPT: %s%n", d.id(), e.getMessage());
                report.put("ingestLog", e.getMessage());
                if (repair) {
                    IngestLogRepair.repair(dir);
                    output.text().printf("%s: repaired; damaged segment kept as *.broken in %s%n", d.id(), dir);
                    report.put("ingestLogRepaired", dir.toString());
                    bad--;
                }
            }
            if (config.retentionDir().isPresent()) {
                badJournals += verifyJournal(config, d, report);
            }
        }
        String fix = null;
        if (badJournals > 0) {
            fix = badJournals + " disk(s) with a corrupt retention journal; 'mtagent verify --repair' sets"
                    + " it aside and starts a new one (recovery points before now are lost)";
        } else if (bad > 0) {
            fix = bad + " disk(s) with a corrupt ingest log; run 'mtagent verify --repair' after copying "
                    + config.cacheDir();
        }
        Map<String, Object> document = new LinkedHashMap<>();
        document.put("disks", offlineDisks);
        document.put("ok", fix == null);
        if (fix != null) {
            document.put("fix", fix);
            output.text().println(fix);
        }
        output.document(document);
        return fix == null ? 0 : 1;
    }
}
