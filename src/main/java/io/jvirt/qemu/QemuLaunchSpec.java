package io.jvirt.qemu;

import java.nio.file.Path;
import java.util.List;

/**
 * Everything the driver needs to launch one QEMU process. This is the driver's own input model: the VM layer maps
 * its definitions onto it, so this package never depends on how jvirt stores or validates definitions.
 */
public record QemuLaunchSpec(
        String name,
        String uuid,
        Path emulator,
        String machine,
        Accelerator accel,
        int memoryMiB,
        int vcpus,
        DirectBoot boot,
        List<Disk> disks,
        List<Nic> nics,
        boolean incomingDefer,
        Confined confined,
        Resizable resizable) {

    public QemuLaunchSpec {
        disks = List.copyOf(disks);
        nics = List.copyOf(nics);
        resizable = resizable == null ? Resizable.NONE : resizable;
    }

    public QemuLaunchSpec(String name, String uuid, Path emulator, String machine, Accelerator accel, int memoryMiB,
                          int vcpus, DirectBoot boot, List<Disk> disks, List<Nic> nics, boolean incomingDefer,
                          Confined confined) {
        this(name, uuid, emulator, machine, accel, memoryMiB, vcpus, boot, disks, nics, incomingDefer, confined, Resizable.NONE);
    }

    /** The same QEMU with room to grow: memory slots and devices, vCPU slots, NUMA, IOThreads, hot-plug ports. */
    public QemuLaunchSpec withResizable(Resizable r) {
        return new QemuLaunchSpec(name, uuid, emulator, machine, accel, memoryMiB, vcpus, boot, disks, nics, incomingDefer,
                confined, r);
    }

    public QemuLaunchSpec(String name, String uuid, Path emulator, String machine, Accelerator accel, int memoryMiB,
                          int vcpus, DirectBoot boot, List<Disk> disks, List<Nic> nics) {
        this(name, uuid, emulator, machine, accel, memoryMiB, vcpus, boot, disks, nics, false, null, Resizable.NONE);
    }

    /** The same QEMU, waiting for a migration stream (RAM and device state) before it may run. */
    public QemuLaunchSpec withIncomingDefer() {
        return new QemuLaunchSpec(name, uuid, emulator, machine, accel, memoryMiB, vcpus, boot, disks, nics, true, confined,
                resizable);
    }

    /** The same QEMU, started under {@code confined} (null: as the daemon). */
    public QemuLaunchSpec withConfined(Confined confined) {
        return new QemuLaunchSpec(name, uuid, emulator, machine, accel, memoryMiB, vcpus, boot, disks, nics,
                incomingDefer, confined, resizable);
    }

    /**
     * QEMU without root: {@code prefix} (e.g. {@code setpriv --reuid=N ... --}) execs QEMU as its identity, same
     * pid; {@code suffix} ends the command line ({@code -sandbox ...}). Computed by the VM layer's confinement.
     */
    public record Confined(List<String> prefix, List<String> suffix) {
        public Confined {
            prefix = List.copyOf(prefix);
            suffix = List.copyOf(suffix);
        }
    }

    /** Kernel + initrd direct boot; null fields are left out. */
    public record DirectBoot(Path kernel, Path initrd, String cmdline) {
    }

    /**
     * A disk: {@code id} is the guest-visible target name (vda) and the stem of the stable node and device ids.
     * {@code format} is passed to QEMU explicitly: an image's format is never probed. {@code blockdevs}, when
     * set, are the {@code -blockdev} arguments of the disk's whole checked backing chain (explicit, base first, top
     * nodes {@code file-ID}/{@code fmt-ID}); null: the disk's one file node and format node.
     */
    public record Disk(String id, Path path, String format, String bus, boolean readOnly, List<String> blockdevs,
                       String iothread) {
        public Disk {
            blockdevs = blockdevs == null ? null : List.copyOf(blockdevs);
        }

        public Disk(String id, Path path, String format, String bus, boolean readOnly, List<String> blockdevs) {
            this(id, path, format, bus, readOnly, blockdevs, null);
        }

        public Disk(String id, Path path, String format, String bus, boolean readOnly) {
            this(id, path, format, bus, readOnly, null, null);
        }
    }

    /**
     * What lets a VM change while it runs ({@link HotplugArgs} turns it into arguments): {@code maxMemoryMiB} null
     * means no memory hotplug; {@code numa} nodes (cpus as a CPU list, memory in MiB); {@code iothreads}; memory
     * devices present at start; {@code ports}: device id -> the hot-plug port a device added live sits on.
     */
    public record Resizable(Integer maxMemoryMiB, int memorySlots, int maxVcpus, List<NumaNode> numa,
                            List<IoThread> iothreads, List<MemoryDevice> memoryDevices, java.util.Map<String, String> ports) {
        public static final Resizable NONE = new Resizable(null, 0, 0, List.of(), List.of(), List.of(), java.util.Map.of());

        public Resizable {
            numa = List.copyOf(numa);
            iothreads = List.copyOf(iothreads);
            memoryDevices = List.copyOf(memoryDevices);
            ports = java.util.Map.copyOf(ports);
        }
    }

    public record NumaNode(int id, String cpus, int memoryMiB) {
    }

    public record IoThread(String id, Long pollMaxNs) {
    }

    /** A DIMM ({@code dimm}: {@code sizeMiB}) or virtio-mem ({@code sizeMiB} the most, {@code requestedMiB} asked). */
    public record MemoryDevice(String id, String kind, int sizeMiB, int node, Integer requestedMiB) {
    }

    /**
     * A NIC: {@code type} is QEMU's netdev backend, {@code user} (with {@code hostForwards}, QEMU's hostfwd rules
     * such as {@code tcp:127.0.0.1:8080-:80}) or {@code tap} (the existing tap {@code ifname}, made by the manager;
     * {@code vhost} asks for vhost-net).
     */
    public record Nic(String id, String type, String model, String mac, String ifname, boolean vhost,
                      List<String> hostForwards) {
        public Nic {
            hostForwards = hostForwards == null ? List.of() : List.copyOf(hostForwards);
        }

        public Nic(String id, String type, String model, String mac) {
            this(id, type, model, mac, null, false, List.of());
        }
    }
}
