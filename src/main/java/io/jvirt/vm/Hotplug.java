package io.jvirt.vm;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The part of a definition that can change while the VM runs, and how far it may grow (docs/hotplug.md). With
 * {@code memoryMiB} and {@code vcpus} of the definition as the boot values: {@code maxMemoryMiB} and
 * {@code memorySlots} (QEMU's {@code -m S,slots=N,maxmem=M}), {@code maxVcpus} ({@code -smp N,maxcpus=M}), NUMA
 * nodes, IOThreads, vCPU and emulator pinning, memory devices plugged at boot (DIMMs, virtio-mem), and
 * {@code ports}: which hot-plug port a device added live sits on (so the QEMU a migration starts puts it there
 * too). A stored definition has every list and map filled (possibly empty).
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record Hotplug(Integer maxMemoryMiB, Integer memorySlots, Integer maxVcpus, List<NumaNode> numa,
                      List<IoThread> iothreads, Map<String, String> vcpuPinning, String emulatorPinning,
                      List<MemoryDevice> memoryDevices, Map<String, String> ports) {
    public static final Hotplug NONE = new Hotplug(null, null, null, List.of(), List.of(), Map.of(), null, List.of(), Map.of());

    public Hotplug {
        numa = numa == null ? List.of() : List.copyOf(numa);
        iothreads = iothreads == null ? List.of() : List.copyOf(iothreads);
        vcpuPinning = vcpuPinning == null ? Map.of() : Map.copyOf(vcpuPinning);
        memoryDevices = memoryDevices == null ? List.of() : List.copyOf(memoryDevices);
        ports = ports == null ? Map.of() : Map.copyOf(ports);
    }

    /** A NUMA node: {@code cpus} a CPU list (0-1,3) of vCPU indexes, {@code memoryMiB} its share of the boot memory. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record NumaNode(Integer id, String cpus, Integer memoryMiB) {
    }

    /** An IOThread: {@code pinning} a host CPU list, {@code pollMaxNs} QEMU's adaptive polling bound. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record IoThread(String id, String pinning, Long pollMaxNs) {
        public IoThread withPinning(String p) {
            return new IoThread(id, p, pollMaxNs);
        }

        public IoThread withPollMaxNs(Long ns) {
            return new IoThread(id, pinning, ns);
        }
    }

    /**
     * A memory device: {@code kind} {@code dimm} or {@code virtio-mem}, on NUMA {@code node}. A DIMM has
     * {@code sizeMiB}; a virtio-mem device can grow to {@code sizeMiB} and is asked for {@code requestedMiB}.
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record MemoryDevice(String id, String kind, Integer sizeMiB, Integer node, Integer requestedMiB) {
        public static final String DIMM = "dimm";
        public static final String VIRTIO_MEM = "virtio-mem";

        @JsonIgnore
        public boolean dimm() {
            return DIMM.equals(kind);
        }

        /** What the device adds to the guest's memory when the guest took all it was asked for. */
        @JsonIgnore
        public int effectiveMiB() {
            return dimm() ? sizeMiB : requestedMiB == null ? 0 : requestedMiB;
        }

        public MemoryDevice withRequested(int mib) {
            return new MemoryDevice(id, kind, sizeMiB, node, mib);
        }
    }

    /** Hot-pluggable at all: QEMU was (or will be) started with room to grow. */
    @JsonIgnore
    public boolean memoryHotplug() {
        return maxMemoryMiB != null;
    }

    public Optional<MemoryDevice> findMemoryDevice(String id) {
        return memoryDevices.stream().filter(m -> m.id().equals(id)).findFirst();
    }

    public Optional<IoThread> findIothread(String id) {
        return iothreads.stream().filter(t -> t.id().equals(id)).findFirst();
    }

    public Hotplug withMemoryDevices(List<MemoryDevice> changed) {
        return new Hotplug(maxMemoryMiB, memorySlots, maxVcpus, numa, iothreads, vcpuPinning, emulatorPinning, changed, ports);
    }

    public Hotplug withIothreads(List<IoThread> changed) {
        return new Hotplug(maxMemoryMiB, memorySlots, maxVcpus, numa, changed, vcpuPinning, emulatorPinning, memoryDevices, ports);
    }

    public Hotplug withVcpuPinning(Map<String, String> changed) {
        return new Hotplug(maxMemoryMiB, memorySlots, maxVcpus, numa, iothreads, changed, emulatorPinning, memoryDevices, ports);
    }

    public Hotplug withEmulatorPinning(String changed) {
        return new Hotplug(maxMemoryMiB, memorySlots, maxVcpus, numa, iothreads, vcpuPinning, changed, memoryDevices, ports);
    }

    public Hotplug withPorts(Map<String, String> changed) {
        return new Hotplug(maxMemoryMiB, memorySlots, maxVcpus, numa, iothreads, vcpuPinning, emulatorPinning, memoryDevices, changed);
    }

    /** A copy of a list with one element replaced (or appended), for the withers' callers. */
    public static <T> List<T> replace(List<T> in, java.util.function.Predicate<T> which, T with) {
        List<T> out = new ArrayList<>();
        boolean done = false;
        for (T t : in) {
            if (which.test(t)) {
                if (with != null) {
                    out.add(with);
                }
                done = true;
            } else {
                out.add(t);
            }
        }
        if (!done && with != null) {
            out.add(with);
        }
        return out;
    }

    public static Map<String, String> put(Map<String, String> in, String key, String value) {
        Map<String, String> out = new LinkedHashMap<>(in);
        if (value == null) {
            out.remove(key);
        } else {
            out.put(key, value);
        }
        return out;
    }
}
