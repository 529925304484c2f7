package io.jvirt.hotplug;

import io.jvirt.error.ErrorCode;
import io.jvirt.error.Fault;
import io.jvirt.error.JvirtException;
import io.jvirt.qemu.HotplugArgs;
import io.jvirt.qemu.QemuLaunchSpec;
import io.jvirt.qemu.monitor.BlockGraph;
import io.jvirt.qemu.monitor.DeviceReplies;
import io.jvirt.qemu.monitor.Monitor;
import io.jvirt.qemu.monitor.MonitorEvent;
import io.jvirt.qemu.monitor.StatsReplies;
import io.jvirt.qemu.monitor.Subscription;
import io.jvirt.vm.CpuList;
import io.jvirt.vm.Hotplug;
import io.jvirt.vm.VmDefinition;
import io.jvirt.vm.VmJobContext;
import io.jvirt.vm.VmManager;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The live step of each plug and setting (unplugs are {@link Unplugs}): what is sent to QEMU, what is waited for
 * (by events), and the live definition that results. Each runs inside the VM's job, after the step was recorded.
 */
final class LiveSteps {
    private final VmManager vms;
    private final LiveState state;
    private final Unplugs unplugs;

    LiveSteps(VmManager vms, LiveState state, Unplugs unplugs) {
        this.vms = vms;
        this.state = state;
        this.unplugs = unplugs;
    }

    // ---- memory -------------------------------------------------------------------------------------------------

    HotplugService.Outcome attachMemory(VmJobContext ctx, HotplugService.Plan p) {
        String id = p.live().hotplugOrEmpty().memoryDevices().getLast().id();
        Hotplug.MemoryDevice m = DefinitionEdits.requireMemoryDevice(p.live(), id);
        String port = m.dimm() ? null : DefinitionEdits.freePort(p.record().live());
        Monitor mon = p.monitor();
        Map<String, Object> d = new LinkedHashMap<>();
        long t0 = System.nanoTime();
        if (m.dimm()) {
            LiveApply.plugMemory(mon, m, null);
        } else {
            d.putAll(awaitVirtioMemSize(mon, id, m.requestedMiB(), p.timeout(), () -> LiveApply.plugMemory(mon, m, port)));
        }
        d.put("device", id);
        d.put("kind", m.kind());
        d.put("node", m.node());
        d.put("sizeMiB", m.sizeMiB());
        d.put("plugMs", (System.nanoTime() - t0) / 1_000_000);
        return new HotplugService.Outcome(DefinitionEdits.withPort(p.live(), HotplugArgs.memoryDeviceId(id), port), d);
    }

    HotplugService.Outcome resizeMemory(VmJobContext ctx, HotplugService.Plan p, String id, int requestedMiB) {
        Monitor mon = p.monitor();
        Map<String, Object> d = new LinkedHashMap<>(awaitVirtioMemSize(mon, id, requestedMiB, p.timeout(),
                () -> LiveApply.resizeVirtioMem(mon, id, requestedMiB)));
        d.put("device", id);
        return new HotplugService.Outcome(p.live(), d);
    }

    /**
     * Sends {@code request} and waits, by MEMORY_DEVICE_SIZE_CHANGE, until the guest took the requested size or the
     * timeout passed: then it reports what the guest took ("plugged, not yet onlined by the guest"), not an error.
     */
    private static Map<String, Object> awaitVirtioMemSize(Monitor mon, String id, int requestedMiB, Duration timeout,
                                                          Runnable request) {
        String dev = HotplugArgs.memoryDeviceId(id);
        long want = requestedMiB * LiveApply.MIB;
        CompletableFuture<Long> reached = new CompletableFuture<>();
        long t0 = System.nanoTime();
        try (Subscription s = mon.on(MonitorEvent.MEMORY_DEVICE_SIZE_CHANGE, e -> {
            if (dev.equals(e.id()) && e.size() == want) {
                reached.complete(e.size());
            }
        })) {
            request.run();
            if (sizeOf(mon, dev) == want) {
                reached.complete(want);
            }
            try {
                reached.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
            } catch (TimeoutException e) {
                // reported below with what the guest did take
            } catch (Exception e) {
                throw new JvirtException(ErrorCode.INTERNAL, "waiting for virtio-mem " + id + ": " + e, Map.of(), e);
            }
        }
        long size = sizeOf(mon, dev);
        Map<String, Object> d = new LinkedHashMap<>();
        d.put("requestedMiB", requestedMiB);
        d.put("guestMiB", size / LiveApply.MIB);
        d.put("guest", size == want ? "onlined" : "plugged, not yet onlined by the guest");
        d.put("waitedMs", (System.nanoTime() - t0) / 1_000_000);
        return d;
    }

