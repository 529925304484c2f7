package io.jvirt.stats;

import io.prometheus.metrics.model.snapshots.CounterSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot;
import io.prometheus.metrics.model.snapshots.Labels;
import io.prometheus.metrics.model.snapshots.MetricSnapshot;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Metric families assembled at scrape time (per-VM series come and go with the VMs, so they are built from the
 * samples rather than kept registered), as the Prometheus client's snapshots. A counter's name is given without
 * {@code _total}; the text writer adds it.
 */
final class Families {
    private final Map<String, Family> families = new LinkedHashMap<>();

    private static final class Family {
        final String help;
        final boolean counter;
        final CounterSnapshot.Builder counters = CounterSnapshot.builder();
        final GaugeSnapshot.Builder gauges = GaugeSnapshot.builder();

        Family(String name, String help, boolean counter) {
            this.help = help;
            this.counter = counter;
            counters.name(name).help(help);
            gauges.name(name).help(help);
        }
    }

    void gauge(String name, String help, double value, String... labels) {
        family(name, help, false).gauges.dataPoint(GaugeSnapshot.GaugeDataPointSnapshot.builder()
                .labels(Labels.of(labels)).value(value).build());
    }

    void counter(String name, String help, double value, String... labels) {
        family(name, help, true).counters.dataPoint(CounterSnapshot.CounterDataPointSnapshot.builder()
                .labels(Labels.of(labels)).value(value).build());
    }

    /** A family that may end up without data points (no VM has such a series): still listed, with its help. */
    void declare(String name, String help, boolean counter) {
        family(name, help, counter);
    }

    List<MetricSnapshot> build() {
        List<MetricSnapshot> out = new ArrayList<>();
        for (Family f : families.values()) {
            out.add(f.counter ? f.counters.build() : f.gauges.build());
        }
        return out;
    }

    private Family family(String name, String help, boolean counter) {
        Family f = families.computeIfAbsent(name, n -> new Family(n, help, counter));
        if (f.counter != counter) {
            throw new IllegalStateException(name + " is both a counter and a gauge");
        }
        return f;
    }
}
