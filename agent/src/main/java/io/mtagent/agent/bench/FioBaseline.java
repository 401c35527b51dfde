package io.mtagent.agent.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.mtagent.agent.ingest.FileTrees;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The baseline with fio: the {@link BaselineSpec}'s streams as concurrent fio jobs per disk (psync engine, with
 * the agent's caching: the logs buffered, the target O_DIRECT as the agent opens targets): {@code ingest}
 * (sequential write, fdatasync every ingestSyncBytes), {@code target} (random write, O_DIRECT, fdatasync every
 * applyBatchBytes) and with retention {@code before} (random read of the target, O_DIRECT) and {@code journal}
 * (sequential write, fdatasync every applyBatchBytes). fio cannot chain the stages per write the way the agent does, so the jobs run side by side
 * on the same volume, each moving the same bytes; the rate is the bytes of the slowest stage over the wall time
 * of the slowest job. The mixed profile uses fio's bssplit with the same size mix (no hot region).
 */
public final class FioBaseline {
    private FioBaseline() {
    }

    /** The fio version string, or null when fio is not on the PATH. */
    public static String version() {
        try {
            Process p = new ProcessBuilder("fio", "--version").redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
            return p.waitFor(10, TimeUnit.SECONDS) && p.exitValue() == 0 ? out : null;
        } catch (IOException e) {
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        }
    }

    /** The job file for {@code spec} (public for the bench script and the tests). */
    public static String jobFile(BaselineSpec spec) {
        StringBuilder j = new StringBuilder();
        j.append("[global]\nioengine=psync\ndirect=0\nthread\ngroup_reporting=0\n");
        j.append("runtime=").append(Math.max(1, spec.timeCap().toSeconds())).append("\n");
        j.append("directory=").append(spec.dir()).append("\n");
        int avg;
        if (spec.profile().writeBytes() == 0) {
            j.append("bssplit=4k/27:8k/9:16k/9:32k/9:64k/18:128k/9:256k/10:1m/9\n");
            avg = 150 << 10;
        } else {
            j.append("bs=").append(spec.profile().writeBytes()).append("\n");
            avg = spec.profile().writeBytes();
        }
        j.append("randseed=").append(spec.seed()).append("\n");
        int ingestSync = Math.max(1, spec.ingestSyncBytes() / avg);
        int applySync = Math.max(1, spec.applyBatchBytes() / avg);
        String targetRw = spec.profile().random() ? "randwrite" : "write";
        String beforeRw = spec.profile().random() ? "randread" : "read";
        for (int d = 0; d < spec.disks(); d++) {
            job(j, "ingest", d, "write", "log-" + d, spec.bytesPerDisk(), spec.bytesPerDisk(), ingestSync, false);
            job(j, "target", d, targetRw, "target-" + d, spec.diskBytes(), spec.bytesPerDisk(), applySync, true);
            if (spec.retention()) {
                job(j, "before", d, beforeRw, "target-" + d, spec.diskBytes(), spec.bytesPerDisk(), 0, true);
                job(j, "journal", d, "write", "journal-" + d, spec.bytesPerDisk(), spec.bytesPerDisk(), applySync,
                        false);
            }
        }
        return j.toString();
    }

    private static void job(StringBuilder j, String kind, int disk, String rw, String file, long size, long io, int sync,
                            boolean direct) {
        j.append("\n[").append(kind).append('-').append(disk).append("]\n");
        if (direct) {
            j.append("direct=1\n");
        }
        j.append("rw=").append(rw).append("\nfilename=").append(file).append("\nsize=").append(size)
                .append("\nio_size=").append(io).append("\n");
        if (sync > 0) {
            j.append("fdatasync=").append(sync).append("\n");
        }
    }

    public static BaselineResult run(BaselineSpec spec, String version) throws Exception {
        Files.createDirectories(spec.dir());
        Path job = spec.dir().resolve("baseline.fio");
        Files.writeString(job, jobFile(spec));
        Process p = new ProcessBuilder("fio", "--output-format=json", job.toString())
                .redirectError(ProcessBuilder.Redirect.DISCARD).start();
        byte[] out = p.getInputStream().readAllBytes();
        if (!p.waitFor(spec.timeCap().toSeconds() + 120, TimeUnit.SECONDS) || p.exitValue() != 0) {
            p.destroyForcibly();
            throw new IOException("fio failed (exit " + (p.isAlive() ? "none" : p.exitValue()) + ") on " + job
                    + "; run it by hand to see why, or pass --baseline java");
        }
        String text = new String(out, StandardCharsets.UTF_8);
        int brace = text.indexOf('{'); // fio may print notes before the JSON document
        JsonNode root = new ObjectMapper().readTree(text.substring(Math.max(0, brace)));
        Map<String, Long> bytesByKind = new HashMap<>();
        double seconds = 0;
        double cpuSeconds = 0;
        for (JsonNode jn : root.path("jobs")) {
            // usr_cpu and sys_cpu are percentages of the job's own runtime (its thread's rusage)
            cpuSeconds += (jn.path("usr_cpu").asDouble() + jn.path("sys_cpu").asDouble()) / 100.0
                    * jn.path("job_runtime").asLong() / 1000.0;
            String name = jn.path("jobname").asText();
            String kind = name.substring(0, name.indexOf('-'));
            long bytes = jn.path("write").path("io_bytes").asLong() + jn.path("read").path("io_bytes").asLong();
            bytesByKind.merge(kind, bytes, Long::sum);
            seconds = Math.max(seconds, jn.path("job_runtime").asLong() / 1000.0);
        }
        long bytes = bytesByKind.values().stream().mapToLong(Long::longValue).min().orElse(0);
        try {
            FileTrees.deleteRecursively(spec.dir());
        } catch (IOException ignored) {
            // a leftover temp folder is not worth failing the run for
        }
        return new BaselineResult(version, seconds <= 0 ? 0 : bytes / 1e6 / seconds, seconds, bytes, spec.describe(),
                cpuSeconds);
    }
}
