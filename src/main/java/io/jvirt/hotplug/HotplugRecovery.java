package io.jvirt.hotplug;

import io.jvirt.qemu.HotplugArgs;
import io.jvirt.qemu.QemuInstance;
import io.jvirt.qemu.monitor.BlockGraph;
import io.jvirt.qemu.monitor.DeviceReplies;
import io.jvirt.qemu.monitor.Monitor;
import io.jvirt.qemu.monitor.StatsReplies;
import io.jvirt.vm.Hotplug;
import io.jvirt.vm.LiveVm;
import io.jvirt.vm.VmDefinition;
import io.jvirt.vm.VmJobContext;
import io.jvirt.vm.VmManager;
import io.jvirt.vm.VmRecord;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Live state after a start and after a daemon restart. At boot the live record is the definition QEMU started
 * from (and its pinning is applied). After a restart QEMU is the authority: query-memory-devices,
 * query-hotpluggable-cpus, query-block, query-pci and query-iothreads say what is really plugged, the live record
 * is rewritten to match, what a crashed attach left half-made is removed, and pending unplugs the guest completed
 * meanwhile are finished (the others are watched for their DEVICE_DELETED).
 */
final class HotplugRecovery {
    private static final Logger log = LoggerFactory.getLogger(HotplugRecovery.class);
    private final VmManager vms;
    private final LiveState state;
    private final Unplugs unplugs;

    HotplugRecovery(VmManager vms, LiveState state, Unplugs unplugs) {
        this.vms = vms;
        this.state = state;
        this.unplugs = unplugs;
    }

    /** A QEMU just booted from the VM's definition: that is its live record (an adopted QEMU keeps its own). */
    void onBooted(String vm) {
        LiveVm l = vms.live(vm);
        if (!l.hasQemu()) {
            return;
        }
        String stamp = LiveState.stamp(l.qemu());
        if (state.stored(vm).map(r -> stamp.equals(r.qemu())).orElse(false)) {
            return;
        }
        state.write(vm, new LiveRecord(stamp, l.definition(), List.of(), Instant.now()));
        if (hasPinning(l.definition())) {
            Thread.ofVirtual().name("pin-" + vm).start(() -> applyPinning(vm, l.qemu(), l.definition()));
        }
    }

    private static boolean hasPinning(VmDefinition d) {
        Hotplug h = d.hotplugOrEmpty();
        return !h.vcpuPinning().isEmpty() || h.emulatorPinning() != null || h.iothreads().stream().anyMatch(t -> t.pinning() != null);
    }

    private static void applyPinning(String vm, QemuInstance q, VmDefinition d) {
        try {
            Monitor m = q.monitor();
            LiveSteps.applyVcpuPinning(m, d);
            for (Hotplug.IoThread t : d.hotplugOrEmpty().iothreads()) {
                if (t.pinning() != null) {
                    Pinning.pin(LiveSteps.threadOf(m, t.id()), t.pinning());
                }
            }
            if (d.hotplugOrEmpty().emulatorPinning() != null) {
                LiveSteps.emulatorThreads(m, q.pid()).forEach(t -> Pinning.pin(t, d.hotplugOrEmpty().emulatorPinning()));
            }
        } catch (RuntimeException e) {
            log.warn("VM {}: cannot apply its pinning at start: {}", vm, e.getMessage());
        }
    }

    /** After startRecovery completed: every VM whose adopted QEMU has a live record is reconciled with what QEMU has. */
    void recoverAll() {
        for (LiveVm l : vms.liveAll()) {
            if (!l.hasQemu() || state.stored(l.name()).isEmpty()) {
                continue;
            }
            try {
                vms.runJob(l.name(), HotplugJob.FINISH_UNPLUG, Duration.ofSeconds(60), ctx -> {
                    ctx.qemu().ifPresent(q -> reconcile(ctx, q, null));
                    return null;
                });
            } catch (RuntimeException e) {
                log.warn("VM {}: hotplug reconcile failed: {}", l.name(), e.getMessage());
            }
        }
    }

    /** A hotplug job a dead daemon left at a step: QEMU says what happened; half-made plugs are removed. */
    void recoverInterrupted(VmJobContext ctx, VmRecord.JobRecord interrupted) {
        ctx.qemu().ifPresent(q -> reconcile(ctx, q, interrupted.intent()));
    }

