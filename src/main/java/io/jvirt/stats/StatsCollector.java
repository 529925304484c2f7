package io.jvirt.stats;

import io.jvirt.qemu.QemuInstance;
import io.jvirt.qemu.monitor.MonitorException;
import io.jvirt.qemu.monitor.StatsReplies;
import io.jvirt.vm.JobProgress;
import io.jvirt.vm.LiveVm;
import io.jvirt.vm.VmDefinition;
import io.jvirt.vm.VmManager;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Collects one VM's sample from its sources ({@link QemuCounters}, {@link HostCounters}, the job progress the VM
 * layer keeps) without touching the VM's job slot: a VM that is copying a disk or migrating still answers. A
 * source that fails leaves its group out and says why in {@code errors}; the other groups are still reported.
 * KVM's counters are asked for only when the VM runs under KVM, and are absent (not zero) otherwise.
 */
final class StatsCollector {
    private final VmManager vms;
    private final QemuCounters qemu = new QemuCounters();
    private final HostCounters host = new HostCounters();

    StatsCollector(VmManager vms) {
        this.vms = vms;
    }

    VmSample collect(LiveVm vm, Set<StatsGroup> groups) {
        Map<String, String> errors = new LinkedHashMap<>();
        QemuInstance q = vm.hasQemu() ? vm.qemu() : null;
        VmDefinition d = vm.definition();
        Set<StatsGroup> got = EnumSet.noneOf(StatsGroup.class);
        got.add(StatsGroup.STATE);
        VmSample.Cpu cpu = null;
        VmSample.Balloon balloon = null;
        List<VmSample.Vcpu> vcpus = null;
        List<VmSample.Block> blocks = null;
        List<VmSample.Net> nets = null;
        List<VmSample.IoThread> iothreads = null;
        VmSample.Kvm kvm = null;
        List<JobProgress.Entry> jobs = null;
        if (groups.contains(StatsGroup.JOB)) {
            jobs = vms.jobProgress().of(vm.name());
            got.add(StatsGroup.JOB);
        }
        if (q != null) {
            if (groups.contains(StatsGroup.CPU)) {
                cpu = host.processCpu(q.pid());
                mark(got, StatsGroup.CPU, cpu != null, errors, "the QEMU process is gone");
            }
            if (groups.contains(StatsGroup.BALLOON)) {
                balloon = read(errors, StatsGroup.BALLOON, () -> qemu.balloon(q, d.memoryMiB() * 1048576L, host.rssBytes(q.pid())));
                mark(got, StatsGroup.BALLOON, balloon != null, errors, null);
            }
            List<StatsReplies.CpuInfo> cpus = null;
            if (groups.contains(StatsGroup.VCPU) || groups.contains(StatsGroup.VM)) {
                cpus = read(errors, StatsGroup.VCPU, () -> qemu.vcpus(q));
            }
            if (groups.contains(StatsGroup.VCPU) && cpus != null) {
                vcpus = new ArrayList<>();
                for (StatsReplies.CpuInfo c : cpus) {
                    VmSample.Vcpu v = host.thread(q.pid(), c.cpuIndex(), c.threadId());
                    if (v != null) {
                        vcpus.add(v);
                    }
                }
                got.add(StatsGroup.VCPU);
            }
            if (groups.contains(StatsGroup.BLOCK)) {
                blocks = read(errors, StatsGroup.BLOCK, () -> qemu.blocks(q, d));
                mark(got, StatsGroup.BLOCK, blocks != null, errors, null);
            }
            if (groups.contains(StatsGroup.IOTHREAD)) {
                iothreads = read(errors, StatsGroup.IOTHREAD, () -> qemu.iothreads(q));
                mark(got, StatsGroup.IOTHREAD, iothreads != null, errors, null);
            }
            if (groups.contains(StatsGroup.VM) && "kvm".equals(vm.accel()) && cpus != null) {
                List<StatsReplies.CpuInfo> c = cpus;
                kvm = read(errors, StatsGroup.VM, () -> qemu.kvm(q, c));
                mark(got, StatsGroup.VM, kvm != null, errors, null);
            }
        }
        if (groups.contains(StatsGroup.INTERFACE) && q != null) {
            nets = new ArrayList<>();
            for (VmDefinition.Nic n : d.nics()) {
                String tap = vms.nicDevice(vm.name(), n.name()).orElse(null);
                nets.add(new VmSample.Net(n.name(), tap, n.mac(), tap == null ? null : host.tap(tap)));
            }
            got.add(StatsGroup.INTERFACE);
        }
        return new VmSample(vm.name(), vm.state().wire(), vm.reason(), Instant.now(), got, cpu, balloon, vcpus,
                d.vcpus(), blocks, nets, iothreads, kvm, jobs, errors);
    }

    private static void mark(Set<StatsGroup> got, StatsGroup g, boolean ok, Map<String, String> errors, String why) {
        if (ok) {
            got.add(g);
        } else if (why != null) {
            errors.putIfAbsent(g.wire(), why);
        }
    }

    private static <T> T read(Map<String, String> errors, StatsGroup group, java.util.function.Supplier<T> source) {
        try {
            return source.get();
        } catch (MonitorException | IllegalStateException e) {
            errors.put(group.wire(), e.getMessage());
            return null;
        }
    }
}
