package io.jvirt.vm;

import io.jvirt.error.ErrorCode;
import io.jvirt.error.JvirtException;
import io.jvirt.qemu.QemuInstance;
import io.jvirt.qemu.QemuPaths;
import java.io.IOException;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The confinement steps of a start and of an exit, kept out of {@link VmProcesses}: the start's files are made
 * (console log rotated, logs 0600) before they are granted, then the confinement labels them and says how QEMU
 * is launched; after the exit everything is taken back.
 */
final class ConfinedStart {
    private static final Logger log = LoggerFactory.getLogger(ConfinedStart.class);

    private ConfinedStart() {
    }

    static Confinement.Launch prepare(Confinement confinement, VmDefinition d, QemuPaths paths) {
        try {
            QemuInstance.prepareFiles(paths, true);
        } catch (IOException e) {
            throw new JvirtException(ErrorCode.QEMU_FAILED, "cannot prepare the files of VM '" + d.name() + "': "
                    + e.getMessage(), Map.of("vm", d.name()), e);
        }
        long t0 = System.nanoTime();
        Confinement.Launch launch = confinement.prepare(d, paths);
        // what confinement adds to a start (chains, uid, grants), for bench/trust.sh and whoever wonders
        log.info("VM {}: QEMU launch prepared in {} us ({})", d.name(), (System.nanoTime() - t0) / 1000,
                launch.prefix().isEmpty() ? "as the daemon's user" : "confined: " + String.join(" ", launch.prefix()));
        return launch;
    }

    /** After QEMU ended: a failure is logged, never thrown (the exit must be recorded whatever happens). */
    static void release(Confinement confinement, String vm) {
        try {
            confinement.release(vm);
        } catch (RuntimeException e) {
            log.warn("VM {}: cannot take back what its QEMU was granted: {}", vm, e.getMessage());
        }
    }
}
