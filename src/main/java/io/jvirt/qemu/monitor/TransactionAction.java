package io.jvirt.qemu.monitor;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.jvirt.qmp.QmpArgs;

/** One action of a {@code transaction}: all of them happen, or none. Add a record here for a new action type. */
public sealed interface TransactionAction {

    /** The action's type as QEMU names it. */
    String type();

    /** The action's {@code data} object. */
    ObjectNode data();

    /** {@code overlay} (a node added without backing) becomes the new top above {@code node}. */
    record BlockdevSnapshot(String node, String overlay) implements TransactionAction {
        @Override
        public String type() {
            return "blockdev-snapshot";
        }

        @Override
        public ObjectNode data() {
            return QmpArgs.of("node", node, "overlay", overlay);
        }
    }

    /** An internal snapshot {@code name} inside the qcow2 image of node {@code device}. */
    record InternalSnapshot(String device, String name) implements TransactionAction {
        @Override
        public String type() {
            return "blockdev-snapshot-internal-sync";
        }

        @Override
        public ObjectNode data() {
            return QmpArgs.of("device", device, "name", name);
        }
    }
}
