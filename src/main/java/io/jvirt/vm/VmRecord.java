package io.jvirt.vm;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.time.Instant;

/**
 * A VM's runtime record as persisted (document "state"): its state, and when a QEMU runs, which process and
 * sockets belong to it, plus the job in progress and its intent. Written before and after each step that
 * changes the process, so a restarted daemon knows what to reconnect to and what was under way.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record VmRecord(
        VmState state,
        String reason,
        Instant since,
        Long pid,
        Instant startedAt,
        String accel,
        JobRecord job) {

    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record JobRecord(String name, String operation, Instant since, String intent) {
    }

    static VmRecord initial() {
        return new VmRecord(VmState.SHUTOFF, "defined", Instant.now(), null, null, null, null);
    }
}
