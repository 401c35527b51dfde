package io.mtagent.agent;

import io.micrometer.core.instrument.Measurement;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.ArrayList;
import java.util.List;

/**
 * The suite's shared assertion on metrics: no sample is NaN (issue 23: an unknown value is an absent series or a
 * documented sentinel such as +Inf, never NaN, which no alert rule can compare). Every scrape of /metrics through
 * the tests' HTTP helper goes through {@link #assertNoNaN(String)}, and every agent {@link TestAgents} starts is
 * checked by {@link #assertNoNaN(MeterRegistry)} as it closes.
 */
public final class MetricSamples {
    private MetricSamples() {
    }

    /** Fails naming every sample of the Prometheus text exposition whose value is NaN. */
    public static void assertNoNaN(String exposition) {
        List<String> nan = new ArrayList<>();
        for (String line : exposition.split("\n")) {
            if (line.startsWith("#") || line.isBlank()) {
                continue;
            }
            String[] parts = line.trim().split(" ");
            // name{labels} value [timestamp]: labels hold no spaces in our exposition
            if (parts.length >= 2 && parts[1].equals("NaN")) {
                nan.add(line);
            }
        }
        if (!nan.isEmpty()) {
            throw new AssertionError("metric samples are NaN (an unknown value must be an absent series or a"
                    + " documented sentinel):\n  " + String.join("\n  ", nan));
        }
    }

    /** Fails naming every meter of {@code registry} that measures NaN now. */
    public static void assertNoNaN(MeterRegistry registry) {
        List<String> nan = new ArrayList<>();
        for (Meter m : registry.getMeters()) {
            for (Measurement x : m.measure()) {
                if (Double.isNaN(x.getValue())) {
                    nan.add(m.getId().getName() + m.getId().getTags() + " " + x.getStatistic());
                }
            }
        }
        if (!nan.isEmpty()) {
            throw new AssertionError("meters measure NaN (an unknown value must be an absent series or a documented"
                    + " sentinel):\n  " + String.join("\n  ", nan));
        }
    }
}
