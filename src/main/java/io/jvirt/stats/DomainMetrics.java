package io.jvirt.stats;

import io.jvirt.vm.JobProgress;
import java.util.List;
import java.util.Map;

/**
 * The per-VM series of {@code /metrics}, with the names users already graph from the libvirt exporters under a
 * {@code jvirt_} prefix ({@code jvirt_domain_info_*}, {@code jvirt_domain_block_stats_*_total},
 * {@code jvirt_domain_interface_stats_*_total}, {@code jvirt_domain_memory_stats_*}; labels {@code domain},
 * {@code target_device}, {@code source_file}), plus vCPU times, KVM's own counters (under KVM only), and the
 * progress of jobs, ended ones kept for a while ({@code JobProgress}).
 */
final class DomainMetrics {
    private static final double NS = 1e-9;

    private DomainMetrics() {
    }

    static void add(Families f, List<VmSample> samples, List<String> stale, Map<String, String> uuids) {
        declare(f);
        for (VmSample s : samples) {
            String d = s.vm();
            f.gauge("jvirt_domain_info_vstate", "VM state as libvirt numbers it (1 running, 3 paused, 5 shut off, 6 crashed)",
                    DomStats.libvirtState(s.state()), "domain", d);
            f.gauge("jvirt_domain_info_meta", "1 per VM, with its uuid and jvirt state as labels", 1, "domain", d,
                    "uuid", uuids.getOrDefault(d, ""), "state", s.state());
            f.gauge("jvirt_domain_scrape_stale", "1 if this VM's sample is an older one (its collection took too long)",
                    stale.contains(d) ? 1 : 0, "domain", d);
            if (s.vcpuMaximum() != null) {
                f.gauge("jvirt_domain_info_virtual_cpus", "vCPUs defined", s.vcpuMaximum(), "domain", d);
            }
            if (s.cpu() != null) {
                f.counter("jvirt_domain_info_cpu_time_seconds", "CPU time of the VM's QEMU process", s.cpu().timeNs() * NS, "domain", d);
            }
            if (s.balloon() != null) {
                memory(f, d, s.balloon());
            }
            if (s.vcpus() != null) {
                for (VmSample.Vcpu v : s.vcpus()) {
                    String vcpu = Integer.toString(v.index());
                    f.counter("jvirt_domain_vcpu_time_seconds", "CPU time of a vCPU thread", v.timeNs() * NS, "domain", d, "vcpu", vcpu);
                    f.counter("jvirt_domain_vcpu_delay_seconds", "time a vCPU thread waited for a host CPU", v.delayNs() * NS,
                            "domain", d, "vcpu", vcpu);
                }
            }
            if (s.blocks() != null) {
                for (VmSample.Block b : s.blocks()) {
                    block(f, d, b);
                }
            }
            if (s.nets() != null) {
                for (VmSample.Net n : s.nets()) {
                    if (n.counters() != null) {
                        net(f, d, n);
                    }
                }
            }
            if (s.kvm() != null) {
                kvm(f, d, s.kvm());
            }
            if (s.jobs() != null) {
                for (JobProgress.Entry j : s.jobs()) {
                    job(f, d, j);
                }
            }
        }
    }

    private static void declare(Families f) {
        f.declare("jvirt_domain_block_stats_read_bytes", "bytes read by the guest from a disk", true);
        f.declare("jvirt_domain_interface_stats_receive_bytes", "bytes the guest received on a NIC", true);
        f.declare("jvirt_domain_memory_stats_rss_bytes", "resident memory of the VM's QEMU process", false);
        f.declare("jvirt_domain_job_transferred_bytes", "bytes a job (block copy, migration) has transferred", false);
    }

    private static void memory(Families f, String d, VmSample.Balloon b) {
        f.gauge("jvirt_domain_info_maximum_memory_bytes", "memory defined for the VM", b.maximumBytes(), "domain", d);
        f.gauge("jvirt_domain_info_memory_usage_bytes", "memory the guest has (balloon)", b.currentBytes(), "domain", d);
        f.gauge("jvirt_domain_memory_stats_actual_balloon_bytes", "memory the balloon leaves the guest", b.currentBytes(), "domain", d);
        if (b.rssBytes() >= 0) {
            f.gauge("jvirt_domain_memory_stats_rss_bytes", "resident memory of the VM's QEMU process", b.rssBytes(), "domain", d);
        }
        Map<String, Long> g = b.guest();
        guest(f, d, g, "stat-free-memory", "jvirt_domain_memory_stats_unused_bytes", "memory the guest leaves unused");
        guest(f, d, g, "stat-total-memory", "jvirt_domain_memory_stats_available_bytes", "memory the guest sees");
        guest(f, d, g, "stat-available-memory", "jvirt_domain_memory_stats_usable_bytes", "memory the guest could use without swapping");
        guest(f, d, g, "stat-disk-caches", "jvirt_domain_memory_stats_disk_cache_bytes", "guest memory holding disk caches");
        guest(f, d, g, "stat-swap-in", "jvirt_domain_memory_stats_swap_in_bytes", "bytes the guest swapped in");
        guest(f, d, g, "stat-swap-out", "jvirt_domain_memory_stats_swap_out_bytes", "bytes the guest swapped out");
        if (g.containsKey("stat-major-faults")) {
            f.counter("jvirt_domain_memory_stats_major_fault", "major page faults in the guest", g.get("stat-major-faults"), "domain", d);
        }
        if (g.containsKey("stat-minor-faults")) {
            f.counter("jvirt_domain_memory_stats_minor_fault", "minor page faults in the guest", g.get("stat-minor-faults"), "domain", d);
        }
    }

