package io.jvirt.vm;

import com.fasterxml.jackson.annotation.JsonInclude;
import io.jvirt.error.ErrorCode;
import io.jvirt.error.JvirtException;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * What a user defines: the persistent description of a VM. Boxed fields may be null in input (then defaults
 * apply, see {@link DefinitionValidator}); a stored definition always has them filled.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record VmDefinition(
        String name,
        String uuid,
        Integer memoryMiB,
        Integer vcpus,
        String machine,
        String accel,
        String emulator,
        Boot boot,
        List<Disk> disks,
        List<Nic> nics,
        Hotplug hotplug) {

    public VmDefinition(String name, String uuid, Integer memoryMiB, Integer vcpus, String machine, String accel,
                        String emulator, Boot boot, List<Disk> disks, List<Nic> nics) {
        this(name, uuid, memoryMiB, vcpus, machine, accel, emulator, boot, disks, nics, null);
    }

    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Boot(String kernel, String initrd, String cmdline) {
    }

    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Disk(String name, String path, String format, String bus, Boolean readOnly, String iothread) {
        public Disk(String name, String path, String format, String bus, Boolean readOnly) {
            this(name, path, format, bus, readOnly, null);
        }

        /** The image the disk runs on. */
        public DiskImage image() {
            return new DiskImage(path, format);
        }

        /** The same disk on another image (all a pivot, a snapshot or a merge changes). */
        public Disk withImage(DiskImage to) {
            return new Disk(name, to.path(), to.format(), bus, readOnly, iothread);
        }

        /** Not read-only (an absent flag means writable). */
        public boolean writable() {
            return !Boolean.TRUE.equals(readOnly);
        }
    }

    /**
     * A NIC: {@code type} is {@code user} (QEMU user-mode networking, optional port {@code forwards}),
     * {@code network} (a tap on the bridge of the jvirt network named {@code network}) or {@code bridge} (a tap on
     * the existing Linux bridge named {@code bridge}). {@code vhost} false turns vhost-net off for its tap.
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Nic(String name, String type, String model, String mac, String network, String bridge,
                      List<Forward> forwards, Boolean vhost) {
        public Nic(String name, String type, String model, String mac) {
            this(name, type, model, mac, null, null, null, null);
        }
    }

    /** A user-mode port forward: {@code hostAddress:hostPort} on the host to {@code guestPort} in the guest. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Forward(String proto, String hostAddress, Integer hostPort, Integer guestPort) {
    }

    /** What can change while the VM runs, and where it may grow to (see {@link Hotplug}); null: nothing of it. */
    public Hotplug hotplugOrEmpty() {
        return hotplug == null ? Hotplug.NONE : hotplug;
    }

    /** The NICs, never null. */
    public List<Nic> nicList() {
        return nics == null ? List.of() : nics;
    }

    /** The disks, never null (an input definition may have none). */
    public List<Disk> diskList() {
        return disks == null ? List.of() : disks;
    }

    /** The disk named {@code disk} (the guest's target name, e.g. vda). */
    public Optional<Disk> findDisk(String disk) {
        return diskList().stream().filter(d -> d.name().equals(disk)).findFirst();
    }

    /** The disk named {@code disk}, or {@code disk-not-found} naming the VM. */
    public Disk requireDisk(String disk) {
        return findDisk(disk).orElseThrow(() -> new JvirtException(ErrorCode.DISK_NOT_FOUND, "VM '" + name
                + "' has no disk '" + disk + "'", Map.of("vm", name, "disk", disk)));
    }

    public VmDefinition withDisks(List<Disk> changed) {
        return new VmDefinition(name, uuid, memoryMiB, vcpus, machine, accel, emulator, boot, List.copyOf(changed), nics, hotplug);
    }

    public VmDefinition withBoot(Boot changed) {
        return new VmDefinition(name, uuid, memoryMiB, vcpus, machine, accel, emulator, changed, disks, nics, hotplug);
    }

    public VmDefinition withNics(List<Nic> changed) {
        return new VmDefinition(name, uuid, memoryMiB, vcpus, machine, accel, emulator, boot, disks, List.copyOf(changed), hotplug);
    }

    public VmDefinition withMemory(int changedMiB) {
        return new VmDefinition(name, uuid, changedMiB, vcpus, machine, accel, emulator, boot, disks, nics, hotplug);
    }

    public VmDefinition withVcpus(int changed) {
        return new VmDefinition(name, uuid, memoryMiB, changed, machine, accel, emulator, boot, disks, nics, hotplug);
    }

    public VmDefinition withHotplug(Hotplug changed) {
        return new VmDefinition(name, uuid, memoryMiB, vcpus, machine, accel, emulator, boot, disks, nics, changed);
    }

    /** The same VM under another name, without the facts each host decides for itself (uuid, emulator). */
    public VmDefinition portable(String newName) {
        return new VmDefinition(newName, null, memoryMiB, vcpus, machine, accel, null, boot, disks, nics, hotplug);
    }
}
