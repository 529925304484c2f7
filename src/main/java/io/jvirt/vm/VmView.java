package io.jvirt.vm;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.time.Instant;

/** What the API shows of a VM. {@code definition} is left out of list answers. */
@JsonInclude(JsonInclude.Include.ALWAYS)
public record VmView(
        String name,
        String uuid,
        VmState state,
        String reason,
        Instant stateSince,
        @JsonInclude(JsonInclude.Include.NON_NULL) VmDefinition definition,
        JobView job,
        RuntimeView runtime,
        @JsonInclude(JsonInclude.Include.NON_NULL) HoldView hold,
        @JsonInclude(JsonInclude.Include.NON_NULL) java.util.List<java.util.Map<String, Object>> nics) {

    public VmView(String name, String uuid, VmState state, String reason, Instant stateSince, VmDefinition definition,
                  JobView job, RuntimeView runtime, HoldView hold) {
        this(name, uuid, state, reason, stateSince, definition, job, runtime, hold, null);
    }

    /** With each NIC's tap, network, MAC and addresses (see {@link NicPlumbing#describe}). */
    public VmView withNics(java.util.List<java.util.Map<String, Object>> nicViews) {
        return new VmView(name, uuid, state, reason, stateSince, definition, job, runtime, hold, nicViews);
    }

    public record JobView(String name, String operation, Instant since) {
    }

    public record RuntimeView(long pid, String accel, String qmpSocket, Instant startedAt) {
    }

    /** Why the guest is held paused (resume and start refused until the definition names its disks). */
    public record HoldView(String reason, Instant since) {
    }

    public VmView withoutDefinition() {
        return new VmView(name, uuid, state, reason, stateSince, null, job, runtime, hold);
    }
}
