package io.mtagent.agent.control;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.MultiGauge;
import io.micrometer.core.instrument.Tags;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;

/**
 * A gauge whose label sets come and go (one series per disk, per state, ...), read live at every scrape and never
 * NaN: a series exists only while its value is known. {@link #refresh} (once a second, and once before the
 * control server answers its first scrape) sets which series exist; between refreshes a series whose value
 * became unknown keeps its last known value until the next refresh drops it.
 *
 * <p>Thread-safe: refreshes come from one thread; reads from scrapes.
 */
final class GaugeFamily {
    /** A series' live value: a number, or null while unknown (then the series is absent). */
    @FunctionalInterface
    interface Value extends Supplier<Double> {
    }

    /** Reads the value and remembers the last known one. */
    private static final class LastKnown {
        private volatile Value value;
        private volatile double last;

        LastKnown(Value value, double first) {
            this.value = value;
            this.last = first;
        }

        double read() {
            Double v;
            try {
                v = value.get();
            } catch (RuntimeException e) {
                v = null; // a disk closing under the scrape: keep the last value until the next refresh
            }
            if (v != null && !v.isNaN()) {
                last = v;
            }
            return last;
        }
    }

    private final MultiGauge gauge;
    private final Map<Tags, LastKnown> series = new ConcurrentHashMap<>();

    GaugeFamily(MeterRegistry registry, String name, String baseUnit, String description) {
        this.gauge = MultiGauge.builder(name).baseUnit(baseUnit).description(description).register(registry);
    }

    /** Sets the series to those of {@code candidates} whose value is known now. */
    void refresh(Map<Tags, Value> candidates) {
        List<MultiGauge.Row<?>> rows = new ArrayList<>();
        Set<Tags> kept = new HashSet<>();
        for (Map.Entry<Tags, Value> c : candidates.entrySet()) {
            Double now;
            try {
                now = c.getValue().get();
            } catch (RuntimeException e) {
                now = null;
            }
            if (now == null || now.isNaN()) {
                continue;
            }
            double first = now;
            LastKnown holder = series.computeIfAbsent(c.getKey(), t -> new LastKnown(c.getValue(), first));
            holder.value = c.getValue();
            rows.add(MultiGauge.Row.of(c.getKey(), holder, LastKnown::read));
            kept.add(c.getKey());
        }
        series.keySet().retainAll(kept);
        gauge.register(rows, false); // false: a series that stays keeps its meter (and holder); the others go
    }
}
