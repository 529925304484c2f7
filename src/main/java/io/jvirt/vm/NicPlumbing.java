package io.jvirt.vm;

import io.jvirt.error.ErrorCode;
import io.jvirt.error.JvirtException;
import io.jvirt.qemu.QemuLaunchSpec;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * What a VM's NICs need on the host, provided by the network capability (io.jvirt.network) so that this package
 * never depends on it. The VM layer calls it at define (checks), before QEMU starts (create taps), after QEMU ended
 * or failed to start, and after a restart for a VM whose QEMU is gone (remove them), and for {@code info}.
 */
public interface NicPlumbing {

    /** Refuses a definition whose NICs name what does not exist (e.g. an unknown network). */
    void checkDefinition(VmDefinition d);

    /** Creates what the NICs need (taps), recorded durably first; returns how QEMU attaches each NIC. */
    List<QemuLaunchSpec.Nic> prepare(VmDefinition d);

    /** Removes what {@link #prepare} made for this VM (idempotent; also for what a previous daemon left). */
    void release(String vm);

    /** Per NIC: tap, network, MAC and addresses, for the VM's view. */
    List<Map<String, Object>> describe(VmDefinition d);

    /** The host device (tap) of a running VM's NIC, for its counters; empty for a user-mode NIC (it has none). */
    default java.util.Optional<String> hostDevice(String vm, String nic) {
        return java.util.Optional.empty();
    }

    /**
     * Creates what one NIC hot-plugged into the running VM {@code d} needs (its tap, recorded durably first) and
     * returns how QEMU attaches it; the VM's other NICs are left alone.
     */
    default QemuLaunchSpec.Nic prepareOne(VmDefinition d, VmDefinition.Nic nic) {
        if (!"user".equals(nic.type())) {
            throw new JvirtException(ErrorCode.INVALID_DEFINITION, "NIC " + nic.name() + ": this daemon has no networks "
                    + "(only user-mode NICs)");
        }
        return userNic(nic);
    }

    /** Removes what {@link #prepareOne} made for one NIC (idempotent). */
    default void releaseOne(String vm, String nic) {
    }

    /** Without the network capability: user-mode NICs only (port forwards included). */
    NicPlumbing USER_ONLY = new NicPlumbing() {
        @Override
        public void checkDefinition(VmDefinition d) {
            for (VmDefinition.Nic n : d.nics()) {
                if (!"user".equals(n.type())) {
                    throw new JvirtException(ErrorCode.INVALID_DEFINITION, "NIC " + n.name() + ": this daemon has no "
                            + "networks (only user-mode NICs)");
                }
            }
        }

        @Override
        public List<QemuLaunchSpec.Nic> prepare(VmDefinition d) {
            checkDefinition(d);
            return d.nics().stream().map(NicPlumbing::userNic).toList();
        }

        @Override
        public void release(String vm) {
        }

        @Override
        public List<Map<String, Object>> describe(VmDefinition d) {
            return List.of();
        }
    };

    /** A user-mode NIC with its port forwards as QEMU's hostfwd rules. */
    static QemuLaunchSpec.Nic userNic(VmDefinition.Nic n) {
        List<String> forwards = new ArrayList<>();
        if (n.forwards() != null) {
            for (VmDefinition.Forward f : n.forwards()) {
                forwards.add(f.proto() + ":" + f.hostAddress() + ":" + f.hostPort() + "-:" + f.guestPort());
            }
        }
        return new QemuLaunchSpec.Nic(n.name(), "user", n.model(), n.mac(), null, false, forwards);
    }
}
