package io.jvirt.stats;

import io.jvirt.vm.JobProgress;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A sample in libvirt's {@code domstats} names (docs/stats.md lists them): {@code cpu.time}, {@code vcpu.0.time},
 * {@code block.0.rd.bytes}, {@code net.0.tx.bytes}, {@code balloon.rss}, ... with libvirt's units (ns, bytes,
 * and KiB for balloon memory). A group that was not collected has no field at all; so under TCG there is no
 * {@code vm.*}.
 */
public final class DomStats {
    private DomStats() {
    }

    /** Every group the sample has. */
    public static Map<String, Object> fields(VmSample s) {
        return fields(s, s.groups());
    }

    /** The groups asked for (a cached sample may hold more); {@code state} always. */
    public static Map<String, Object> fields(VmSample sample, java.util.Set<StatsGroup> groups) {
        VmSample s = sample;
        java.util.function.Predicate<StatsGroup> in = groups::contains;
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("state.state", libvirtState(s.state()));
        m.put("state.name", s.state());
        if (s.reason() != null) {
            m.put("state.reason", s.reason());
        }
        if (s.cpu() != null && in.test(StatsGroup.CPU)) {
            m.put("cpu.time", s.cpu().timeNs());
            m.put("cpu.user", s.cpu().userNs());
            m.put("cpu.system", s.cpu().systemNs());
        }
        if (s.balloon() != null && in.test(StatsGroup.BALLOON)) {
            balloon(m, s.balloon());
        }
        if (s.vcpus() != null && in.test(StatsGroup.VCPU)) {
            m.put("vcpu.current", s.vcpus().size());
            m.put("vcpu.maximum", s.vcpuMaximum());
            for (VmSample.Vcpu v : s.vcpus()) {
                String p = "vcpu." + v.index() + ".";
                m.put(p + "state", 1);
                m.put(p + "time", v.timeNs());
                m.put(p + "delay", v.delayNs());
                if (s.kvm() != null && in.test(StatsGroup.VM)) {
                    s.kvm().vcpus().getOrDefault(v.index(), Map.of()).forEach((k, x) -> m.put(p + k + "." + x.suffix(), x.value()));
                }
            }
        }
        if (s.nets() != null && in.test(StatsGroup.INTERFACE)) {
            nets(m, s);
        }
        if (s.blocks() != null && in.test(StatsGroup.BLOCK)) {
            blocks(m, s);
        }
        if (s.iothreads() != null && in.test(StatsGroup.IOTHREAD)) {
            m.put("iothread.count", s.iothreads().size());
            for (VmSample.IoThread t : s.iothreads()) {
                String p = "iothread." + t.id() + ".";
                m.put(p + "poll-max-ns", t.pollMaxNs());
                m.put(p + "poll-grow", t.pollGrow());
                m.put(p + "poll-shrink", t.pollShrink());
            }
        }
        if (s.kvm() != null && in.test(StatsGroup.VM)) {
            s.kvm().vm().forEach((k, x) -> m.put("vm." + k + "." + x.suffix(), x.value()));
        }
        if (s.jobs() != null && in.test(StatsGroup.JOB)) {
            jobs(m, s);
        }
        return m;
    }

    /** libvirt's virDomainState numbers, for tools that read {@code state.state}. */
    static int libvirtState(String state) {
        return switch (state) {
            case "running", "starting" -> 1;
            case "paused" -> 3;
            case "shutting-down" -> 4;
            case "shutoff" -> 5;
            case "crashed" -> 6;
            default -> 0;
        };
    }

