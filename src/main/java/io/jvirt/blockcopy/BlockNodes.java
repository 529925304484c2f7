package io.jvirt.blockcopy;

import com.fasterxml.jackson.databind.JsonNode;
import io.jvirt.qmp.QmpClient;
import io.jvirt.qmp.QmpException;
import io.jvirt.error.ErrorCode;
import io.jvirt.error.JvirtException;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** QEMU's block graph as a copy sees it: the device's top node, and closing nodes nobody uses any more. */
final class BlockNodes {
    private static final Logger log = LoggerFactory.getLogger(BlockNodes.class);

    private BlockNodes() {
    }

    /** The "inserted" part of query-block for the guest device {@code disk-<disk>}: its top node and image. */
    static JsonNode inserted(QmpClient qmp, String disk) {
        for (JsonNode b : qmp.execute("query-block")) {
            for (String part : b.path("qdev").asText().split("/")) {
                if (part.equals("disk-" + disk) && b.has("inserted")) {
                    return b.path("inserted");
                }
            }
        }
        throw new JvirtException(ErrorCode.DISK_NOT_FOUND, "QEMU has no disk " + disk, Map.of("disk", disk));
    }

    /** After a pivot the old top is no longer the guest's: close it (and its file) so the source is free. */
    static void releaseTop(QmpClient qmp, String node) {
        try {
            String file = null;
            for (JsonNode n : qmp.execute("query-named-block-nodes", QmpClient.args("flat", true))) {
                if (node.equals(n.path("node-name").asText())) {
                    file = n.path("file").asText();
                }
            }
            delete(qmp, node);
            if (file != null) {
                for (JsonNode n : qmp.execute("query-named-block-nodes", QmpClient.args("flat", true))) {
                    if ("file".equals(n.path("drv").asText()) && file.equals(n.path("file").asText())) {
                        delete(qmp, n.path("node-name").asText());
                    }
                }
            }
        } catch (QmpException e) {
            log.debug("cannot release the old source node {}: {}", node, e.toString());
        }
    }

    static void delete(QmpClient qmp, String... nodes) {
        for (String n : nodes) {
            try {
                qmp.execute("blockdev-del", QmpClient.args("node-name", n));
            } catch (RuntimeException ignored) {
                // never added, still in use, or QEMU is gone: nothing to close
            }
        }
    }
}