    void reconcile(VmJobContext ctx, QemuInstance q, String interruptedStep) {
        String vm = ctx.vmName();
        Monitor m = q.monitor();
        LiveRecord r = state.read(vm, q, ctx.definition());
        VmDefinition live = r.live();

        // memory devices: QEMU's list is the truth
        List<Hotplug.MemoryDevice> mem = new ArrayList<>();
        Set<String> memIds = new HashSet<>();
        for (DeviceReplies.MemoryDevice d : m.device().queryMemoryDevices()) {
            if (d.id() == null || !d.id().startsWith("mem-")) {
                continue;
            }
            String id = d.id().substring(4);
            memIds.add(d.id());
            boolean dimm = !"virtio-mem".equals(d.type());
            mem.add(new Hotplug.MemoryDevice(id, dimm ? Hotplug.MemoryDevice.DIMM : Hotplug.MemoryDevice.VIRTIO_MEM,
                    (int) ((dimm || d.maxSize() == null ? d.size() : d.maxSize()) / LiveApply.MIB), d.node(),
                    dimm ? null : (int) (d.requestedSize() == null ? 0 : d.requestedSize() / LiveApply.MIB)));
        }
        live = DefinitionEdits.withHotplug(live, h -> h.withMemoryDevices(mem));
        // vCPUs
        List<DeviceReplies.HotpluggableCpu> cpus = m.device().queryHotpluggableCpus();
        Set<String> cpuPaths = new HashSet<>();
        cpus.stream().filter(DeviceReplies.HotpluggableCpu::plugged).forEach(c -> cpuPaths.add(c.qomPath()));
        live = live.withVcpus(cpuPaths.size());
        // disks
        Map<String, BlockGraph.Top> disks = BlockGraph.query(m).byDisk();
        List<VmDefinition.Disk> keptDisks = new ArrayList<>(live.diskList().stream().filter(d -> disks.containsKey(d.name())).toList());
        for (BlockGraph.Top t : disks.values()) {
            if (live.findDisk(t.disk()).isEmpty()) {
                keptDisks.add(new VmDefinition.Disk(t.disk(), t.file(), t.image() == null ? "raw" : t.image().format(), "virtio", false));
            }
        }
        live = live.withDisks(keptDisks);
        // NICs: a NIC is a PCI device named by its id
        Set<String> pci = new HashSet<>();
        for (StatsReplies.PciDevice d : m.stats().queryPci()) {
            if (d.qdevId() != null) {
                pci.add(d.qdevId());
            }
        }
        live = live.withNics(live.nicList().stream().filter(n -> pci.contains(n.name())).toList());
        // IOThreads
        Set<String> threads = new HashSet<>();
        m.stats().queryIothreads().forEach(t -> threads.add(t.id()));
        List<Hotplug.IoThread> io = new ArrayList<>(live.hotplugOrEmpty().iothreads().stream().filter(t -> threads.contains(t.id())).toList());
        for (String t : threads) {
            if (io.stream().noneMatch(x -> x.id().equals(t))) {
                io.add(new Hotplug.IoThread(t, null, null));
            }
        }
        live = DefinitionEdits.withHotplug(live, h -> h.withIothreads(io));
        Set<String> present = new HashSet<>(memIds);
        disks.keySet().forEach(d -> present.add(BlockGraph.deviceId(d)));
        present.addAll(pci);
        present.addAll(cpuPaths);
        Map<String, String> ports = new java.util.LinkedHashMap<>(live.hotplugOrEmpty().ports());
        ports.keySet().retainAll(present);
        live = DefinitionEdits.withHotplug(live, h -> h.withPorts(ports));
        cleanHalfMade(m, vm, interruptedStep, present);
        state.write(vm, r.withLive(live));
        log.info("VM {}: live state re-read from QEMU: {} MiB + {} memory device(s), {} vCPU(s), disks {}, NICs {}, IOThreads {}",
                vm, live.memoryMiB(), mem.size(), live.vcpus(), disks.keySet(), live.nicList().stream().map(VmDefinition.Nic::name).toList(), threads);

        for (LiveRecord.PendingUnplug p : r.pending()) {
            if (present.contains(p.device())) {
                unplugs.watch(vm, m); // still asked of the guest: its DEVICE_DELETED finishes it
            } else {
                unplugs.finish(ctx, q, p); // the guest released it while no daemon watched
            }
        }
    }

    /** An attach that a dead daemon left between the backend and the device: the backend goes. */
    private void cleanHalfMade(Monitor m, String vm, String step, Set<String> present) {
        if (step == null || !step.contains(":")) {
            return;
        }
        String kind = step.substring(0, step.indexOf(':'));
        String name = step.substring(step.indexOf(':') + 1);
        if (kind.equals(HotplugJob.DISK_ATTACH.wire()) && !present.contains(BlockGraph.deviceId(name))) {
            BlockGraph.delete(m, "fmt-" + name, "file-" + name);
        } else if (kind.equals(HotplugJob.MEMORY_ATTACH.wire()) && !present.contains(HotplugArgs.memoryDeviceId(name))) {
            LiveApply.releaseMemory(m, name);
        } else if (kind.equals(HotplugJob.NIC_ATTACH.wire()) && !present.contains(name)) {
            LiveApply.releaseNic(m, name);
            vms.nicPlumbing().releaseOne(vm, name);
        }
    }
}
