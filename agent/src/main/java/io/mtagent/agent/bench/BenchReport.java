package io.mtagent.agent.bench;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.PrintStream;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The summary of one bench run, as a JSON document ({@code --json}) and as a short text for people. Field
 * names and units are part of the interface (scripts read them): MB is 10^6 bytes, latencies in milliseconds,
 * unknown figures are null.
 *
 * <pre>
 * { "profile", "disks", "connections", "window", "compressibility", "seconds", "rateLimitMBps", "retention",
 *   "received": { "bytes", "writes", "tags", "MBps", "writesPerSecond", "seconds" },
 *   "applied":  { "MBps", "writesPerSecond", "seconds" } | null,
 *   "ackLatencyMs": { "p50", "p99", "p999", "max", "samples" },
 *   "perDiskMBps": { "min", "median", "max", "minOverMedian" },
 *   "allAcked", "unacked",
 *   "agent": { "pid", "cpuSeconds", "cpuSecondsPerGB", "peakRssMiB", "includesLoadGenerator" } | null,
 *   "loadGenerator": { "cpuSeconds", "cpuSecondsPerGB" } | null,
 *   "baseline": { "tool", "MBps", "seconds", "bytes", "pattern", "cpuSeconds", "cpuSecondsPerGB", "runsMBps" }
 *               | null,   (the fastest of the runs, whose MB/s are all in "runsMBps"; the ratios use the fastest)
 *   "ratio": { "receivedOverBaseline", "appliedOverBaseline" } | null }
 * </pre>
 */
public final class BenchReport {
    private final Map<String, Object> doc = new LinkedHashMap<>();

    /** CPU and memory of the agent process over the run. */
    public record AgentUsage(long pid, double cpuSeconds, long peakRssBytes, boolean includesLoadGenerator) {
    }

    /**
     * @param baseline the fastest baseline run, or null
     * @param baselineRunsMBps every baseline run's MB/s, in the order they ran
     * @param loadGeneratorCpuSeconds CPU seconds the bench process itself used while measuring (NaN if unknown)
     */
    public BenchReport(LoadOptions o, int disks, Boolean retention, LoadRunner.Result r, AgentUsage usage,
                       BaselineResult baseline, List<Double> baselineRunsMBps, double loadGeneratorCpuSeconds) {
        doc.put("profile", o.profile().label());
        doc.put("disks", disks);
        doc.put("connections", o.connections());
        doc.put("window", o.window());
        doc.put("compressibility", o.compressibility());
        doc.put("seconds", o.duration().toMillis() / 1000.0);
        doc.put("rateLimitMBps", o.rateMbPerSecond() > 0 ? o.rateMbPerSecond() : null);
        doc.put("retention", retention);
        Map<String, Object> rec = new LinkedHashMap<>();
        rec.put("bytes", r.bytes());
        rec.put("writes", r.writes());
        rec.put("tags", r.tags());
        rec.put("MBps", round(r.bytes() / 1e6 / r.ackedSeconds()));
        rec.put("writesPerSecond", round(r.writes() / r.ackedSeconds()));
        rec.put("seconds", round(r.ackedSeconds()));
        doc.put("received", rec);
        if (Double.isNaN(r.appliedSeconds())) {
            doc.put("applied", null);
        } else {
            Map<String, Object> app = new LinkedHashMap<>();
            app.put("MBps", round(r.bytes() / 1e6 / r.appliedSeconds()));
            app.put("writesPerSecond", round(r.writes() / r.appliedSeconds()));
            app.put("seconds", round(r.appliedSeconds()));
            doc.put("applied", app);
        }
        Map<String, Object> lat = new LinkedHashMap<>();
        lat.put("p50", ms(r.latency().percentile(0.50)));
        lat.put("p99", ms(r.latency().percentile(0.99)));
        lat.put("p999", ms(r.latency().percentile(0.999)));
        lat.put("max", ms(r.latency().max()));
        lat.put("samples", r.latency().count());
        doc.put("ackLatencyMs", lat);
        double[] pd = r.perDiskMbPerSecond();
        Map<String, Object> per = new LinkedHashMap<>();
        double median = pd.length == 0 ? 0 : pd[pd.length / 2];
        per.put("min", pd.length == 0 ? null : round(pd[0]));
        per.put("median", round(median));
        per.put("max", pd.length == 0 ? null : round(pd[pd.length - 1]));
        per.put("minOverMedian", median > 0 ? round(pd[0] / median) : null);
        doc.put("perDiskMBps", per);
        doc.put("allAcked", r.allAcked() && r.unacked() == 0);
        doc.put("unacked", r.unacked());
        if (usage == null) {
            doc.put("agent", null);
        } else {
            Map<String, Object> a = new LinkedHashMap<>();
            a.put("pid", usage.pid());
            a.put("cpuSeconds", round(usage.cpuSeconds()));
            a.put("cpuSecondsPerGB", r.bytes() > 0 ? round(usage.cpuSeconds() / (r.bytes() / 1e9)) : null);
            a.put("peakRssMiB", usage.peakRssBytes() < 0 ? null : round(usage.peakRssBytes() / 1048576.0));
            a.put("includesLoadGenerator", usage.includesLoadGenerator());
            doc.put("agent", a);
        }
        if (Double.isNaN(loadGeneratorCpuSeconds)) {
            doc.put("loadGenerator", null);
        } else {
            Map<String, Object> g = new LinkedHashMap<>();
            g.put("cpuSeconds", round(loadGeneratorCpuSeconds));
            g.put("cpuSecondsPerGB", r.bytes() > 0 ? round(loadGeneratorCpuSeconds / (r.bytes() / 1e9)) : null);
            doc.put("loadGenerator", g);
        }
        if (baseline == null) {
            doc.put("baseline", null);
            doc.put("ratio", null);
        } else {
            Map<String, Object> b = new LinkedHashMap<>();
            b.put("tool", baseline.tool());
            b.put("MBps", round(baseline.mbPerSecond()));
            b.put("seconds", round(baseline.seconds()));
            b.put("bytes", baseline.bytes());
            b.put("pattern", baseline.pattern());
            boolean cpuKnown = !Double.isNaN(baseline.cpuSeconds()) && baseline.bytes() > 0;
            b.put("cpuSeconds", cpuKnown ? round(baseline.cpuSeconds()) : null);
            b.put("cpuSecondsPerGB", cpuKnown ? round(baseline.cpuSeconds() / (baseline.bytes() / 1e9)) : null);
            b.put("runsMBps", baselineRunsMBps.stream().map(BenchReport::round).toList());
            doc.put("baseline", b);
            Map<String, Object> ratio = new LinkedHashMap<>();
            double rec2 = r.bytes() / 1e6 / r.ackedSeconds();
            ratio.put("receivedOverBaseline", baseline.mbPerSecond() > 0 ? round(rec2 / baseline.mbPerSecond()) : null);
            ratio.put("appliedOverBaseline", baseline.mbPerSecond() > 0 && !Double.isNaN(r.appliedSeconds())
                    ? round(r.bytes() / 1e6 / r.appliedSeconds() / baseline.mbPerSecond()) : null);
            doc.put("ratio", ratio);
        }
    }

