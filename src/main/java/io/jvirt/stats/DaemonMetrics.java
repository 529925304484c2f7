package io.jvirt.stats;

import io.jvirt.qemu.monitor.Monitor;
import io.jvirt.vm.LiveVm;
import io.jvirt.vm.VmManager;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.Gauge;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.util.HashMap;
import java.util.Map;

/**
 * The daemon's own metrics, kept in a Prometheus registry: API requests by method, route and status code with
 * latency histograms, operations by kind and outcome (and those running), jobs holding VMs' slots by kind, and the
 * round-trip time of every QMP command by command.
 */
public final class DaemonMetrics {
    private static final double[] LATENCY = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};
    private final PrometheusRegistry registry = new PrometheusRegistry();
    private final Histogram requests;
    private final Counter operations;
    private final Gauge operationsRunning;
    private final Histogram qmp;
    private final Gauge scrapeSeconds;

    DaemonMetrics(VmManager vms, String version) {
        requests = Histogram.builder().name("jvirt_api_request_duration_seconds")
                .help("API requests by method, route (path template) and status code, and how long they took")
                .labelNames("method", "route", "code").classicOnly().classicUpperBounds(LATENCY).register(registry);
        operations = Counter.builder().name("jvirt_operations").help("operations that ended, by kind and outcome")
                .labelNames("kind", "outcome").register(registry);
        operationsRunning = Gauge.builder().name("jvirt_operations_running").help("operations under way, by kind")
                .labelNames("kind").register(registry);
        qmp = Histogram.builder().name("jvirt_qmp_command_duration_seconds")
                .help("round trip of QMP commands to the VMs' QEMUs, by command and outcome")
                .labelNames("command", "outcome").classicOnly().classicUpperBounds(LATENCY).register(registry);
        scrapeSeconds = Gauge.builder().name("jvirt_stats_scrape_duration_seconds")
                .help("how long the previous /metrics scrape took to collect the VMs' samples").register(registry);
        GaugeWithCallback.builder().name("jvirt_jobs_running").help("jobs holding a VM's job slot, by kind")
                .labelNames("kind").callback(cb -> {
                    Map<String, Integer> byKind = new HashMap<>();
                    for (LiveVm v : vms.liveAll()) {
                        if (v.job() != null) {
                            byKind.merge(v.job(), 1, Integer::sum);
                        }
                    }
                    byKind.forEach((k, n) -> cb.call(n, k));
                }).register(registry);
        GaugeWithCallback.builder().name("jvirt_domains").help("VMs defined on this host").callback(cb -> cb.call(vms.count()))
                .register(registry);
        Gauge up = Gauge.builder().name("jvirt_up").help("1: jvirtd answers").labelNames("version").register(registry);
        up.labelValues(version).set(1);
    }

    /** Starts timing QMP commands of every monitor of this process. */
    void observeQmp() {
        Monitor.observeCommands((command, nanos, failed) ->
                qmp.labelValues(command, failed ? "error" : "ok").observe(nanos / 1e9));
    }

    public void request(String method, String route, int status, long nanos) {
        requests.labelValues(method, route, Integer.toString(status)).observe(nanos / 1e9);
    }

    public void operationStarted(String kind) {
        operationsRunning.labelValues(kind).inc();
    }

    public void operationEnded(String kind, String outcome) {
        operationsRunning.labelValues(kind).dec();
        operations.labelValues(kind, outcome).inc();
    }

    void scraped(long nanos) {
        scrapeSeconds.set(nanos / 1e9);
    }

    PrometheusRegistry registry() {
        return registry;
    }
}