    private static void balloon(Map<String, Object> m, VmSample.Balloon b) {
        m.put("balloon.current", b.currentBytes() / 1024);
        m.put("balloon.maximum", b.maximumBytes() / 1024);
        Map<String, Long> g = b.guest();
        kib(m, "balloon.swap_in", g.get("stat-swap-in"));
        kib(m, "balloon.swap_out", g.get("stat-swap-out"));
        put(m, "balloon.major_fault", g.get("stat-major-faults"));
        put(m, "balloon.minor_fault", g.get("stat-minor-faults"));
        kib(m, "balloon.unused", g.get("stat-free-memory"));
        kib(m, "balloon.available", g.get("stat-total-memory"));
        kib(m, "balloon.usable", g.get("stat-available-memory"));
        kib(m, "balloon.disk_caches", g.get("stat-disk-caches"));
        put(m, "balloon.hugetlb_pgalloc", g.get("stat-htlb-pgalloc"));
        put(m, "balloon.hugetlb_pgfail", g.get("stat-htlb-pgfail"));
        if (b.lastUpdate() > 0) {
            m.put("balloon.last-update", b.lastUpdate());
        }
        if (b.rssBytes() >= 0) {
            m.put("balloon.rss", b.rssBytes() / 1024);
        }
    }

    private static void nets(Map<String, Object> m, VmSample s) {
        m.put("net.count", s.nets().size());
        int i = 0;
        for (VmSample.Net n : s.nets()) {
            String p = "net." + i++ + ".";
            m.put(p + "name", n.name());
            if (n.tap() != null) {
                m.put(p + "tap", n.tap());
            }
            VmSample.Counters c = n.counters();
            if (c != null) {
                m.put(p + "rx.bytes", c.rxBytes());
                m.put(p + "rx.pkts", c.rxPkts());
                m.put(p + "rx.errs", c.rxErrs());
                m.put(p + "rx.drop", c.rxDrop());
                m.put(p + "tx.bytes", c.txBytes());
                m.put(p + "tx.pkts", c.txPkts());
                m.put(p + "tx.errs", c.txErrs());
                m.put(p + "tx.drop", c.txDrop());
            }
        }
    }

    private static void blocks(Map<String, Object> m, VmSample s) {
        m.put("block.count", s.blocks().size());
        int i = 0;
        for (VmSample.Block b : s.blocks()) {
            String p = "block." + i++ + ".";
            m.put(p + "name", b.name());
            m.put(p + "path", b.path());
            m.put(p + "rd.reqs", b.rdReqs());
            m.put(p + "rd.bytes", b.rdBytes());
            m.put(p + "rd.times", b.rdTimeNs());
            m.put(p + "wr.reqs", b.wrReqs());
            m.put(p + "wr.bytes", b.wrBytes());
            m.put(p + "wr.times", b.wrTimeNs());
            m.put(p + "fl.reqs", b.flReqs());
            m.put(p + "fl.times", b.flTimeNs());
            m.put(p + "allocation", b.allocation());
            if (b.capacity() >= 0) {
                m.put(p + "capacity", b.capacity());
            }
            if (b.physical() >= 0) {
                m.put(p + "physical", b.physical());
            }
        }
    }

    private static void jobs(Map<String, Object> m, VmSample s) {
        m.put("job.count", s.jobs().size());
        int i = 0;
        for (JobProgress.Entry j : s.jobs()) {
            String p = "job." + i++ + ".";
            m.put(p + "kind", j.kind());
            m.put(p + "target", j.target());
            m.put(p + "id", j.job());
            m.put(p + "phase", j.phase());
            m.put(p + "active", j.active());
            m.put(p + "transferred", j.transferred());
            m.put(p + "remaining", j.remaining());
            m.put(p + "total", j.total());
            m.put(p + "rate", j.rate());
            if (j.outcome() != null) {
                m.put(p + "outcome", j.outcome());
            }
            m.put(p + "updated", j.updated().toString());
        }
    }

    private static void kib(Map<String, Object> m, String key, Long bytes) {
        if (bytes != null) {
            m.put(key, bytes / 1024);
        }
    }

    private static void put(Map<String, Object> m, String key, Long v) {
        if (v != null) {
            m.put(key, v);
        }
    }
}