    public Map<String, Object> document() {
        return doc;
    }

    public String json() {
        try {
            return new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(doc);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot render the summary", e);
        }
    }

    @SuppressWarnings("unchecked")
    public void printText(PrintStream out) {
        Map<String, Object> rec = (Map<String, Object>) doc.get("received");
        Map<String, Object> app = (Map<String, Object>) doc.get("applied");
        Map<String, Object> lat = (Map<String, Object>) doc.get("ackLatencyMs");
        Map<String, Object> per = (Map<String, Object>) doc.get("perDiskMBps");
        Map<String, Object> agent = (Map<String, Object>) doc.get("agent");
        Map<String, Object> base = (Map<String, Object>) doc.get("baseline");
        Map<String, Object> ratio = (Map<String, Object>) doc.get("ratio");
        out.printf("profile %s, %s disk(s), %s connection(s), window %s, compressibility %s, retention %s%n",
                doc.get("profile"), doc.get("disks"), doc.get("connections"), doc.get("window"),
                doc.get("compressibility"), doc.get("retention") == null ? "unknown" : doc.get("retention"));
        out.printf("received (acked, durable): %s MB/s, %s writes/s (%s writes, %s tags in %s s)%n", rec.get("MBps"),
                rec.get("writesPerSecond"), rec.get("writes"), rec.get("tags"), rec.get("seconds"));
        out.println(app == null ? "applied: unknown (give the agent's --config for its control API)"
                : String.format("applied (on the targets): %s MB/s, %s writes/s (done at %s s)", app.get("MBps"),
                app.get("writesPerSecond"), app.get("seconds")));
        out.printf("ack latency: p50 %s ms, p99 %s ms, p99.9 %s ms, max %s ms (%s samples)%n", lat.get("p50"),
                lat.get("p99"), lat.get("p999"), lat.get("max"), lat.get("samples"));
        out.printf("per disk: min %s, median %s, max %s MB/s; every write acknowledged: %s%n", per.get("min"),
                per.get("median"), per.get("max"), doc.get("allAcked"));
        out.println(agent == null ? "agent CPU and memory: unknown (pass --agent-pid, or use --spawn)"
                : String.format("agent pid %s: %s CPU s (%s CPU s per GB), peak RSS %s MiB%s", agent.get("pid"),
                agent.get("cpuSeconds"), agent.get("cpuSecondsPerGB"), agent.get("peakRssMiB"),
                Boolean.TRUE.equals(agent.get("includesLoadGenerator")) ? " (includes the load generator)" : ""));
        @SuppressWarnings("unchecked")
        Map<String, Object> gen = (Map<String, Object>) doc.get("loadGenerator");
        if (gen != null) {
            out.printf("load generator (this process, same machine): %s CPU s (%s CPU s per GB)%n", gen.get("cpuSeconds"),
                    gen.get("cpuSecondsPerGB"));
        }
        if (base != null) {
            out.printf("baseline %s: %s MB/s (the fastest of %s MB/s), %s CPU-s per GB (%s)%n", base.get("tool"),
                    base.get("MBps"), base.get("runsMBps"),
                    base.get("cpuSecondsPerGB") == null ? "unknown" : base.get("cpuSecondsPerGB"), base.get("pattern"));
            out.printf("ratio agent/baseline: received %s, applied %s%n", ratio.get("receivedOverBaseline"),
                    ratio.get("appliedOverBaseline"));
        }
    }

    private static double ms(long nanos) {
        return round(nanos / 1e6);
    }

    private static double round(double v) {
        return Double.isFinite(v) ? Math.round(v * 1000) / 1000.0 : 0;
    }
}
