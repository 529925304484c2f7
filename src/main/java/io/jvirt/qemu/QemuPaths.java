package io.jvirt.qemu;

import java.nio.file.Path;

/**
 * Where one VM's QEMU keeps its sockets, pid file and logs. Sockets live in a runtime directory (tmpfs, short
 * paths: a Unix socket path must stay under 108 bytes); logs live with the VM's persistent state.
 */
public record QemuPaths(Path runDir, Path logDir) {
    public Path qmpSocket() {
        return runDir.resolve("qmp.sock");
    }

    public Path consoleSocket() {
        return runDir.resolve("console.sock");
    }

    public Path agentSocket() {
        return runDir.resolve("qga.sock");
    }

    public Path pidFile() {
        return runDir.resolve("qemu.pid");
    }

    /** QEMU's stderr plus our start/stop records, like libvirt's /var/log/libvirt/qemu/NAME.log. */
    public Path qemuLog() {
        return logDir.resolve("qemu.log");
    }

    /** Everything the guest wrote to its serial console, written by QEMU itself (chardev logfile=). */
    public Path consoleLog() {
        return logDir.resolve("console.log");
    }
}
