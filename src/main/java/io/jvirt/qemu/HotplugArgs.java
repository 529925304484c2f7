package io.jvirt.qemu;

import java.util.ArrayList;
import java.util.List;

/**
 * The command-line part of what can change while a VM runs (memory slots and maxmem, vCPU slots, NUMA nodes,
 * IOThreads, memory devices, hot-plug ports) and the names QEMU knows these things by. {@link QemuCommandLine}
 * calls it; the hotplug capability uses the same names live, so a QEMU started from a VM's live record is the
 * same machine (the destination of a migration).
 */
public final class HotplugArgs {
    /** Hot-plug ports on q35 (PCIe root ports at fixed addresses, so every start places them alike). */
    public static final int PORTS = 4;
    private static final int FIRST_PORT_SLOT = 0x1b;

    private HotplugArgs() {
    }

    /** {@code -m} value: boot memory, and with hotplug its slots and maximum. */
    static String memory(QemuLaunchSpec s) {
        QemuLaunchSpec.Resizable r = s.resizable();
        if (r.maxMemoryMiB() == null) {
            return Integer.toString(s.memoryMiB());
        }
        return s.memoryMiB() + "M,slots=" + r.memorySlots() + ",maxmem=" + r.maxMemoryMiB() + "M";
    }

    /** {@code -smp} value: one socket per possible vCPU, so each vCPU can be plugged (and put on a node) alone. */
    static String smp(QemuLaunchSpec s) {
        int max = Math.max(s.vcpus(), s.resizable().maxVcpus());
        if (max == s.vcpus() && s.resizable().numa().isEmpty()) {
            return Integer.toString(s.vcpus());
        }
        return s.vcpus() + ",sockets=" + max + ",cores=1,threads=1,maxcpus=" + max;
    }

    /** NUMA nodes with their memory backends, and IOThreads: before any device that names them. */
    static List<String> objects(QemuLaunchSpec s) {
        List<String> a = new ArrayList<>();
        for (QemuLaunchSpec.NumaNode n : s.resizable().numa()) {
            String ram = numaBackendId(n.id());
            a.addAll(List.of("-object", "memory-backend-ram,id=" + ram + ",size=" + n.memoryMiB() + "M"));
            StringBuilder node = new StringBuilder("node,nodeid=").append(n.id());
            for (String range : n.cpus().split(",")) {
                if (!range.isEmpty()) {
                    node.append(",cpus=").append(range);
                }
            }
            a.addAll(List.of("-numa", node.append(",memdev=").append(ram).toString()));
        }
        for (QemuLaunchSpec.IoThread t : s.resizable().iothreads()) {
            a.addAll(List.of("-object", "iothread,id=" + t.id() + (t.pollMaxNs() == null ? "" : ",poll-max-ns=" + t.pollMaxNs())));
        }
        return a;
    }

    /** Hot-plug ports, then the memory devices and the devices that sit on a port (they need it to exist). */
    static List<String> tail(QemuLaunchSpec s) {
        List<String> a = new ArrayList<>();
        if (hasPorts(s.machine())) {
            for (int i = 0; i < PORTS; i++) {
                a.addAll(List.of("-device", "pcie-root-port,id=" + portId(i) + ",bus=pcie.0,chassis=" + (i + 1)
                        + ",addr=0x" + Integer.toHexString(FIRST_PORT_SLOT + i) + ".0"));
            }
        }
        for (QemuLaunchSpec.MemoryDevice m : s.resizable().memoryDevices()) {
            boolean dimm = "dimm".equals(m.kind());
            a.addAll(List.of("-object", "memory-backend-ram,id=" + memoryBackendId(m.id()) + ",size=" + m.sizeMiB() + "M"));
            String dev = dimm
                    ? "pc-dimm,id=" + memoryDeviceId(m.id()) + ",memdev=" + memoryBackendId(m.id()) + ",node=" + m.node()
                    : "virtio-mem-pci,id=" + memoryDeviceId(m.id()) + ",memdev=" + memoryBackendId(m.id()) + ",node=" + m.node()
                    + ",block-size=2M,requested-size=" + (m.requestedMiB() == null ? 0 : m.requestedMiB()) + "M"
                    + bus(s, memoryDeviceId(m.id()));
            a.addAll(List.of("-device", dev));
        }
        return a;
    }

    /** {@code ,bus=PORT} for a device that was added live on a port, else nothing. */
    static String bus(QemuLaunchSpec s, String deviceId) {
        String port = s.resizable().ports().get(deviceId);
        return port == null ? "" : ",bus=" + port;
    }

    static boolean onPort(QemuLaunchSpec s, String deviceId) {
        return s.resizable().ports().containsKey(deviceId);
    }

    /** q35 needs root ports to hot-plug PCI devices; i440fx (pc) plugs them on its root bus. */
    public static boolean hasPorts(String machine) {
        return machine.startsWith("q35") || machine.contains("-q35");
    }

    public static String portId(int i) {
        return "hp" + i;
    }

    public static String numaBackendId(int node) {
        return "numa-ram" + node;
    }

    /** The QEMU device of memory device {@code id} (a definition's id; prefixed so it never meets a NIC's). */
    public static String memoryDeviceId(String id) {
        return "mem-" + id;
    }

    public static String memoryBackendId(String id) {
        return "ram-" + id;
    }

    /** The netdev of NIC {@code id}. */
    public static String netdevId(String nicId) {
        return "host" + nicId;
    }
}
