package io.jvirt.hotplug;

import io.jvirt.error.ErrorCode;
import io.jvirt.error.JvirtException;
import io.jvirt.qemu.HotplugArgs;
import io.jvirt.vm.Hotplug;
import io.jvirt.vm.VmDefinition;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Each change as an edit of a definition (the stored one for {@code config}, the live record's for {@code live}),
 * checked as a define checks (VmManager.checkChange): an edit that does not pass is refused before anything changes.
 */
final class DefinitionEdits {
    private DefinitionEdits() {
    }

    static VmDefinition withHotplug(VmDefinition d, java.util.function.UnaryOperator<Hotplug> change) {
        return d.withHotplug(change.apply(d.hotplugOrEmpty()));
    }

    static VmDefinition addMemoryDevice(VmDefinition d, Hotplug.MemoryDevice m) {
        if (d.hotplugOrEmpty().findMemoryDevice(m.id()).isPresent()) {
            throw invalid(d, "VM '" + d.name() + "' already has a memory device '" + m.id() + "'");
        }
        if (!d.hotplugOrEmpty().memoryHotplug()) {
            throw invalid(d, "VM '" + d.name() + "' has no room for memory devices: set hotplug.maxMemoryMiB (and "
                    + "memorySlots for DIMMs) in its definition; it takes effect at the next boot");
        }
        List<Hotplug.MemoryDevice> all = new ArrayList<>(d.hotplugOrEmpty().memoryDevices());
        all.add(m);
        return withHotplug(d, h -> h.withMemoryDevices(all));
    }

    static Hotplug.MemoryDevice requireMemoryDevice(VmDefinition d, String id) {
        return d.hotplugOrEmpty().findMemoryDevice(id).orElseThrow(() -> new JvirtException(ErrorCode.NOT_FOUND,
                "VM '" + d.name() + "' has no memory device '" + id + "'", Map.of("vm", d.name(), "device", id)));
    }

    static VmDefinition removeMemoryDevice(VmDefinition d, String id) {
        requireMemoryDevice(d, id);
        return withPort(withHotplug(d, h -> h.withMemoryDevices(Hotplug.replace(h.memoryDevices(), m -> m.id().equals(id), null))),
                HotplugArgs.memoryDeviceId(id), null);
    }

    static VmDefinition resizeMemoryDevice(VmDefinition d, String id, int requestedMiB) {
        Hotplug.MemoryDevice m = requireMemoryDevice(d, id);
        if (m.dimm()) {
            throw invalid(d, "memory device '" + id + "' is a DIMM: its size is fixed (detach it, or attach another)");
        }
        return withHotplug(d, h -> h.withMemoryDevices(Hotplug.replace(h.memoryDevices(), x -> x.id().equals(id),
                m.withRequested(requestedMiB))));
    }

    static VmDefinition addDisk(VmDefinition d, VmDefinition.Disk disk) {
        if (d.findDisk(disk.name()).isPresent()) {
            throw new JvirtException(ErrorCode.DISK_IN_USE, "VM '" + d.name() + "' already has a disk " + disk.name()
                    + ": choose another target", Map.of("vm", d.name(), "disk", disk.name()));
        }
        List<VmDefinition.Disk> all = new ArrayList<>(d.diskList());
        all.add(disk);
        return d.withDisks(all);
    }

    static VmDefinition removeDisk(VmDefinition d, String name) {
        d.requireDisk(name);
        return withPort(d.withDisks(d.diskList().stream().filter(x -> !x.name().equals(name)).toList()),
                io.jvirt.qemu.monitor.BlockGraph.deviceId(name), null);
    }

    static VmDefinition addNic(VmDefinition d, VmDefinition.Nic nic) {
        if (d.nicList().stream().anyMatch(n -> n.name().equals(nic.name()))) {
            throw invalid(d, "VM '" + d.name() + "' already has a NIC " + nic.name() + ": choose another name");
        }
        if (nic.mac() != null && d.nicList().stream().anyMatch(n -> nic.mac().equalsIgnoreCase(n.mac()))) {
            throw new JvirtException(ErrorCode.MAC_IN_USE, "VM '" + d.name() + "' already has MAC " + nic.mac(),
                    Map.of("mac", nic.mac()));
        }
        List<VmDefinition.Nic> all = new ArrayList<>(d.nicList());
        all.add(nic);
        return d.withNics(all);
    }

    static VmDefinition.Nic requireNic(VmDefinition d, String name) {
        return d.nicList().stream().filter(n -> n.name().equals(name)).findFirst().orElseThrow(() -> new JvirtException(
                ErrorCode.NOT_FOUND, "VM '" + d.name() + "' has no NIC " + name, Map.of("vm", d.name(), "nic", name)));
    }

    static VmDefinition removeNic(VmDefinition d, String name) {
        requireNic(d, name);
        return withPort(d.withNics(d.nicList().stream().filter(n -> !n.name().equals(name)).toList()), name, null);
    }

    static VmDefinition addIothread(VmDefinition d, Hotplug.IoThread t) {
        if (d.hotplugOrEmpty().findIothread(t.id()).isPresent()) {
            throw invalid(d, "VM '" + d.name() + "' already has an IOThread '" + t.id() + "'");
        }
        return withHotplug(d, h -> h.withIothreads(Hotplug.replace(h.iothreads(), x -> false, t)));
    }

    static Hotplug.IoThread requireIothread(VmDefinition d, String id) {
        return d.hotplugOrEmpty().findIothread(id).orElseThrow(() -> new JvirtException(ErrorCode.NOT_FOUND,
                "VM '" + d.name() + "' has no IOThread '" + id + "'", Map.of("vm", d.name(), "iothread", id)));
    }

    static VmDefinition removeIothread(VmDefinition d, String id) {
        requireIothread(d, id);
        List<String> users = d.diskList().stream().filter(x -> id.equals(x.iothread())).map(VmDefinition.Disk::name).toList();
        if (!users.isEmpty()) {
            throw new JvirtException(ErrorCode.INVALID_STATE, "IOThread '" + id + "' of VM '" + d.name() + "' runs disk(s) "
                    + users + ": detach them (or move them with --config) first", Map.of("iothread", id));
        }
        return withHotplug(d, h -> h.withIothreads(Hotplug.replace(h.iothreads(), x -> x.id().equals(id), null)));
    }

    static VmDefinition changeIothread(VmDefinition d, String id, java.util.function.UnaryOperator<Hotplug.IoThread> change) {
        Hotplug.IoThread t = requireIothread(d, id);
        return withHotplug(d, h -> h.withIothreads(Hotplug.replace(h.iothreads(), x -> x.id().equals(id), change.apply(t))));
    }

    static VmDefinition pinVcpu(VmDefinition d, int vcpu, String cpus) {
        return withHotplug(d, h -> h.withVcpuPinning(Hotplug.put(h.vcpuPinning(), Integer.toString(vcpu), cpus)));
    }

    static VmDefinition withPort(VmDefinition d, String deviceId, String port) {
        if (port == null && !d.hotplugOrEmpty().ports().containsKey(deviceId)) {
            return d;
        }
        return withHotplug(d, h -> h.withPorts(Hotplug.put(h.ports(), deviceId, port)));
    }

    /** A free hot-plug port of the live machine for a PCI device; null on a machine that plugs on its root bus. */
    static String freePort(VmDefinition live) {
        if (!HotplugArgs.hasPorts(live.machine())) {
            return null;
        }
        Set<String> used = new HashSet<>(live.hotplugOrEmpty().ports().values());
        for (int i = 0; i < HotplugArgs.PORTS; i++) {
            if (!used.contains(HotplugArgs.portId(i))) {
                return HotplugArgs.portId(i);
            }
        }
        throw new JvirtException(ErrorCode.INVALID_STATE, "VM '" + live.name() + "' has no free hot-plug port (all "
                + HotplugArgs.PORTS + " are in use): detach a device, or add it --config for the next boot",
                Map.of("vm", live.name()));
    }

    private static JvirtException invalid(VmDefinition d, String message) {
        return new JvirtException(ErrorCode.INVALID_DEFINITION, message, Map.of("vm", d.name()));
    }
}
