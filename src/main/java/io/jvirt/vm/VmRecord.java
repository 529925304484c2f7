package io.jvirt.vm;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.time.Instant;

/**
 * A VM's runtime record as persisted (document "state"): its state, and when a QEMU runs, which process and
 * sockets belong to it, plus the job in progress and its intent. Written before and after each step that
 * changes the process, so a restarted daemon knows what to reconnect to and what was under way. Changed only
 * through the {@code with...} methods, each of which keeps every other field.
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

    /** In state {@code to} for {@code reason} since now. */
    public VmRecord withState(VmState to, String why) {
        return withState(to, why, Instant.now());
    }

    public VmRecord withState(VmState to, String why, Instant from) {
        return new VmRecord(to, why, from, pid, startedAt, accel, job);
    }

    /** QEMU process {@code processId}, started at {@code at}, runs the VM. */
    public VmRecord withProcess(long processId, Instant at) {
        return new VmRecord(state, reason, since, processId, at, accel, job);
    }

    /** No QEMU runs the VM (and so no accelerator is in use). */
    public VmRecord withoutProcess() {
        return new VmRecord(state, reason, since, null, null, null, job);
    }

    public VmRecord withAccel(String accelerator) {
        return new VmRecord(state, reason, since, pid, startedAt, accelerator, job);
    }

    /** The job under way and the step it is at; null when none is. */
    public VmRecord withJob(JobRecord current) {
        return new VmRecord(state, reason, since, pid, startedAt, accel, current);
    }
}
