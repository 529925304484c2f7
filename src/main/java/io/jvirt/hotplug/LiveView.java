package io.jvirt.hotplug;

import io.jvirt.guest.GuestViews;
import io.jvirt.qemu.monitor.DeviceReplies;
import io.jvirt.qemu.monitor.Monitor;
import io.jvirt.qemu.monitor.MonitorException;
import io.jvirt.qemu.monitor.StatsReplies;
import io.jvirt.vm.Hotplug;
import io.jvirt.vm.LiveVm;
import io.jvirt.vm.VmDefinition;
import io.jvirt.vm.VmManager;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.function.Function;

/**
 * What a VM has, three ways: defined (the next boot), plugged (QEMU's own lists) and onlined (the guest: virtio-mem's
 * {@code size} against its {@code requested-size}; vCPUs and memory blocks by the guest agent when it answers, else
 * "unknown"). Never waits for the VM's job: only reads.
 */
final class LiveView {
    private final VmManager vms;
    private final LiveState state;
    private final Function<String, Optional<GuestViews.Resources>> guest;

    LiveView(VmManager vms, LiveState state, Function<String, Optional<GuestViews.Resources>> guest) {
        this.vms = vms;
        this.state = state;
        this.guest = guest;
    }

    Map<String, Object> view(String vm) {
        LiveVm l = vms.live(vm);
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("vm", vm);
        out.put("state", l.state().wire());
        out.put("config", configView(l.definition()));
        if (!l.hasQemu()) {
            return out;
        }
        LiveRecord r = state.read(vm, l.qemu(), l.definition());
        VmDefinition live = r.live();
        Monitor m = l.qemu().monitor();
        try {
            Optional<GuestViews.Resources> seen = guest.apply(vm);
            out.put("memory", memory(m, live, seen));
            out.put("vcpus", vcpus(m, live, seen));
            out.put("iothreads", iothreads(m, live));
        } catch (MonitorException e) {
            out.put("error", "QEMU did not answer: " + e.getMessage());
        }
        out.put("disks", live.diskList().stream().map(d -> d.iothread() == null ? d.name() : d.name() + "@" + d.iothread()).toList());
        out.put("nics", live.nicList().stream().map(VmDefinition.Nic::name).toList());
        out.put("pending", r.pending());
        return out;
    }

    private static Map<String, Object> configView(VmDefinition d) {
        Hotplug h = d.hotplugOrEmpty();
        Map<String, Object> c = new LinkedHashMap<>();
        c.put("memoryMiB", d.memoryMiB());
        c.put("maxMemoryMiB", h.maxMemoryMiB());
        c.put("memorySlots", h.memorySlots());
        c.put("vcpus", d.vcpus());
        c.put("maxVcpus", h.maxVcpus() == null ? d.vcpus() : h.maxVcpus());
        c.put("numa", h.numa());
        c.put("memoryDevices", h.memoryDevices());
        c.put("iothreads", h.iothreads());
        c.put("vcpuPinning", h.vcpuPinning());
        c.put("emulatorPinning", h.emulatorPinning());
        return c;
    }

