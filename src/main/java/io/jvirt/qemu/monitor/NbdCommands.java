package io.jvirt.qemu.monitor;

import io.jvirt.qmp.QmpArgs;

/**
 * QEMU's built-in NBD server (get it from {@link Monitor#nbd()}): a destination of a storage migration exports
 * its new disks writable, the source mirrors into them.
 */
public final class NbdCommands {
    private final Monitor monitor;

    NbdCommands(Monitor monitor) {
        this.monitor = monitor;
    }

    /** Listens on {@code host:port}; {@code tlsCreds} (a server tls-creds-x509 object id) makes it TLS only. */
    public void nbdServerStart(String host, int port, String tlsCreds) {
        // nbd-server-start takes the legacy SocketAddress form: {type, data: {host, port}}
        var addr = QmpArgs.of("type", "inet");
        addr.set("data", QmpArgs.of("host", host, "port", Integer.toString(port)));
        var args = QmpArgs.of();
        args.set("addr", addr);
        if (tlsCreds != null) {
            args.put("tls-creds", tlsCreds);
        }
        monitor.call("nbd-server-start", args);
    }

    public void nbdServerStop() {
        monitor.call("nbd-server-stop", null);
    }

    /** Exports node {@code nodeName} as export {@code name} (the export's id is the same). */
    public void blockExportAdd(String name, String nodeName, boolean writable) {
        monitor.call("block-export-add", QmpArgs.of("type", "nbd", "id", name, "node-name", nodeName, "name", name,
                "writable", writable));
    }

    /**
     * Cuts the NBD client node's connection at once ({@code yank}): its in-flight requests fail instead of waiting
     * for a dead peer's TCP timeout, so a mirror into it can be cancelled and the node deleted.
     */
    public void yankNode(String nodeName) {
        var args = QmpArgs.of();
        args.putArray("instances").add(QmpArgs.of("type", "block-node", "node-name", nodeName));
        monitor.call("yank", args);
    }

    public void blockExportDel(String name) {
        monitor.call("block-export-del", QmpArgs.of("id", name));
    }
}
