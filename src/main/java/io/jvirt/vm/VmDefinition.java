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

    /**
     * A NIC: {@code type} is {@code user} (QEMU user-mode networking, optional port {@code forwards}),
     * {@code network} (a tap on the bridge of the jvirt network named {@code network}) or {@code bridge} (a tap on
     * the existing Linux bridge named {@code bridge}). {@code vhost} false turns vhost-net off for its tap.
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Nic(String name, String type, String model, String mac, String network, String bridge,
                      List<Forward> forwards, Boolean vhost) {
        public Nic(String name, String type, String model, String mac) {
            this(name, type, model, mac, null, null, null, null);
        }
    }

    /** A user-mode port forward: {@code hostAddress:hostPort} on the host to {@code guestPort} in the guest. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Forward(String proto, String hostAddress, Integer hostPort, Integer guestPort) {
    }
}
