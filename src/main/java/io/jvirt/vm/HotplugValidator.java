package io.jvirt.vm;

import io.jvirt.error.ErrorCode;
import io.jvirt.error.JvirtException;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Checks the {@link Hotplug} part of a definition (called by {@link DefinitionValidator}): maximums at least the
 * boot values, slots for the DIMMs, memory devices within maxmem and on nodes that exist, NUMA nodes covering every
 * possible vCPU exactly once and the boot memory exactly, pinning within the host's CPUs, disks on IOThreads that
 * exist. Each error names the field.
 */
final class HotplugValidator {
    static final Pattern DEVICE_ID = Pattern.compile("[a-z][a-z0-9]{0,15}");
    /** QEMU's limit of DIMM slots. */
    static final int MAX_SLOTS = 256;
    /** Linux onlines memory in blocks of 128 MiB on x86-64: a DIMM is whole blocks. */
    static final int DIMM_ALIGN_MIB = 128;
    /** virtio-mem's block size here (2 MiB, the smallest on x86-64). */
    static final int VIRTIO_MEM_BLOCK_MIB = 2;

    private HotplugValidator() {
    }

    static Hotplug validate(Hotplug h, int memoryMiB, int vcpus, List<VmDefinition.Disk> disks) {
        if (h == null) {
            for (VmDefinition.Disk d : disks) {
                if (d.iothread() != null) {
                    throw invalid("disk " + d.name() + ".iothread '" + DefinitionValidator.printable(d.iothread())
                            + "' names no IOThread (hotplug.iothreads is empty)");
                }
            }
            return null;
        }
        Integer maxMem = h.maxMemoryMiB();
        int slots = h.memorySlots() == null ? (maxMem == null ? 0 : 4) : h.memorySlots();
        if (maxMem != null && (maxMem < memoryMiB || maxMem > 1024 * 1024)) {
            throw invalid("hotplug.maxMemoryMiB must be at least memoryMiB (" + memoryMiB + ") and at most 1048576, got " + maxMem);
        }
        if (slots < 0 || slots > MAX_SLOTS) {
            throw invalid("hotplug.memorySlots must be between 0 and " + MAX_SLOTS + ", got " + slots);
        }
        if (slots > 0 && maxMem == null) {
            throw invalid("hotplug.memorySlots needs hotplug.maxMemoryMiB");
        }
        int maxVcpus = h.maxVcpus() == null ? vcpus : h.maxVcpus();
        if (maxVcpus < vcpus || maxVcpus > 255) {
            throw invalid("hotplug.maxVcpus must be at least vcpus (" + vcpus + ") and at most 255, got " + maxVcpus);
        }
        List<Hotplug.NumaNode> numa = checkNuma(h.numa(), memoryMiB, maxVcpus);
        List<Hotplug.MemoryDevice> mem = checkMemoryDevices(h.memoryDevices(), memoryMiB, maxMem, slots, numa.size());
        List<Hotplug.IoThread> iothreads = checkIothreads(h.iothreads());
        Set<String> ioIds = new HashSet<>();
        iothreads.forEach(t -> ioIds.add(t.id()));
        for (VmDefinition.Disk d : disks) {
            if (d.iothread() != null && !ioIds.contains(d.iothread())) {
                throw invalid("disk " + d.name() + ".iothread '" + DefinitionValidator.printable(d.iothread())
                        + "' names no IOThread of hotplug.iothreads " + ioIds);
            }
            if (d.iothread() != null && !"virtio".equals(d.bus())) {
                throw invalid("disk " + d.name() + ".iothread needs bus virtio");
            }
        }
        Map<String, String> pins = new LinkedHashMap<>();
        h.vcpuPinning().forEach((vcpu, list) -> {
            int index;
            try {
                index = Integer.parseInt(vcpu);
            } catch (NumberFormatException e) {
                throw invalid("hotplug.vcpuPinning key '" + DefinitionValidator.printable(vcpu) + "' is not a vCPU index");
            }
            if (index < 0 || index >= maxVcpus) {
                throw invalid("hotplug.vcpuPinning: vCPU " + index + " does not exist (0-" + (maxVcpus - 1) + ")");
            }
            pins.put(Integer.toString(index), CpuList.checkOnHost("hotplug.vcpuPinning[" + index + "]", list));
        });
        String emulator = h.emulatorPinning() == null ? null : CpuList.checkOnHost("hotplug.emulatorPinning", h.emulatorPinning());
        return new Hotplug(maxMem, maxMem == null ? null : slots, maxVcpus, numa, iothreads, pins, emulator, mem, h.ports());
    }

