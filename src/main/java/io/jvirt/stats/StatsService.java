package io.jvirt.stats;

import io.jvirt.error.ErrorCode;
import io.jvirt.error.JvirtException;
import io.jvirt.vm.LiveVm;
import io.jvirt.vm.VmManager;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.model.snapshots.MetricSnapshot;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Statistics of the VMs, the entry point the API uses: one VM's or all VMs' samples in libvirt's domstats names
 * ({@link DomStats}), and the Prometheus text exposition of {@code /metrics} ({@link DomainMetrics} for the VMs,
 * {@link DaemonMetrics} for the daemon itself). Sources ({@link QemuCounters}, {@link HostCounters}), collection
 * ({@link StatsCollector}, {@link SampleCache}) and views are classes of their own. Nothing here takes a VM's job
 * slot: a VM that is copying a disk or migrating answers like any other.
 */
public final class StatsService {
    /** A {@code /metrics} sample may be this old (Prometheus scrapes every 15 s or more). */
    public static final Duration SCRAPE_MAX_AGE = Duration.ofSeconds(2);
    /** The most a caller waits for the VMs' samples; slower VMs are served stale or left out. */
    static final Duration BUDGET = Duration.ofSeconds(2);
    public static final String METRICS_CONTENT_TYPE = PrometheusTextFormatWriter.CONTENT_TYPE;

    private final VmManager vms;
    private final SampleCache cache;
    private final DaemonMetrics daemon;
    private final PrometheusTextFormatWriter writer = PrometheusTextFormatWriter.create();

    public StatsService(VmManager vms, String version) {
        this.vms = vms;
        this.cache = new SampleCache(new StatsCollector(vms));
        this.daemon = new DaemonMetrics(vms, version);
        daemon.observeQmp();
    }

    public DaemonMetrics daemon() {
        return daemon;
    }

    /** One VM's statistics ({@code groups}; all when empty), no older than {@code maxAge}. */
    public Map<String, Object> vm(String name, Set<StatsGroup> groups, Duration maxAge) {
        SampleCache.Result r = cache.samples(List.of(vms.live(name)), groups, maxAge, BUDGET);
        if (r.samples().isEmpty()) {
            throw new JvirtException(ErrorCode.TIMEOUT, "the statistics of VM '" + name + "' could not be collected within "
                    + BUDGET.toSeconds() + " s (its QEMU monitor does not answer)", Map.of("vm", name));
        }
        return view(r.samples().get(0), groups, r.stale().contains(name));
    }

    /** The statistics of {@code names} (all VMs when empty), collected in parallel. */
    public Map<String, Object> all(List<String> names, Set<StatsGroup> groups, Duration maxAge) {
        long t0 = System.nanoTime();
        List<LiveVm> live = names.isEmpty() ? vms.liveAll() : names.stream().map(vms::live).toList();
        SampleCache.Result r = cache.samples(live, groups, maxAge, BUDGET);
        List<Object> out = new ArrayList<>();
        for (VmSample s : r.samples()) {
            out.add(view(s, groups, r.stale().contains(s.vm())));
        }
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("vms", out);
        if (!r.missing().isEmpty()) {
            m.put("missing", r.missing());
        }
        m.put("millis", (System.nanoTime() - t0) / 1_000_000);
        return m;
    }

    /** {@code /metrics}: every VM's series and the daemon's, in the Prometheus text format. */
    public byte[] scrape(Duration maxAge) {
        long t0 = System.nanoTime();
        List<LiveVm> live = vms.liveAll();
        cache.retain(live.stream().map(LiveVm::name).collect(Collectors.toSet()));
        SampleCache.Result r = cache.samples(live, java.util.EnumSet.allOf(StatsGroup.class), maxAge, BUDGET);
        Map<String, String> uuids = new HashMap<>();
        live.forEach(v -> uuids.put(v.name(), v.definition().uuid()));
        Families f = new Families();
        DomainMetrics.add(f, r.samples(), r.stale(), uuids);
        f.gauge("jvirt_stats_domains_missing", "VMs left out of this scrape (no sample within the budget)", r.missing().size());
        daemon.scraped(System.nanoTime() - t0);
        List<MetricSnapshot> all = new ArrayList<>(f.build());
        daemon.registry().scrape().forEach(all::add);
        ByteArrayOutputStream out = new ByteArrayOutputStream(16384);
        try {
            writer.write(out, new MetricSnapshots(all));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    private static Map<String, Object> view(VmSample s, Set<StatsGroup> groups, boolean stale) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("vm", s.vm());
        m.put("time", s.at().toString());
        m.put("stale", stale);
        m.put("groups", s.groups().stream().filter(g -> g == StatsGroup.STATE || groups.contains(g)).map(StatsGroup::wire).toList());
        m.put("stats", DomStats.fields(s, groups));
        if (!s.errors().isEmpty()) {
            m.put("errors", s.errors());
        }
        return m;
    }
}
