package io.jvirt.qemu.monitor;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.jvirt.qmp.QmpArgs;

/**
 * One action of a {@code transaction}: all of them happen, or none. Made only by the factories here (one per action
 * type jvirt uses; add one for a new type), so the action vocabulary stays in this package.
 */
public final class TransactionAction {
    private final String type;
    private final ObjectNode data;

    private TransactionAction(String type, ObjectNode data) {
        this.type = type;
        this.data = data;
    }

    /** {@code overlay} (a node added without backing) becomes the new top above {@code node}. */
    public static TransactionAction blockdevSnapshot(String node, String overlay) {
        return new TransactionAction("blockdev-snapshot", QmpArgs.of("node", node, "overlay", overlay));
    }

    /** An internal snapshot {@code name} inside the qcow2 image of node {@code device}. */
    public static TransactionAction internalSnapshot(String device, String name) {
        return new TransactionAction("blockdev-snapshot-internal-sync", QmpArgs.of("device", device, "name", name));
    }

    String type() {
        return type;
    }

    ObjectNode data() {
        return data.deepCopy();
    }

    @Override
    public String toString() {
        return type + " " + data;
    }
}
