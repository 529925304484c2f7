package io.jvirt.hotplug;

import io.jvirt.qemu.HotplugArgs;
import io.jvirt.qemu.QemuCommandLine;
import io.jvirt.qemu.QemuLaunchSpec;
import io.jvirt.qemu.monitor.BlockGraph;
import io.jvirt.qemu.monitor.Blockdev;
import io.jvirt.qemu.monitor.DeviceReplies;
import io.jvirt.qemu.monitor.Monitor;
import io.jvirt.qemu.monitor.MonitorException;
import io.jvirt.vm.Hotplug;
import io.jvirt.vm.VmDefinition;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The live half of each change, as typed monitor calls: plug and unplug memory devices, vCPUs, disks and NICs,
 * resize virtio-mem, add and remove IOThreads. A plug that fails half-way removes what it added (a backend
 * without its device) before the error goes up. Device and node names are those {@link HotplugArgs} and
 * {@link QemuCommandLine} give at start, so a started QEMU and a changed one look alike.
 */
final class LiveApply {
    private static final Logger log = LoggerFactory.getLogger(LiveApply.class);
    static final long MIB = 1024L * 1024;
    /** As deep as a chain the confinement accepts (confine.ImageChains.MAX_DEPTH). */
    private static final int MAX_CHAIN_DEPTH = 32;

    private LiveApply() {
    }

    static void plugMemory(Monitor m, Hotplug.MemoryDevice d, String port) {
        String backend = HotplugArgs.memoryBackendId(d.id());
        m.device().objectAdd("memory-backend-ram", backend, Map.of("size", d.sizeMiB() * MIB));
        try {
            Map<String, Object> props = new LinkedHashMap<>();
            props.put("memdev", backend);
            props.put("node", d.node());
            if (d.dimm()) {
                m.device().deviceAdd("pc-dimm", HotplugArgs.memoryDeviceId(d.id()), props);
            } else {
                props.put("block-size", 2 * MIB);
                props.put("requested-size", (d.requestedMiB() == null ? 0 : d.requestedMiB()) * MIB);
                props.put("bus", port);
                m.device().deviceAdd("virtio-mem-pci", HotplugArgs.memoryDeviceId(d.id()), props);
            }
        } catch (MonitorException e) {
            quietly(() -> m.device().objectDel(backend));
            throw e;
        }
    }

    static void resizeVirtioMem(Monitor m, String id, int requestedMiB) {
        m.device().setDeviceProperty(HotplugArgs.memoryDeviceId(id), "requested-size", requestedMiB * MIB);
    }

    /** After DEVICE_DELETED: the memory's backend goes too. */
    static void releaseMemory(Monitor m, String id) {
        quietly(() -> m.device().objectDel(HotplugArgs.memoryBackendId(id)));
    }

    static void plugVcpu(Monitor m, DeviceReplies.HotpluggableCpu slot) {
        m.device().deviceAdd(slot.type(), vcpuDeviceId(slot), slot.props());
    }

    /** A hot-plugged vCPU's id, from its slot (one socket per vCPU). */
    static String vcpuDeviceId(DeviceReplies.HotpluggableCpu slot) {
        return "vcpu" + slot.props().getOrDefault("socket-id", 0);
    }

    /**
     * {@code file} is the path handed over to QEMU (see LiveSteps#handOverToQemu); {@code chain}, when confined,
     * the disk's whole checked backing chain as explicit nodes (base first), so QEMU never follows a header.
     */
    static void attachDisk(Monitor m, VmDefinition.Disk d, Path file, io.jvirt.vm.Confinement.DiskChain chain, String port) {
        QemuLaunchSpec.Disk spec = new QemuLaunchSpec.Disk(d.name(), file, d.format(), d.bus(), !d.writable(), null,
                d.iothread());
        String fileNode = QemuCommandLine.fileNodeName(spec);
        String fmtNode = QemuCommandLine.formatNodeName(spec);
        java.util.List<String> added = new java.util.ArrayList<>();
        try {
            if (chain == null) {
                m.block().blockdevAdd(Blockdev.file(fileNode, file).withReadOnly(!d.writable()));
                added.add(fileNode);
                m.block().blockdevAdd(Blockdev.format(d.format(), fmtNode, fileNode).withReadOnly(!d.writable()));
                added.add(fmtNode);
            } else {
                for (String node : chain.nodes()) {
                    Blockdev b = Blockdev.fromJson(node);
                    m.block().blockdevAdd(b);
                    added.add(b.nodeName());
                }
            }
            Map<String, Object> props = new LinkedHashMap<>();
            props.put("drive", fmtNode);
            props.put("iothread", d.iothread());
            props.put("bus", port);
            m.device().deviceAdd("virtio-blk-pci", QemuCommandLine.deviceId(spec), props);
        } catch (MonitorException e) {
            java.util.Collections.reverse(added); // upper nodes first: a node named as backing cannot go before its user
            BlockGraph.delete(m, added.toArray(String[]::new));
            throw e;
        }
    }

    /**
     * After DEVICE_DELETED: the disk's nodes (the device's id never changes; its top nodes are read from the
     * graph), then the layers of its explicit chain below the top, top-down (file-ID-N, fmt-ID-N).
     */
    static void releaseDisk(Monitor m, String disk, String file) {
        BlockGraph.release(m, "fmt-" + disk, file);
        BlockGraph.delete(m, "fmt-" + disk, "file-" + disk);
        java.util.Set<String> names = new java.util.HashSet<>();
        try {
            m.block().queryNamedBlockNodes().forEach(n -> names.add(n.nodeName()));
        } catch (MonitorException e) {
            log.debug("cannot list block nodes after detaching {}: {}", disk, e.getMessage());
            return;
        }
        for (int depth = 1; depth <= MAX_CHAIN_DEPTH; depth++) {
            String fmt = "fmt-" + disk + "-" + depth;
            String fileNode = "file-" + disk + "-" + depth;
            if (!names.contains(fmt) && !names.contains(fileNode)) {
                break;
            }
            BlockGraph.delete(m, fmt, fileNode);
        }
    }

    static void attachNic(Monitor m, QemuLaunchSpec.Nic n, String port) {
        String netdev = HotplugArgs.netdevId(n.id());
        if ("tap".equals(n.type())) {
            m.device().netdevAddTap(netdev, n.ifname(), n.vhost());
        } else {
            m.device().netdevAddUser(netdev, n.hostForwards());
        }
        try {
            Map<String, Object> props = new LinkedHashMap<>();
            props.put("netdev", netdev);
            props.put("mac", n.mac());
            props.put("bus", port);
            m.device().deviceAdd(n.model(), n.id(), props);
        } catch (MonitorException e) {
            quietly(() -> m.device().netdevDel(netdev));
            throw e;
        }
    }

    static void releaseNic(Monitor m, String nic) {
        quietly(() -> m.device().netdevDel(HotplugArgs.netdevId(nic)));
    }

    static void addIothread(Monitor m, Hotplug.IoThread t) {
        Map<String, Object> props = new LinkedHashMap<>();
        props.put("poll-max-ns", t.pollMaxNs());
        m.device().objectAdd("iothread", t.id(), props);
    }

    static void quietly(Runnable r) {
        try {
            r.run();
        } catch (MonitorException e) {
            log.debug("cleanup step failed (nothing to remove?): {}", e.getMessage());
        }
    }
}