    private static long sizeOf(Monitor mon, String dev) {
        return mon.device().queryMemoryDevices().stream().filter(x -> dev.equals(x.id())).findFirst()
                .map(DeviceReplies.MemoryDevice::size).orElse(0L);
    }

    /** The balloon's target; waits for BALLOON_CHANGE to reach it (the guest's driver acts), then reads its stats. */
    HotplugService.Outcome balloon(VmJobContext ctx, HotplugService.Plan p, int mib) {
        Monitor mon = p.monitor();
        // the balloon covers boot memory and DIMMs (query-balloon counts them); virtio-mem resizes itself
        long total = p.live().memoryMiB() + p.live().hotplugOrEmpty().memoryDevices().stream()
                .filter(Hotplug.MemoryDevice::dimm).mapToLong(Hotplug.MemoryDevice::sizeMiB).sum();
        if (mib < 16 || mib > total) {
            throw new JvirtException(ErrorCode.INVALID_ARGUMENT, "the balloon target must be between 16 MiB and the VM's "
                    + "boot memory plus DIMMs, " + total + " MiB, got " + mib, Map.of("vm", ctx.vmName()));
        }
        long want = mib * LiveApply.MIB;
        CompletableFuture<Long> reached = new CompletableFuture<>();
        long t0 = System.nanoTime();
        try (Subscription s = mon.on(MonitorEvent.BALLOON_CHANGE, e -> {
            if (Math.abs(e.actual() - want) < LiveApply.MIB) {
                reached.complete(e.actual());
            }
        })) {
            mon.memory().balloon(want);
            if (Math.abs(mon.stats().queryBalloon().actual() - want) < LiveApply.MIB) {
                reached.complete(want);
            }
            try {
                reached.get(p.timeout().toMillis(), TimeUnit.MILLISECONDS);
            } catch (TimeoutException e) {
                // reported below
            } catch (Exception e) {
                throw new JvirtException(ErrorCode.INTERNAL, "waiting for the balloon: " + e, Map.of(), e);
            }
        }
        Map<String, Object> d = new LinkedHashMap<>();
        long actual = mon.stats().queryBalloon().actual();
        d.put("targetMiB", mib);
        d.put("actualMiB", actual / LiveApply.MIB);
        d.put("guest", Math.abs(actual - want) < LiveApply.MIB ? "reached" : "the guest's balloon driver has not reached the target yet");
        d.put("waitedMs", (System.nanoTime() - t0) / 1_000_000);
        mon.stats().setBalloonPolling("balloon0", 2);
        return new HotplugService.Outcome(p.live(), d);
    }

    // ---- vCPUs --------------------------------------------------------------------------------------------------

    HotplugService.Outcome setVcpus(VmJobContext ctx, HotplugService.Plan p, int n) {
        Monitor mon = p.monitor();
        List<DeviceReplies.HotpluggableCpu> slots = mon.device().queryHotpluggableCpus();
        long plugged = slots.stream().filter(DeviceReplies.HotpluggableCpu::plugged).count();
        Map<String, Object> d = new LinkedHashMap<>();
        long t0 = System.nanoTime();
        if (n > plugged) {
            List<DeviceReplies.HotpluggableCpu> free = slots.stream().filter(s -> !s.plugged())
                    .sorted(Comparator.comparingInt(LiveSteps::socket)).limit(n - plugged).toList();
            for (DeviceReplies.HotpluggableCpu s : free) {
                LiveApply.plugVcpu(mon, s);
            }
            applyVcpuPinning(mon, p.live());
            d.put("plugged", free.size());
        } else if (n < plugged) {
            List<DeviceReplies.HotpluggableCpu> going = slots.stream().filter(DeviceReplies.HotpluggableCpu::plugged)
                    .sorted(Comparator.comparingInt(LiveSteps::socket).reversed()).limit(plugged - n).toList();
            for (DeviceReplies.HotpluggableCpu s : going) {
                unplugs.detachVcpu(ctx, p, s.qomPath());
            }
            d.put("unplugged", going.size());
        }
        d.put("vcpus", n);
        d.put("ms", (System.nanoTime() - t0) / 1_000_000);
        return new HotplugService.Outcome(p.live(), d);
    }

