package io.jvirt.qemu.monitor;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.List;

/**
 * The guest agent's replies jvirt reads, as records (qemu-ga's QAPI names, kebab-case mapped to camelCase; fields
 * jvirt does not read are ignored). Get them from {@link GuestAgent}.
 */
public final class GuestAgentReplies {
    private GuestAgentReplies() {
    }

    /** guest-info: the agent's version and what it offers. */
    public record Info(String version, @JsonProperty("supported_commands") List<Command> supportedCommands) {
        public Info {
            supportedCommands = supportedCommands == null ? List.of() : List.copyOf(supportedCommands);
        }
    }

    public record Command(String name, boolean enabled, boolean successResponse) {
    }

    /** guest-get-osinfo: os-release fields and uname. */
    public record OsInfo(String id, String name, String prettyName, String version, String versionId,
                         String variant, String variantId, String kernelRelease, String kernelVersion,
                         String machine) {
    }

    /** guest-get-users: a logged-in user; {@code loginTime} in seconds since the epoch. */
    public record User(String user, String domain, double loginTime) {
    }

    public record Timezone(String zone, int offset) {
    }

    /** guest-get-fsinfo: one mounted filesystem and the disks under it. */
    public record Filesystem(String name, String mountpoint, String type, Long usedBytes, Long totalBytes,
                             List<FsDisk> disk) {
        public Filesystem {
            disk = disk == null ? List.of() : List.copyOf(disk);
        }
    }

    /** Where the guest found a disk: its controller's PCI address, bus type, serial and device node. */
    public record FsDisk(PciAddress pciController, String busType, int bus, int target, int unit, String serial,
                         String dev) {
    }

    public record PciAddress(int domain, int bus, int slot, int function) {
    }

    /** guest-network-get-interfaces: one interface of the guest. */
    public record Interface(String name, String hardwareAddress, List<IpAddress> ipAddresses, InterfaceStats statistics) {
        public Interface {
            ipAddresses = ipAddresses == null ? List.of() : List.copyOf(ipAddresses);
        }
    }

    public record IpAddress(String ipAddress, String ipAddressType, int prefix) {
    }

    /** The guest's own counters of an interface (its /proc/net/dev line). */
    public record InterfaceStats(long rxBytes, long rxPackets, long rxErrs, long rxDropped, long txBytes,
                                 long txPackets, long txErrs, long txDropped) {
    }

    /** guest-exec-status: {@code outData}/{@code errData} are base64, as the agent sends them. */
    public record ExecStatus(boolean exited, Integer exitcode, Integer signal, String outData, String errData,
                             Boolean outTruncated, Boolean errTruncated) {
    }

    /** guest-get-vcpus: one logical CPU. */
    public record Vcpu(int logicalId, boolean online, Boolean canOffline) {
    }

    /** guest-get-memory-blocks: one memory block (section). */
    public record MemoryBlock(long physIndex, boolean online, Boolean canOffline) {
    }
}