    private static Map<String, Object> memory(Monitor m, VmDefinition live, Optional<GuestViews.Resources> seen) {
        Map<String, Object> mem = new LinkedHashMap<>();
        mem.put("bootMiB", live.memoryMiB());
        mem.put("maxMiB", live.hotplugOrEmpty().maxMemoryMiB());
        mem.put("slots", live.hotplugOrEmpty().memorySlots());
        List<Map<String, Object>> devices = new ArrayList<>();
        Map<Integer, Long> perNode = new TreeMap<>();
        long plugged = 0;
        int dimms = 0;
        boolean allTaken = true;
        for (DeviceReplies.MemoryDevice d : m.device().queryMemoryDevices()) {
            Map<String, Object> x = new LinkedHashMap<>();
            boolean dimm = !"virtio-mem".equals(d.type());
            x.put("id", d.id() != null && d.id().startsWith("mem-") ? d.id().substring(4) : d.id());
            x.put("kind", dimm ? "dimm" : "virtio-mem");
            x.put("node", d.node());
            x.put("pluggedMiB", d.size() / LiveApply.MIB);
            if (!dimm) {
                long req = d.requestedSize() == null ? 0 : d.requestedSize();
                x.put("requestedMiB", req / LiveApply.MIB);
                x.put("maxMiB", d.maxSize() == null ? null : d.maxSize() / LiveApply.MIB);
                x.put("guest", d.size() == req ? "took what was requested" : "plugged, not yet onlined by the guest");
                allTaken &= d.size() == req;
            } else {
                dimms++;
            }
            plugged += d.size();
            perNode.merge(d.node(), d.size() / LiveApply.MIB, Long::sum);
            devices.add(x);
        }
        mem.put("slotsUsed", dimms);
        mem.put("pluggedMiB", plugged / LiveApply.MIB);
        mem.put("totalMiB", live.memoryMiB() + plugged / LiveApply.MIB);
        mem.put("pluggedPerNodeMiB", perNode);
        mem.put("devices", devices);
        try {
            mem.put("balloonMiB", m.stats().queryBalloon().actual() / LiveApply.MIB);
        } catch (MonitorException e) {
            mem.put("balloonMiB", null);
        }
        mem.put("balloonGuestStats", balloonStats(m));
        long total = live.memoryMiB() + plugged / LiveApply.MIB;
        if (seen.isPresent()) {
            long online = seen.get().onlineMemoryMiB();
            mem.put("guestOnlineMiB", online);
            mem.put("guest", online >= total ? "onlined" : "plugged, not yet onlined by the guest");
        } else {
            mem.put("guestOnlineMiB", null);
            mem.put("guest", allTaken ? "unknown (no guest agent answer; virtio-mem devices took what was requested)"
                    : "unknown (no guest agent answer)");
        }
        return mem;
    }

    /**
     * The guest's own memory counters as its balloon driver last sent them (after a setmem turned the polling on):
     * bytes, with {@code lastUpdate}; a counter the guest does not report (2^64-1) is left out; null before any.
     */
    private static Map<String, Object> balloonStats(Monitor m) {
        try {
            StatsReplies.BalloonStats b = m.stats().balloonGuestStats("balloon0");
            if (b.lastUpdate() == 0) {
                return null;
            }
            Map<String, Object> out = new TreeMap<>();
            b.stats().forEach((k, v) -> {
                if (!(v instanceof java.math.BigInteger)) {
                    out.put(k, v.longValue());
                }
            });
            out.put("lastUpdate", b.lastUpdate());
            return out;
        } catch (MonitorException e) {
            return null;
        }
    }

    private static Map<String, Object> vcpus(Monitor m, VmDefinition live, Optional<GuestViews.Resources> seen) {
        Map<String, Object> v = new LinkedHashMap<>();
        List<DeviceReplies.HotpluggableCpu> slots = m.device().queryHotpluggableCpus();
        long plugged = slots.stream().filter(DeviceReplies.HotpluggableCpu::plugged).count();
        v.put("plugged", plugged);
        v.put("max", slots.size());
        List<Map<String, Object>> threads = new ArrayList<>();
        for (StatsReplies.CpuInfo c : m.stats().queryCpusFast()) {
            threads.add(Map.of("vcpu", c.cpuIndex(), "threadId", c.threadId(), "affinity", String.valueOf(Pinning.affinity(c.threadId()))));
        }
        v.put("threads", threads);
        v.put("guestOnline", seen.map(GuestViews.Resources::onlineVcpus).orElse(null));
        v.put("guest", seen.map(s -> s.onlineVcpus() >= plugged ? "onlined" : "plugged, not yet onlined by the guest")
                .orElse("unknown (no guest agent answer)"));
        return v;
    }

    private static List<Map<String, Object>> iothreads(Monitor m, VmDefinition live) {
        List<Map<String, Object>> out = new ArrayList<>();
        for (StatsReplies.IoThreadInfo t : m.stats().queryIothreads()) {
            Map<String, Object> x = new LinkedHashMap<>();
            x.put("id", t.id());
            x.put("threadId", t.threadId());
            x.put("pollMaxNs", t.pollMaxNs());
            x.put("affinity", Pinning.affinity(t.threadId()));
            x.put("pinning", live.hotplugOrEmpty().findIothread(t.id()).map(Hotplug.IoThread::pinning).orElse(null));
            x.put("disks", live.diskList().stream().filter(d -> t.id().equals(d.iothread())).map(VmDefinition.Disk::name).toList());
            out.add(x);
        }
        return out;
    }
}
