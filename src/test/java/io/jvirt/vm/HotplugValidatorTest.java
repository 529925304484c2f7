package io.jvirt.vm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.jvirt.error.JvirtException;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The hotplug part of a definition: each limit refused with the field named, defaults filled in. */
class HotplugValidatorTest {
    private static final List<VmDefinition.Disk> NO_DISKS = List.of();

    private static Hotplug h(Integer maxMem, Integer slots, Integer maxVcpus, List<Hotplug.NumaNode> numa,
                             List<Hotplug.MemoryDevice> mem) {
        return new Hotplug(maxMem, slots, maxVcpus, numa, List.of(), Map.of(), null, mem, Map.of());
    }

    private static Hotplug.MemoryDevice dimm(String id, int mib, int node) {
        return new Hotplug.MemoryDevice(id, null, mib, node, null);
    }

    private static void refused(Hotplug h, String message) {
        assertThatThrownBy(() -> HotplugValidator.validate(h, 128, 1, NO_DISKS)).isInstanceOf(JvirtException.class)
                .hasMessageContaining(message);
    }

    @Test
    void fillsDefaults() {
        Hotplug v = HotplugValidator.validate(h(1024, null, null, List.of(), List.of(dimm("d1", 256, 0))), 128, 2, NO_DISKS);
        assertThat(v.memorySlots()).isEqualTo(4);
        assertThat(v.maxVcpus()).isEqualTo(2);
        assertThat(v.memoryDevices().getFirst().kind()).isEqualTo("dimm");
    }

    @Test
    void memoryLimits() {
        refused(h(64, 4, null, List.of(), List.of()), "hotplug.maxMemoryMiB must be at least memoryMiB (128)");
        refused(h(1024, 1, null, List.of(), List.of(dimm("a", 128, 0), dimm("b", 128, 0))), "2 DIMMs do not fit in hotplug.memorySlots 1");
        refused(h(512, 4, null, List.of(), List.of(dimm("a", 256, 0), dimm("b", 256, 0))), "beyond hotplug.maxMemoryMiB 512");
        refused(h(1024, 4, null, List.of(), List.of(dimm("a", 100, 0))), "multiple of 128 MiB");
        refused(h(1024, 4, null, List.of(), List.of(dimm("a", 128, 1))), "node 1 does not exist");
        refused(h(null, null, null, List.of(), List.of(dimm("a", 128, 0))), "need hotplug.maxMemoryMiB");
        refused(h(1024, 4, null, List.of(), List.of(new Hotplug.MemoryDevice("v", "virtio-mem", 256, 0, 300))),
                "requestedMiB must be a multiple of 2 between 0 and sizeMiB (256)");
    }

    @Test
    void numaNodesCoverEveryVcpuOnceAndTheBootMemory() {
        List<Hotplug.NumaNode> ok = List.of(new Hotplug.NumaNode(0, "0-1", 64), new Hotplug.NumaNode(1, "2-3", 64));
        assertThat(HotplugValidator.validate(h(1024, 4, 4, ok, List.of(dimm("a", 128, 1))), 128, 1, NO_DISKS).numa()).hasSize(2);
        refused(h(1024, 4, 4, List.of(new Hotplug.NumaNode(0, "0-2", 64), new Hotplug.NumaNode(1, "2-3", 64)), List.of()),
                "vCPU 2 is on two NUMA nodes");
        refused(h(1024, 4, 4, List.of(new Hotplug.NumaNode(0, "0-1", 64), new Hotplug.NumaNode(1, "2", 64)), List.of()),
                "vCPU 3 is on no NUMA node");
        refused(h(1024, 4, 4, List.of(new Hotplug.NumaNode(0, "0-1", 64), new Hotplug.NumaNode(1, "2-3", 32)), List.of()),
                "add up to 96, not memoryMiB 128");
    }

    @Test
    void vcpusAndPinning() {
        refused(h(null, null, 0, List.of(), List.of()), "hotplug.maxVcpus must be at least vcpus (1)");
        refused(new Hotplug(null, null, 2, List.of(), List.of(), Map.of("0", "9999"), null, List.of(), Map.of()),
                "host CPU 9999, which this host does not have");
        refused(new Hotplug(null, null, 2, List.of(), List.of(), Map.of("2", "0"), null, List.of(), Map.of()),
                "vCPU 2 does not exist");
        refused(new Hotplug(null, null, null, List.of(), List.of(new Hotplug.IoThread("io1", "0-9999", null)), Map.of(), null,
                List.of(), Map.of()), "hotplug.iothreads[0].pinning names host CPU");
    }

    @Test
    void disksRunOnIothreadsThatExist() {
        List<VmDefinition.Disk> disks = List.of(new VmDefinition.Disk("vda", "/x", "raw", "virtio", false, "io9"));
        assertThatThrownBy(() -> HotplugValidator.validate(h(null, null, null, List.of(), List.of()), 128, 1, disks))
                .hasMessageContaining("disk vda.iothread 'io9' names no IOThread");
    }
}
