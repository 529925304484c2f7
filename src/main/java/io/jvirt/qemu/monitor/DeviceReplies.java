package io.jvirt.qemu.monitor;

import java.util.Map;

/** The replies of {@link DeviceCommands} and {@link MemoryCommands} as records (QEMU's kebab-case names). */
public final class DeviceReplies {
    private DeviceReplies() {
    }

    /**
     * query-hotpluggable-cpus: one vCPU slot. {@code props} (socket-id, core-id, thread-id, node-id) and {@code type}
     * are what device_add must be given, exactly; {@code qomPath} is null while the slot is empty.
     */
    public record HotpluggableCpu(String type, int vcpusCount, Map<String, Object> props, String qomPath) {
        public HotpluggableCpu {
            props = props == null ? Map.of() : Map.copyOf(props);
        }

        public boolean plugged() {
            return qomPath != null;
        }
    }

    /**
     * query-memory-devices, one device: {@code type} {@code dimm} or {@code virtio-mem}; sizes in bytes. For
     * virtio-mem {@code size} is what the guest took, {@code requestedSize} what it was asked for, {@code maxSize}
     * the backend's size; a DIMM has only {@code size}.
     */
    public record MemoryDevice(String type, String id, long size, Long requestedSize, Long maxSize, Long blockSize,
                               int node, String memdev, Boolean hotplugged) {
        MemoryDevice withType(String t) {
            return new MemoryDevice(t, id, size, requestedSize, maxSize, blockSize, node, memdev, hotplugged);
        }
    }

    /** query-memory-size-summary, bytes. */
    public record MemorySizeSummary(long baseMemory, Long pluggedMemory) {
    }
}
