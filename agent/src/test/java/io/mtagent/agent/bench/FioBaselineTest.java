package io.mtagent.agent.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The fio baseline does the agent's I/O: the logs written sequentially and buffered, the target read and written
 * at random with O_DIRECT, one job per stage and disk; and a real fio run moves every stage's bytes.
 */
class FioBaselineTest {
    @TempDir
    Path tmp;

    private BaselineSpec spec(boolean retention, long bytesPerDisk) {
        return new BaselineSpec(BenchProfile.RAND_64K, 2, 16 << 20, bytesPerDisk, retention, 4 << 20, 8 << 20,
                Duration.ofSeconds(30), tmp.resolve("baseline"), 7);
    }

    /** The job file's sections, name to body. */
    private static Map<String, String> sections(String jobFile) {
        Map<String, String> out = new LinkedHashMap<>();
        String name = null;
        StringBuilder body = new StringBuilder();
        for (String line : jobFile.split("\n")) {
            if (line.startsWith("[")) {
                if (name != null) {
                    out.put(name, body.toString());
                }
                name = line.substring(1, line.length() - 1);
                body.setLength(0);
            } else {
                body.append(line).append('\n');
            }
        }
        out.put(name, body.toString());
        return out;
    }

    @Test
    void theLogsAreBufferedSequentialWritesAndTheTargetIsDirect() {
        Map<String, String> jobs = sections(FioBaseline.jobFile(spec(true, 8 << 20)));
        assertThat(jobs.keySet()).containsExactly("global", "ingest-0", "target-0", "before-0", "journal-0",
                "ingest-1", "target-1", "before-1", "journal-1");
        for (String log : new String[] {"ingest-0", "journal-0", "ingest-1", "journal-1"}) {
            assertThat(jobs.get(log)).as(log).contains("rw=write\n").contains("fdatasync=").doesNotContain("direct=1");
        }
        for (String dev : new String[] {"target-0", "before-0", "target-1", "before-1"}) {
            assertThat(jobs.get(dev)).as(dev).contains("direct=1\n").contains(dev.startsWith("target") ? "rw=randwrite"
                    : "rw=randread");
        }
        assertThat(sections(FioBaseline.jobFile(spec(false, 8 << 20))).keySet())
                .containsExactly("global", "ingest-0", "target-0", "ingest-1", "target-1");
    }

    @Test
    void aRealFioRunMovesTheBytesOfEveryStage() throws Exception {
        String version = FioBaseline.version();
        if (version == null) {
            System.err.println("FioBaselineTest: SKIPPED the real fio run: fio is not installed"
                    + " (.ci/run installs it; apt-get install fio)");
        }
        Assumptions.assumeTrue(version != null, "fio is not installed");
        BaselineResult r = FioBaseline.run(spec(true, 4 << 20), version);
        // The slowest stage's bytes: every stage moved all 4 MiB of each of the 2 disks.
        assertThat(r.bytes()).isEqualTo(2L * (4 << 20));
        assertThat(r.mbPerSecond()).isPositive();
    }
}
