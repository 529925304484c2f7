package io.jvirt.vm;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.time.Instant;

/** A lifecycle change of a VM, pushed to event-stream clients. {@code state} is a VmState wire name, or defined/undefined. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record VmEvent(String type, String vm, String state, String previous, String reason, Instant time) {
    public static VmEvent lifecycle(String vm, String state, String previous, String reason) {
        return new VmEvent("lifecycle", vm, state, previous, reason, Instant.now());
    }
}
