package io.jvirt.hotplug;

import com.fasterxml.jackson.annotation.JsonInclude;
import io.jvirt.vm.VmDefinition;
import java.time.Instant;
import java.util.List;

/**
 * What is really plugged into one running QEMU (document {@code hotplug-live} of the VM): the definition it would
 * take to start the same machine ({@code live}), for the QEMU {@code qemu} (pid@start time; a record of another
 * QEMU is stale), and the unplugs asked of the guest and not yet completed. Written before each live change acts
 * and after it completed; re-read from QEMU after a daemon restart (QEMU is the authority on live state).
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record LiveRecord(String qemu, VmDefinition live, List<PendingUnplug> pending, Instant updated, boolean vcpuUnplugged) {
    public LiveRecord {
        pending = pending == null ? List.of() : List.copyOf(pending);
    }

    public LiveRecord(String qemu, VmDefinition live, List<PendingUnplug> pending, Instant updated) {
        this(qemu, live, pending, updated, false);
    }

    /**
     * An unplug asked of the guest (device_del sent): {@code kind} memory, vcpu, disk or nic, {@code name} its
     * name in the definition, {@code device} QEMU's id or QOM path; {@code config} also removes it from the stored
     * definition once done.
     */
    public record PendingUnplug(String kind, String name, String device, Instant since, boolean config) {
    }

    LiveRecord withLive(VmDefinition d) {
        return new LiveRecord(qemu, d, pending, Instant.now(), vcpuUnplugged);
    }

    LiveRecord withPending(List<PendingUnplug> p) {
        return new LiveRecord(qemu, live, p, Instant.now(), vcpuUnplugged);
    }

    /** A vCPU was unplugged from this QEMU (under TCG, QEMU 7.2 then aborts on any further device_add). */
    LiveRecord withVcpuUnplugged() {
        return new LiveRecord(qemu, live, pending, Instant.now(), true);
    }
}