    private static int socket(DeviceReplies.HotpluggableCpu s) {
        Object v = s.props().get("socket-id");
        return v instanceof Number num ? num.intValue() : 0;
    }

    /** The definition's vCPU pinning, on the vCPU threads QEMU has now. */
    static void applyVcpuPinning(Monitor mon, VmDefinition d) {
        Map<String, String> pins = d.hotplugOrEmpty().vcpuPinning();
        if (pins.isEmpty()) {
            return;
        }
        for (StatsReplies.CpuInfo c : mon.stats().queryCpusFast()) {
            String cpus = pins.get(Integer.toString(c.cpuIndex()));
            if (cpus != null) {
                Pinning.pin(c.threadId(), cpus);
            }
        }
    }

    HotplugService.Outcome pinVcpu(VmJobContext ctx, HotplugService.Plan p, int vcpu, String cpus) {
        String list = CpuList.checkOnHost("cpus", cpus);
        StatsReplies.CpuInfo c = p.monitor().stats().queryCpusFast().stream().filter(x -> x.cpuIndex() == vcpu).findFirst()
                .orElseThrow(() -> new JvirtException(ErrorCode.INVALID_ARGUMENT, "vCPU " + vcpu + " of VM '" + ctx.vmName()
                        + "' is not plugged (pin it with config for when it is)", Map.of("vcpu", vcpu)));
        Pinning.pin(c.threadId(), list);
        return new HotplugService.Outcome(p.live(), Map.of("vcpu", vcpu, "threadId", c.threadId(),
                "affinity", String.valueOf(Pinning.affinity(c.threadId()))));
    }

    /** The emulator's threads: every QEMU thread but the vCPUs and IOThreads. */
    HotplugService.Outcome pinEmulator(VmJobContext ctx, HotplugService.Plan p, String cpus) {
        String list = CpuList.checkOnHost("cpus", cpus);
        List<Long> threads = emulatorThreads(p.monitor(), p.qemu().pid());
        threads.forEach(t -> Pinning.pin(t, list));
        return new HotplugService.Outcome(p.live(), Map.of("threads", threads.size(), "cpus", list));
    }

    static List<Long> emulatorThreads(Monitor mon, long qemuPid) {
        java.util.Set<Long> others = new java.util.HashSet<>();
        mon.stats().queryCpusFast().forEach(c -> others.add(c.threadId()));
        mon.stats().queryIothreads().forEach(t -> others.add(t.threadId()));
        return Pinning.threads(qemuPid).stream().filter(t -> !others.contains(t)).toList();
    }

    // ---- disks and NICs -----------------------------------------------------------------------------------------

    HotplugService.Outcome attachDisk(VmJobContext ctx, HotplugService.Plan p, String target) {
        VmDefinition.Disk disk = p.live().requireDisk(target);
        String port = DefinitionEdits.freePort(p.record().live());
        long t0 = System.nanoTime();
        io.jvirt.vm.Confinement.DiskChain chain = vms.confinement().diskChain(p.live(), target); // checked again, as start does
        Path file = handOverToQemu(ctx, Path.of(disk.path()), !disk.writable(), chain);
        Fault.point("hotplug", "disk-attach", ctx.qemuPid());
        LiveApply.attachDisk(p.monitor(), disk, file, chain, port);
        Map<String, Object> d = new LinkedHashMap<>();
        d.put("disk", target);
        d.put("path", disk.path());
        d.put("port", String.valueOf(port));
        d.put("chain", chain == null ? List.of(disk.path()) : chain.layers().stream().map(Path::toString).toList());
        d.put("ms", (System.nanoTime() - t0) / 1_000_000);
        return new HotplugService.Outcome(DefinitionEdits.withPort(p.live(), BlockGraph.deviceId(target), port), d);
    }