    private static List<Hotplug.NumaNode> checkNuma(List<Hotplug.NumaNode> in, int memoryMiB, int maxVcpus) {
        if (in.isEmpty()) {
            return List.of();
        }
        List<Hotplug.NumaNode> out = new ArrayList<>();
        BitSet covered = new BitSet();
        int memory = 0;
        for (int i = 0; i < in.size(); i++) {
            Hotplug.NumaNode n = in.get(i);
            String where = "hotplug.numa[" + i + "]";
            if (n == null || n.cpus() == null || n.memoryMiB() == null) {
                throw invalid(where + " needs cpus and memoryMiB");
            }
            int id = n.id() == null ? i : n.id();
            if (id != i) {
                throw invalid(where + ".id must be " + i + " (nodes are numbered 0, 1, ... in order), got " + id);
            }
            BitSet cpus = CpuList.parse(where + ".cpus", n.cpus());
            if (cpus.length() > maxVcpus) {
                throw invalid(where + ".cpus names vCPU " + (cpus.length() - 1) + ", beyond maxVcpus " + maxVcpus);
            }
            if (cpus.intersects(covered)) {
                BitSet twice = (BitSet) cpus.clone();
                twice.and(covered);
                throw invalid(where + ".cpus: vCPU " + twice.nextSetBit(0) + " is on two NUMA nodes");
            }
            covered.or(cpus);
            if (n.memoryMiB() < 0) {
                throw invalid(where + ".memoryMiB must not be negative");
            }
            memory += n.memoryMiB();
            out.add(new Hotplug.NumaNode(id, CpuList.format(cpus), n.memoryMiB()));
        }
        if (covered.cardinality() != maxVcpus) {
            BitSet missing = new BitSet();
            missing.set(0, maxVcpus);
            missing.andNot(covered);
            throw invalid("hotplug.numa: vCPU " + missing.nextSetBit(0) + " is on no NUMA node (the nodes' cpus must cover 0-"
                    + (maxVcpus - 1) + " exactly once)");
        }
        if (memory != memoryMiB) {
            throw invalid("hotplug.numa: the nodes' memoryMiB add up to " + memory + ", not memoryMiB " + memoryMiB);
        }
        return List.copyOf(out);
    }

    private static List<Hotplug.MemoryDevice> checkMemoryDevices(List<Hotplug.MemoryDevice> in, int memoryMiB,
                                                                 Integer maxMem, int slots, int nodes) {
        List<Hotplug.MemoryDevice> out = new ArrayList<>();
        Set<String> ids = new HashSet<>();
        for (int i = 0; i < in.size(); i++) {
            Hotplug.MemoryDevice m = checkMemoryDevice("hotplug.memoryDevices[" + i + "]", in.get(i), nodes);
            if (!ids.add(m.id())) {
                throw invalid("memory device id '" + m.id() + "' is used twice");
            }
            out.add(m);
        }
        checkMemoryRoom(out, memoryMiB, maxMem, slots);
        return List.copyOf(out);
    }

