package io.jvirt.vm;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.List;

/**
 * What a user defines: the persistent description of a VM. Boxed fields may be null in input (then defaults
 * apply, see {@link DefinitionValidator}); a stored definition always has them filled.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record VmDefinition(
        String name,
        String uuid,
        Integer memoryMiB,
        Integer vcpus,
        String machine,
        String accel,
        String emulator,
        Boot boot,
        List<Disk> disks,
        List<Nic> nics) {

    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Boot(String kernel, String initrd, String cmdline) {
    }

    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Disk(String name, String path, String format, String bus, Boolean readOnly) {
    }

    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Nic(String name, String type, String model, String mac) {
    }
}
