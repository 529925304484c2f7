package io.jvirt.guest;

import com.fasterxml.jackson.annotation.JsonInclude;
import io.jvirt.qemu.monitor.GuestAgentReplies;
import java.time.Instant;
import java.util.List;
import java.util.Map;

/** What the API shows of the guest agent's answers, with jvirt's own names for disks and NICs. */
public final class GuestViews {
    private GuestViews() {
    }

    /**
     * Whether the agent answers and what it is: {@code commands} are the enabled ones; {@code error} says why it
     * does not answer; {@code slot} what the VM's agent slot is doing.
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record AgentInfo(String vm, boolean answers, String version, Long millis, List<String> commands,
                            List<String> disabledCommands, String error, Map<String, Object> slot) {
    }

    public record Ping(String vm, boolean answers, long millis) {
    }

    public record HostName(String vm, String hostname) {
    }

    /** The guest's clock against the host's: {@code offsetMillis} = guest - host. */
    public record Time(String vm, Instant guestTime, long guestNanos, Instant hostTime, long offsetMillis,
                       GuestAgentReplies.Timezone timezone) {
    }

    /** A mounted filesystem and the disks under it, named as jvirt names them ({@code disk} null: not mapped). */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Filesystem(String mountpoint, String name, String type, Long usedBytes, Long totalBytes,
                             List<FsDisk> disks) {
    }

    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record FsDisk(String disk, String guestDevice, String bus, String serial, String pciAddress) {
    }

    public record FreezeStatus(String vm, String status) {
    }

    public record FreezeResult(String vm, String action, int filesystems) {
    }

    /** A guest interface, with the jvirt NIC that has its MAC ({@code nic} null: none of the VM's NICs). */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Interface(String name, String mac, String nic, List<Address> addresses,
                            GuestAgentReplies.InterfaceStats statistics) {
    }

    public record Address(String address, String type, int prefix) {
    }

    /** A command run in the guest; {@code stdout}/{@code stderr} as UTF-8 text (captured output only). */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Exec(String vm, long pid, boolean exited, Integer exitCode, Integer signal, String stdout,
                       String stderr, Boolean stdoutTruncated, Boolean stderrTruncated) {
    }

    public record PowerRequest(String vm, String mode, String requested) {
    }

    /** What the guest has online by its own account: vCPUs, and memory in its online memory blocks (MiB). */
    public record Resources(int onlineVcpus, long onlineMemoryMiB) {
    }
}