    /**
     * The one place a live attach hands files to the running QEMU (trust boundary, #12): the VM's QEMU is granted
     * the top (WRITE, or READ for a read-only disk) and READ on each backing layer of the checked chain (ACL
     * entries, recorded durably; nothing when QEMU is not confined) before blockdev-add opens them.
     */
    private static Path handOverToQemu(VmJobContext ctx, Path path, boolean readOnly, io.jvirt.vm.Confinement.DiskChain chain) {
        List<Path> layers = chain == null ? List.of(path) : chain.layers();
        ctx.grantToQemu(layers.getFirst(), readOnly ? io.jvirt.vm.Confinement.Access.READ : io.jvirt.vm.Confinement.Access.WRITE);
        for (Path backing : layers.subList(1, layers.size())) {
            ctx.grantToQemu(backing, io.jvirt.vm.Confinement.Access.READ);
        }
        return layers.getFirst();
    }

    HotplugService.Outcome attachNic(VmJobContext ctx, HotplugService.Plan p, String name) {
        VmDefinition.Nic nic = DefinitionEdits.requireNic(p.live(), name);
        String port = DefinitionEdits.freePort(p.record().live());
        long t0 = System.nanoTime();
        QemuLaunchSpec.Nic spec = vms.nicPlumbing().prepareOne(p.live(), nic); // the tap, as a VM start makes it
        try {
            LiveApply.attachNic(p.monitor(), spec, port);
        } catch (RuntimeException e) {
            vms.nicPlumbing().releaseOne(ctx.vmName(), name);
            throw e;
        }
        return new HotplugService.Outcome(DefinitionEdits.withPort(p.live(), name, port),
                Map.of("nic", name, "mac", nic.mac(), "port", String.valueOf(port), "ms", (System.nanoTime() - t0) / 1_000_000));
    }

    // ---- IOThreads ----------------------------------------------------------------------------------------------

    HotplugService.Outcome addIothread(VmJobContext ctx, HotplugService.Plan p, String id) {
        Hotplug.IoThread t = DefinitionEdits.requireIothread(p.live(), id);
        LiveApply.addIothread(p.monitor(), t);
        long tid = threadOf(p.monitor(), id);
        if (t.pinning() != null) {
            Pinning.pin(tid, t.pinning());
        }
        return new HotplugService.Outcome(p.live(), Map.of("iothread", id, "threadId", tid,
                "affinity", String.valueOf(Pinning.affinity(tid))));
    }

    HotplugService.Outcome deleteIothread(VmJobContext ctx, HotplugService.Plan p, String id) {
        p.monitor().device().objectDel(id);
        return new HotplugService.Outcome(p.live(), Map.of("iothread", id));
    }

    HotplugService.Outcome setIothread(VmJobContext ctx, HotplugService.Plan p, String id, long pollMaxNs) {
        p.monitor().device().setObjectProperty(id, "poll-max-ns", pollMaxNs);
        long now = p.monitor().stats().queryIothreads().stream().filter(t -> t.id().equals(id)).findFirst()
                .map(StatsReplies.IoThreadInfo::pollMaxNs).orElse(-1L);
        return new HotplugService.Outcome(p.live(), Map.of("iothread", id, "pollMaxNs", now));
    }

    HotplugService.Outcome pinIothread(VmJobContext ctx, HotplugService.Plan p, String id, String cpus) {
        String list = CpuList.checkOnHost("cpus", cpus);
        long tid = threadOf(p.monitor(), id);
        Pinning.pin(tid, list);
        return new HotplugService.Outcome(p.live(), Map.of("iothread", id, "threadId", tid,
                "affinity", String.valueOf(Pinning.affinity(tid))));
    }

    static long threadOf(Monitor mon, String iothread) {
        return mon.stats().queryIothreads().stream().filter(t -> t.id().equals(iothread)).findFirst()
                .map(StatsReplies.IoThreadInfo::threadId).orElseThrow(() -> new JvirtException(ErrorCode.NOT_FOUND,
                        "QEMU has no IOThread '" + iothread + "'", Map.of("iothread", iothread)));
    }
}
