package io.mtagent.agent.send;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The end of a run: each disk's report (or its error), the group point and the app-consistent tag when they were
 * made, the exit code; printed as lines for people or as one JSON object ({@code --json}).
 *
 * @param reports the disks that finished, in command-line order
 * @param errors one line per disk that failed (disk id first)
 * @param groupPoint the group tag's name, null when none was made
 * @param appTag the app-consistent tag's name, null when none was made
 * @param seconds the run's wall time
 * @param exitCode 0 every point consistent, 1 a point not consistent (no group point), 2 an error
 */
public record SendSummary(List<DiskReport> reports, List<String> errors, String groupPoint, String appTag,
                          int groupDisks, double seconds, int exitCode) {

    public void printText(PrintStream out) {
        for (DiskReport r : reports) {
            String what = switch (r.mode()) {
                case "bitmap" -> "dirty " + size(r.dirtyBytes());
                case "baseline" -> "allocated " + size(r.dirtyBytes());
                default -> "compared " + size(r.examinedBytes()) + ", differing " + size(r.dirtyBytes());
            };
            out.printf(Locale.ROOT, "%s [%s] %s of %s; sent %s (%s on the wire), checksums %s; %.1f s, %.1f MB/s%n",
                    r.disk(), r.mode(), what, size(r.sizeBytes()), size(r.bytesSent()), size(r.wireBytes()),
                    size(r.checksumBytes()), r.seconds(), r.bytesPerSecond() / 1e6);
            if (r.why() != null) {
                out.println("  note: " + r.why());
            }
            if (r.consistent()) {
                out.printf("  recovery point '%s' at seq %d%n", r.endName(), r.endSeq());
            } else {
                out.printf("  NOT CONSISTENT: end marker '%s' (seq %d) is not a recovery point%n", r.endName(),
                        r.endSeq());
            }
        }
        for (String e : errors) {
            out.println("FAILED: " + e);
        }
        long sent = reports.stream().mapToLong(DiskReport::bytesSent).sum();
        long wire = reports.stream().mapToLong(DiskReport::wireBytes).sum();
        out.printf(Locale.ROOT, "total: %d disk(s), sent %s (%s on the wire) in %.1f s%n", reports.size(), size(sent),
                size(wire), seconds);
        if (groupPoint != null) {
            out.printf("group point '%s' on %d disk(s): 'mtagent points --group G' lists it once these disks are"
                    + " exactly the members of replication group G%n", groupPoint, groupDisks);
        } else if (groupDisks > 0) {
            out.println("no group point: not every disk ended consistent");
        }
        if (appTag != null) {
            out.printf("app-consistent tag '%s' on %d disk(s)%n", appTag, reports.size());
        }
    }

    public String json() {
        Map<String, Object> m = new LinkedHashMap<>();
        List<Map<String, Object>> disks = new ArrayList<>();
        for (DiskReport r : reports) {
            Map<String, Object> d = new LinkedHashMap<>();
            d.put("disk", r.disk());
            d.put("source", r.source());
            d.put("mode", r.mode());
            d.put("note", r.why());
            d.put("sizeBytes", r.sizeBytes());
            d.put("examinedBytes", r.examinedBytes());
            d.put("dirtyBytes", r.dirtyBytes());
            d.put("sentBytes", r.bytesSent());
            d.put("wireBytes", r.wireBytes());
            d.put("checksumBytes", r.checksumBytes());
            d.put("seconds", r.seconds());
            d.put("bytesPerSecond", r.bytesPerSecond());
            d.put("consistent", r.consistent());
            d.put("point", r.consistent() ? r.endName() : null);
            d.put("endSeq", r.endSeq());
            disks.add(d);
        }
        m.put("disks", disks);
        m.put("errors", errors);
        m.put("groupPoint", groupPoint);
        m.put("appTag", appTag);
        m.put("sentBytes", reports.stream().mapToLong(DiskReport::bytesSent).sum());
        m.put("wireBytes", reports.stream().mapToLong(DiskReport::wireBytes).sum());
        m.put("seconds", seconds);
        m.put("exitCode", exitCode);
        try {
            return new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(m);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Bytes as B, KiB, MiB, GiB with one decimal. */
    public static String size(long bytes) {
        if (bytes < 1024) {
            return bytes + " B";
        }
        String[] units = {"KiB", "MiB", "GiB", "TiB"};
        double v = bytes;
        int u = -1;
        while (v >= 1024 && u < units.length - 1) {
            v /= 1024;
            u++;
        }
        return String.format(Locale.ROOT, "%.1f %s", v, units[u]);
    }
}
