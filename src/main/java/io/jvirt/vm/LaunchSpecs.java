package io.jvirt.vm;

import io.jvirt.qemu.Accelerator;
import io.jvirt.qemu.QemuLaunchSpec;
import java.nio.file.Path;
import java.util.List;

/** A definition as the QEMU driver's launch spec: what {@link VmProcesses} starts, and what a migration's target is. */
public final class LaunchSpecs {
    private LaunchSpecs() {
    }

    /** The spec that starts {@code d} with these NICs (as the NIC plumbing attaches them). */
    public static QemuLaunchSpec of(VmDefinition d, Accelerator accel, List<QemuLaunchSpec.Nic> nics) {
        return of(d, accel, nics, java.util.Map.of());
    }

    /** As above, each disk with the {@code -blockdev} arguments of its checked chain when given (confinement). */
    public static QemuLaunchSpec of(VmDefinition d, Accelerator accel, List<QemuLaunchSpec.Nic> nics,
                                    java.util.Map<String, List<String>> blockdevs) {
        QemuLaunchSpec.DirectBoot boot = d.boot() == null ? null : new QemuLaunchSpec.DirectBoot(
                d.boot().kernel() == null ? null : Path.of(d.boot().kernel()),
                d.boot().initrd() == null ? null : Path.of(d.boot().initrd()),
                d.boot().cmdline());
        return new QemuLaunchSpec(d.name(), d.uuid(), Path.of(d.emulator()), d.machine(), accel, d.memoryMiB(), d.vcpus(),
                boot,
                d.diskList().stream().map(x -> new QemuLaunchSpec.Disk(x.name(), Path.of(x.path()), x.format(), x.bus(),
                        !x.writable(), blockdevs.get(x.name()), x.iothread())).toList(),
                nics, false, null, resizable(d.hotplugOrEmpty(), d.vcpus()));
    }

    static QemuLaunchSpec.Resizable resizable(Hotplug h, int vcpus) {
        if (h == Hotplug.NONE) {
            return QemuLaunchSpec.Resizable.NONE;
        }
        return new QemuLaunchSpec.Resizable(h.maxMemoryMiB(), h.memorySlots() == null ? 0 : h.memorySlots(),
                h.maxVcpus() == null ? vcpus : h.maxVcpus(),
                h.numa().stream().map(n -> new QemuLaunchSpec.NumaNode(n.id(), n.cpus(), n.memoryMiB())).toList(),
                h.iothreads().stream().map(t -> new QemuLaunchSpec.IoThread(t.id(), t.pollMaxNs())).toList(),
                h.memoryDevices().stream().map(m -> new QemuLaunchSpec.MemoryDevice(m.id(), m.kind(), m.sizeMiB(),
                        m.node() == null ? 0 : m.node(), m.requestedMiB())).toList(),
                h.ports());
    }
}