    private static void guest(Families f, String d, Map<String, Long> g, String key, String name, String help) {
        Long v = g.get(key);
        if (v != null) {
            f.gauge(name, help, v, "domain", d);
        }
    }

    private static void block(Families f, String d, VmSample.Block b) {
        String[] l = {"domain", d, "target_device", b.name(), "source_file", b.path() == null ? "" : b.path()};
        String p = "jvirt_domain_block_stats_";
        f.counter(p + "read_bytes", "bytes read by the guest from a disk", b.rdBytes(), l);
        f.counter(p + "read_requests", "read requests of the guest on a disk", b.rdReqs(), l);
        f.counter(p + "read_time_seconds", "time spent on reads", b.rdTimeNs() * NS, l);
        f.counter(p + "write_bytes", "bytes written by the guest to a disk", b.wrBytes(), l);
        f.counter(p + "write_requests", "write requests of the guest on a disk", b.wrReqs(), l);
        f.counter(p + "write_time_seconds", "time spent on writes", b.wrTimeNs() * NS, l);
        f.counter(p + "flush_requests", "flush requests of the guest on a disk", b.flReqs(), l);
        f.counter(p + "flush_time_seconds", "time spent on flushes", b.flTimeNs() * NS, l);
        f.gauge(p + "allocation_bytes", "highest offset written in the disk's file", b.allocation(), l);
        if (b.capacity() >= 0) {
            f.gauge(p + "capacity_bytes", "size of the disk as the guest sees it", b.capacity(), l);
        }
        if (b.physical() >= 0) {
            f.gauge(p + "physicalsize_bytes", "size of the disk's file on the host", b.physical(), l);
        }
    }

    private static void net(Families f, String d, VmSample.Net n) {
        String[] l = {"domain", d, "target_device", n.tap(), "nic", n.name()};
        VmSample.Counters c = n.counters();
        String p = "jvirt_domain_interface_stats_";
        f.counter(p + "receive_bytes", "bytes the guest received on a NIC", c.rxBytes(), l);
        f.counter(p + "receive_packets", "packets the guest received on a NIC", c.rxPkts(), l);
        f.counter(p + "receive_errors", "receive errors on a NIC", c.rxErrs(), l);
        f.counter(p + "receive_drops", "received packets dropped on a NIC", c.rxDrop(), l);
        f.counter(p + "transmit_bytes", "bytes the guest sent on a NIC", c.txBytes(), l);
        f.counter(p + "transmit_packets", "packets the guest sent on a NIC", c.txPkts(), l);
        f.counter(p + "transmit_errors", "transmit errors on a NIC", c.txErrs(), l);
        f.counter(p + "transmit_drops", "sent packets dropped on a NIC", c.txDrop(), l);
    }

    private static void kvm(Families f, String d, VmSample.Kvm kvm) {
        kvm.vm().forEach((name, v) -> kvmValue(f, "jvirt_domain_kvm_vm_" + name, v, "domain", d));
        kvm.vcpus().forEach((index, values) -> values.forEach((name, v) ->
                kvmValue(f, "jvirt_domain_kvm_vcpu_" + name, v, "domain", d, "vcpu", Integer.toString(index))));
    }

    private static void kvmValue(Families f, String name, KvmStats.Value v, String... labels) {
        String help = "KVM statistic " + name.substring(name.lastIndexOf("_kvm_") + 5) + " (query-stats, "
                + v.type() + (v.unit() == null ? "" : ", " + v.unit()) + ")";
        if ("cumulative".equals(v.type())) {
            f.counter(name, help, v.value(), labels);
        } else {
            f.gauge(name, help, v.value(), labels);
        }
    }

    private static void job(Families f, String d, JobProgress.Entry j) {
        String[] l = {"domain", d, "kind", j.kind(), "target", j.target(), "job", j.job()};
        String p = "jvirt_domain_job_";
        f.gauge(p + "transferred_bytes", "bytes a job (block copy, migration) has transferred", j.transferred(), l);
        f.gauge(p + "remaining_bytes", "bytes a job has still to transfer", j.remaining(), l);
        f.gauge(p + "total_bytes", "bytes a job transfers in all, as it counts them now", j.total(), l);
        f.gauge(p + "rate_bytes_per_second", "a job's transfer rate over its last sample", j.rate(), l);
        f.gauge(p + "active", "1 while the job runs, 0 once it ended (kept for a while)", j.active() ? 1 : 0, l);
        f.gauge(p + "updated_timestamp_seconds", "when the job last reported", j.updated().toEpochMilli() / 1000.0, l);
        if (!j.active()) {
            f.gauge(p + "outcome", "1, with how an ended job ended as label outcome", 1,
                    "domain", d, "kind", j.kind(), "target", j.target(), "job", j.job(), "outcome", j.outcome());
        }
    }
}
