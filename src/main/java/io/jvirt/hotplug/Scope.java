package io.jvirt.hotplug;

import io.jvirt.error.ErrorCode;
import io.jvirt.error.JvirtException;
import java.util.Map;

/**
 * Where a change goes, virsh's model: {@code live} the running QEMU, {@code config} the stored definition for the
 * next boot. Unsaid: live when the VM runs (and config too when {@code persistent}), config when it is shut off.
 */
public record Scope(boolean live, boolean config) {

    public static Scope resolve(String vm, Boolean live, Boolean config, boolean persistent, boolean running) {
        boolean l;
        boolean c;
        if (live == null && config == null) {
            l = running;
            c = !running || persistent;
        } else {
            l = Boolean.TRUE.equals(live);
            c = Boolean.TRUE.equals(config) || persistent;
        }
        if (!l && !c) {
            throw new JvirtException(ErrorCode.INVALID_ARGUMENT, "nothing to change: neither live nor config");
        }
        if (l && !running) {
            throw new JvirtException(ErrorCode.INVALID_STATE, "VM '" + vm + "' is not running: a live change needs a "
                    + "running VM (use config to change the next boot)", Map.of("vm", vm));
        }
        return new Scope(l, c);
    }

    @Override
    public String toString() {
        return live && config ? "live+config" : live ? "live" : "config";
    }
}
