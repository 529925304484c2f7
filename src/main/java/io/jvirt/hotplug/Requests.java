package io.jvirt.hotplug;

import java.util.List;

/** The bodies of hotplug's API calls (each also takes {@code live}, {@code config}, {@code persistent}, {@code timeoutSeconds}). */
public final class Requests {
    private Requests() {
    }

    /** Where a change goes and how long a live one may wait for the guest (null: defaults, see {@link Scope}). */
    public record Options(Boolean live, Boolean config, Boolean persistent, Integer timeoutSeconds) {
        public static final Options DEFAULT = new Options(null, null, null, null);

        public int timeoutOr(int fallback) {
            return timeoutSeconds == null ? fallback : timeoutSeconds;
        }
    }

    /** A memory device to plug: {@code kind} dimm (default) or virtio-mem. */
    public record MemoryAttach(String id, String kind, Integer sizeMiB, Integer node, Integer requestedMiB, Options options) {
    }

    /** A virtio-mem device's new requested size. */
    public record MemoryResize(Integer requestedMiB, Options options) {
    }

    public record SetMemory(Integer memoryMiB, Options options) {
    }

    public record SetVcpus(Integer vcpus, Options options) {
    }

    /**
     * A disk on a file ({@code path}) or a storage pool's volume ({@code volume}, {@code POOL/VOL}: its path and,
     * unless {@code format} is given, its format) as target {@code target} (vdb...).
     */
    public record DiskAttach(String target, String path, String volume, String format, Boolean readOnly, String iothread,
                             Options options) {
        /** The same request on the volume's file ({@link HotplugService#attachDisk} takes a path only). */
        public DiskAttach onVolume(String volumePath, String volumeFormat) {
            return new DiskAttach(target, volumePath, volume, format == null ? volumeFormat : format, readOnly, iothread, options);
        }
    }

    /** A NIC: as a definition's NIC (type user, network or bridge). */
    public record NicAttach(String name, String type, String model, String mac, String network, String bridge,
                            List<io.jvirt.vm.VmDefinition.Forward> forwards, Options options) {
    }

    public record IothreadAdd(String id, String pinning, Long pollMaxNs, Options options) {
    }

    public record IothreadSet(Long pollMaxNs, Options options) {
    }

    /** A host CPU list ({@code 0-1,3}) for a vCPU, an IOThread or the emulator. */
    public record Pin(String cpus, Options options) {
    }

    /** Detaches carry only options. */
    public record Detach(Options options) {
    }
}