    /** One memory device on its own (also for a live attach): kind, size, node, requested size. */
    static Hotplug.MemoryDevice checkMemoryDevice(String where, Hotplug.MemoryDevice m, int nodes) {
        if (m == null) {
            throw invalid(where + " is empty");
        }
        String kind = m.kind() == null ? Hotplug.MemoryDevice.DIMM : m.kind();
        if (!kind.equals(Hotplug.MemoryDevice.DIMM) && !kind.equals(Hotplug.MemoryDevice.VIRTIO_MEM)) {
            throw invalid(where + ".kind must be dimm or virtio-mem, got '" + DefinitionValidator.printable(kind) + "'");
        }
        if (m.id() == null || !DEVICE_ID.matcher(m.id()).matches()) {
            throw invalid(where + ".id must be 1-16 lowercase letters and digits, starting with a letter, got '"
                    + DefinitionValidator.printable(m.id()) + "'");
        }
        int align = kind.equals(Hotplug.MemoryDevice.DIMM) ? DIMM_ALIGN_MIB : VIRTIO_MEM_BLOCK_MIB;
        if (m.sizeMiB() == null || m.sizeMiB() <= 0 || m.sizeMiB() % align != 0) {
            throw invalid(where + ".sizeMiB must be a positive multiple of " + align + " MiB for a " + kind + ", got " + m.sizeMiB());
        }
        int node = m.node() == null ? 0 : m.node();
        if (node < 0 || node >= Math.max(1, nodes)) {
            throw invalid(where + ".node " + node + " does not exist (" + (nodes == 0 ? "no NUMA nodes are defined: use 0"
                    : "nodes 0-" + (nodes - 1)) + ")");
        }
        Integer requested = null;
        if (kind.equals(Hotplug.MemoryDevice.VIRTIO_MEM)) {
            requested = m.requestedMiB() == null ? 0 : m.requestedMiB();
            if (requested < 0 || requested > m.sizeMiB() || requested % VIRTIO_MEM_BLOCK_MIB != 0) {
                throw invalid(where + ".requestedMiB must be a multiple of " + VIRTIO_MEM_BLOCK_MIB + " between 0 and sizeMiB ("
                        + m.sizeMiB() + "), got " + requested);
            }
        } else if (m.requestedMiB() != null) {
            throw invalid(where + ".requestedMiB is only for virtio-mem");
        }
        return new Hotplug.MemoryDevice(m.id(), kind, m.sizeMiB(), node, requested);
    }

    /** The devices fit: DIMMs in the slots, every device's full size within maxmem. */
    static void checkMemoryRoom(List<Hotplug.MemoryDevice> devices, int memoryMiB, Integer maxMem, int slots) {
        if (devices.isEmpty()) {
            return;
        }
        if (maxMem == null) {
            throw invalid("memory devices need hotplug.maxMemoryMiB (QEMU reserves room for them at start)");
        }
        long dimms = devices.stream().filter(Hotplug.MemoryDevice::dimm).count();
        if (dimms > slots) {
            throw invalid(dimms + " DIMMs do not fit in hotplug.memorySlots " + slots);
        }
        long total = memoryMiB + devices.stream().mapToLong(Hotplug.MemoryDevice::sizeMiB).sum();
        if (total > maxMem) {
            throw invalid("memory devices would take the VM to " + total + " MiB, beyond hotplug.maxMemoryMiB " + maxMem);
        }
    }

    private static List<Hotplug.IoThread> checkIothreads(List<Hotplug.IoThread> in) {
        List<Hotplug.IoThread> out = new ArrayList<>();
        Set<String> ids = new HashSet<>();
        for (int i = 0; i < in.size(); i++) {
            out.add(checkIothread("hotplug.iothreads[" + i + "]", in.get(i)));
            if (!ids.add(out.get(i).id())) {
                throw invalid("IOThread id '" + out.get(i).id() + "' is used twice");
            }
        }
        return List.copyOf(out);
    }

    static Hotplug.IoThread checkIothread(String where, Hotplug.IoThread t) {
        if (t == null || t.id() == null || !DEVICE_ID.matcher(t.id()).matches()) {
            throw invalid(where + ".id must be 1-16 lowercase letters and digits, starting with a letter");
        }
        if (t.pollMaxNs() != null && (t.pollMaxNs() < 0 || t.pollMaxNs() > 1_000_000_000L)) {
            throw invalid(where + ".pollMaxNs must be between 0 and 1000000000, got " + t.pollMaxNs());
        }
        return new Hotplug.IoThread(t.id(), t.pinning() == null ? null : CpuList.checkOnHost(where + ".pinning", t.pinning()),
                t.pollMaxNs());
    }

    private static JvirtException invalid(String message) {
        return new JvirtException(ErrorCode.INVALID_DEFINITION, message);
    }
}
