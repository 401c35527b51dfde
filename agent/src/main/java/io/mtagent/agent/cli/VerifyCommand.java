package io.mtagent.agent.cli;

import io.mtagent.agent.config.AgentConfig;
import io.mtagent.agent.config.DiskConfig;
import io.mtagent.agent.storage.CorruptLogException;
import io.mtagent.agent.storage.IngestLog;
import io.mtagent.agent.storage.IngestLogOptions;
import io.mtagent.agent.storage.IngestLogRepair;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code mtagent verify}: check (and with --repair, repair) the ingest logs while the agent is stopped. */
@Command(name = "verify", mixinStandardHelpOptions = true,
        description = {"Check every disk's ingest log record by record (stop the agent first).",
            "A torn tail left by a power cut is repaired by a normal start; this command is for corruption",
            "inside the log, which the agent refuses to start on. With --repair the damaged segment is moved aside",
            "(<name>.broken), everything before the bad record is kept, and writes after it must be re-sent by the",
            "process server (it resumes from the agent's durable point) or the disk resynced. Copy the cache",
            "directory first if you may need the damaged data."})
final class VerifyCommand implements Callable<Integer> {
    @Mixin
    ConfigOptions configOptions;

    @Option(names = "--repair", description = "Repair corrupt ingest logs (see above).")
    boolean repair;

    @Override
    public Integer call() throws Exception {
        AgentConfig config = configOptions.load();
        int bad = 0;
        for (DiskConfig d : config.disks()) {
            Path dir = config.cacheDir().resolve(d.name());
            IngestLog.forgetCleanShutdown(dir); // verify reads every record, even after a clean shutdown
            try (IngestLog log = IngestLog.open(dir, d.name(), IngestLogOptions.builder()
                    .segmentBytes(config.ingestSegmentBytes()).build())) {
                System.out.printf("%s: ingest log OK (durable seq %d, applied seq %d, %d bytes not yet applied)%n",
                        d.id(), log.lastDurableSeq(), log.appliedSeq(), log.backlogBytes());
            } catch (CorruptLogException e) {
                bad++;
                System.out.printf("%s: CORRUPT: %s%n", d.id(), e.getMessage());
                if (repair) {
                    IngestLogRepair.repair(dir);
                    System.out.printf("%s: repaired; damaged segment kept as *.broken in %s%n", d.id(), dir);
                    bad--;
                }
            }
        }
        if (bad > 0) {
            System.out.println(bad + " disk(s) with a corrupt ingest log; run 'mtagent verify --repair' after copying "
                    + config.cacheDir());
            return 1;
        }
        return 0;
    }
}
