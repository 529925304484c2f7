package io.jvirt.qemu.monitor;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.jvirt.qmp.QmpArgs;
import io.jvirt.qmp.QmpJson;
import java.time.Duration;
import java.util.List;

/** Block devices, nodes, block jobs and transactions of one QEMU (get it from {@link Monitor#block()}). */
public final class BlockCommands {
    private final Monitor monitor;

    BlockCommands(Monitor monitor) {
        this.monitor = monitor;
    }

    /** Every block device and the top node it runs on. */
    public List<BlockInfo> queryBlock() {
        return monitor.callForList("query-block", null, BlockInfo.class);
    }

    /** Every node of the graph, flat (backing nodes as nodes of their own). */
    public List<BlockNode> queryNamedBlockNodes() {
        return monitor.callForList("query-named-block-nodes", QmpArgs.of("flat", true), BlockNode.class);
    }

    public void blockdevAdd(Blockdev node) {
        monitor.call("blockdev-add", node.toArguments());
    }

    /** Closes a node nobody uses (QEMU refuses while a device, job or other node still does). */
    public void blockdevDel(String nodeName) {
        monitor.call("blockdev-del", QmpArgs.of("node-name", nodeName));
    }

    public void blockdevMirror(MirrorOptions m) {
        monitor.call("blockdev-mirror", QmpArgs.of("job-id", m.jobId(), "device", m.device(), "target", m.target(),
                "sync", m.topOnly() ? "top" : "full", "auto-dismiss", false, "speed", m.speed(),
                "granularity", m.granularity(), "buf-size", m.bufSize(),
                "copy-mode", m.writeBlocking() ? "write-blocking" : null));
    }

    public void blockCommit(CommitOptions c) {
        monitor.call("block-commit", QmpArgs.of("job-id", c.jobId(), "device", c.device(), "base-node", c.baseNode(),
                "auto-dismiss", false, "top-node", c.topNode(), "backing-file", c.backingFile()));
    }

    /**
     * Cancels a block job. On a ready mirror a non-forced cancel ends it with the target a consistent copy of the
     * source as of now, the guest staying on the source.
     */
    public void blockJobCancel(String device, boolean force) {
        monitor.call("block-job-cancel", QmpArgs.of("device", device, "force", force));
    }

    /** @param bytesPerSecond 0 for unlimited */
    public void blockJobSetSpeed(String device, long bytesPerSecond) {
        monitor.call("block-job-set-speed", QmpArgs.of("device", device, "speed", bytesPerSecond));
    }

    public List<BlockJobInfo> queryBlockJobs() {
        return monitor.callForList("query-block-jobs", null, BlockJobInfo.class);
    }

    /** All the actions, or none of them. */
    public void transaction(List<TransactionAction> actions) {
        ArrayNode list = QmpJson.mapper().createArrayNode();
        for (TransactionAction a : actions) {
            list.addObject().put("type", a.type()).set("data", a.data());
        }
        ObjectNode args = QmpJson.object();
        args.set("actions", list);
        monitor.call("transaction", args);
    }

    /** Deletes internal snapshot {@code name} from the image of node {@code device}; slow on big images. */
    public void blockdevSnapshotDeleteInternalSync(String device, String name, Duration timeout) {
        monitor.call("blockdev-snapshot-delete-internal-sync", QmpArgs.of("device", device, "name", name), timeout);
    }
}
