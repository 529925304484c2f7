package io.jvirt.vm;

import io.jvirt.error.ErrorCode;
import io.jvirt.error.JvirtException;
import io.jvirt.qemu.monitor.MonitorClosedException;
import io.jvirt.qemu.monitor.MonitorException;
import java.util.Map;

/** The errors the VM layer answers with, said the same way wherever they arise. */
final class VmErrors {
    private VmErrors() {
    }

    static JvirtException invalidState(Vm vm, String action, String hint) {
        return new JvirtException(ErrorCode.INVALID_STATE, "cannot " + action + " VM '" + vm.name() + "': it is "
                + vm.state().wire() + " (" + hint + ")", Map.of("vm", vm.name(), "state", vm.state().wire()));
    }

    static JvirtException qemuFailed(Vm vm, String action, MonitorException e) {
        String msg = e instanceof MonitorClosedException ? "QEMU is gone" : e.getMessage();
        return new JvirtException(ErrorCode.QEMU_FAILED, action + " of VM '" + vm.name() + "' failed: " + msg, Map.of(), e);
    }
}
