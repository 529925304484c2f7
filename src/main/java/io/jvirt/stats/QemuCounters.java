package io.jvirt.stats;

import io.jvirt.qemu.QemuInstance;
import io.jvirt.qemu.monitor.BlockGraph;
import io.jvirt.qemu.monitor.StatsCommands;
import io.jvirt.qemu.monitor.StatsReplies;
import io.jvirt.vm.VmDefinition;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * What QEMU counts for a VM, through the typed monitor's stats group: block I/O per disk (query-blockstats, sizes
 * from query-block), vCPU threads (query-cpus-fast), the balloon and the guest's memory counters it carries,
 * IOThreads, and KVM's own statistics. Per QEMU process it keeps what does not change while it runs (KVM's
 * schemas) and whether the guest was asked to report its memory (the balloon's polling, turned on at first use).
 */
final class QemuCounters {
    /** The balloon device of every VM (QemuCommandLine adds it with this id). */
    static final String BALLOON = "balloon0";
    /** How often the guest sends its memory counters once asked (seconds). */
    static final long BALLOON_POLLING = 5;

    private final Map<QemuInstance, PerQemu> perQemu = new ConcurrentHashMap<>();

    private static final class PerQemu {
        volatile boolean pollingOn;
        volatile List<StatsReplies.StatsSchema> kvmSchemas;
    }

    private PerQemu of(QemuInstance q) {
        return perQemu.computeIfAbsent(q, k -> {
            k.exited().thenRun(() -> perQemu.remove(k));
            return new PerQemu();
        });
    }

    List<VmSample.Block> blocks(QemuInstance q, VmDefinition d) {
        StatsCommands s = q.monitor().stats();
        Map<String, StatsReplies.BlockStats> byDisk = new HashMap<>();
        for (StatsReplies.BlockStats b : s.queryBlockstats()) {
            String disk = BlockGraph.diskOf(b.qdev());
            if (disk != null) {
                byDisk.put(disk, b);
            }
        }
        Map<String, Long> capacity = new HashMap<>();
        Map<String, String> file = new HashMap<>();
        BlockGraph.query(q.monitor()).byDisk().forEach((disk, top) -> {
            capacity.put(disk, top.image() == null ? -1L : top.image().virtualSize());
            file.put(disk, top.file());
        });
        List<VmSample.Block> out = new ArrayList<>();
        for (VmDefinition.Disk disk : d.diskList()) {
            StatsReplies.BlockStats b = byDisk.get(disk.name());
            if (b == null || b.stats() == null) {
                continue;
            }
            StatsReplies.BlockDeviceStats st = b.stats();
            long allocation = b.parent() != null && b.parent().stats() != null ? b.parent().stats().wrHighestOffset()
                    : st.wrHighestOffset();
            String path = file.getOrDefault(disk.name(), disk.path());
            out.add(new VmSample.Block(disk.name(), path, st.rdOperations(), st.rdBytes(), st.rdTotalTimeNs(),
                    st.wrOperations(), st.wrBytes(), st.wrTotalTimeNs(), st.flushOperations(), st.flushTotalTimeNs(),
                    allocation, capacity.getOrDefault(disk.name(), -1L), HostCounters.fileSize(path)));
        }
        return out;
    }

    List<StatsReplies.CpuInfo> vcpus(QemuInstance q) {
        return q.monitor().stats().queryCpusFast();
    }

    /** The balloon now, and the guest's counters once it has sent some (asking it to, at first use). */
    VmSample.Balloon balloon(QemuInstance q, long maximumBytes, long rssBytes) {
        StatsCommands s = q.monitor().stats();
        long actual = s.queryBalloon().actual();
        PerQemu p = of(q);
        if (!p.pollingOn) {
            if (s.balloonPolling(BALLOON) == 0) {
                s.setBalloonPolling(BALLOON, BALLOON_POLLING);
            }
            p.pollingOn = true;
        }
        StatsReplies.BalloonStats g = s.balloonGuestStats(BALLOON);
        Map<String, Long> guest = new HashMap<>();
        if (g.lastUpdate() > 0) {
            g.stats().forEach((k, v) -> {
                if ((v instanceof Long || v instanceof Integer) && v.longValue() >= 0) {
                    guest.put(k, v.longValue()); // not 2^64-1, QEMU's "the guest did not report it"
                }
            });
        }
        return new VmSample.Balloon(actual, maximumBytes, rssBytes, guest, g.lastUpdate());
    }

    List<VmSample.IoThread> iothreads(QemuInstance q) {
        return q.monitor().stats().queryIothreads().stream()
                .map(t -> new VmSample.IoThread(t.id(), t.threadId(), t.pollMaxNs(), t.pollGrow(), t.pollShrink())).toList();
    }

    /** KVM's counters; null when QEMU's accelerator provides none (TCG). */
    VmSample.Kvm kvm(QemuInstance q, List<StatsReplies.CpuInfo> cpus) {
        StatsCommands s = q.monitor().stats();
        PerQemu p = of(q);
        List<StatsReplies.StatsSchema> schemas = p.kvmSchemas;
        if (schemas == null) {
            schemas = s.queryStatsSchemas("kvm");
            p.kvmSchemas = schemas;
        }
        if (schemas.isEmpty()) {
            return null;
        }
        Map<String, Integer> byQom = new HashMap<>();
        for (StatsReplies.CpuInfo c : cpus) {
            byQom.put(c.qomPath(), c.cpuIndex());
        }
        return KvmStats.of(schemas, s.queryStats("vm", "kvm"), s.queryStats("vcpu", "kvm"), byQom);
    }
}
