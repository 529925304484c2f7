package io.jvirt.confine;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.List;

/**
 * The {@code -blockdev} nodes of one disk with its whole backing chain spelled out: a {@code file} node and a
 * format node per layer, each format node's {@code backing} naming the next layer's format node, and
 * {@code "backing": null} on a qcow2 base, so QEMU opens exactly the checked files and never follows a header.
 *
 * <p>Node names: the top keeps {@code file-ID}/{@code fmt-ID} (what io.jvirt.qemu.QemuCommandLine and the
 * snapshot and block-copy jobs already address), layer N below it is {@code file-ID-N}/{@code fmt-ID-N}. The
 * lower layers are read-only; {@code auto-read-only} on every file node lets QEMU reopen a layer read-write for
 * a commit job, as it does today.
 */
public final class BlockdevChain {
    private static final ObjectMapper JSON = new ObjectMapper();

    private BlockdevChain() {
    }

    public static String fileNodeName(String diskId, int depth) {
        return depth == 0 ? "file-" + diskId : "file-" + diskId + "-" + depth;
    }

    public static String formatNodeName(String diskId, int depth) {
        return depth == 0 ? "fmt-" + diskId : "fmt-" + diskId + "-" + depth;
    }

    /** The nodes, base first (a node must exist before an upper one names it as backing). */
    public static List<ObjectNode> nodes(String diskId, ImageChain chain, boolean readOnly) {
        List<ImageChain.Layer> layers = chain.layers();
        List<ObjectNode> out = new ArrayList<>();
        for (int depth = layers.size() - 1; depth >= 0; depth--) {
            ImageChain.Layer layer = layers.get(depth);
            boolean ro = depth > 0 || readOnly;
            ObjectNode file = JSON.createObjectNode();
            file.put("driver", "file");
            file.put("filename", layer.path().toString());
            file.put("node-name", fileNodeName(diskId, depth));
            // a backing layer's file node is opened read-only by QEMU until a writer appears (auto-read-only):
            // a commit then reopens the base read-write without blockdev-reopen, once jvirt granted it WRITE
            file.put("read-only", readOnly);
            file.put("auto-read-only", true);
            file.put("discard", "unmap");
            out.add(file);
            ObjectNode fmt = JSON.createObjectNode();
            fmt.put("driver", layer.format());
            fmt.put("file", fileNodeName(diskId, depth));
            fmt.put("node-name", formatNodeName(diskId, depth));
            fmt.put("read-only", ro);
            if (layer.format().equals("qcow2")) {
                if (depth + 1 < layers.size()) {
                    fmt.put("backing", formatNodeName(diskId, depth + 1));
                } else {
                    fmt.putNull("backing"); // whatever the header says: nothing below
                }
            }
            out.add(fmt);
        }
        return out;
    }

    /** {@code ["-blockdev", "{...}", "-blockdev", "{...}", ...]} for a QEMU command line. */
    public static List<String> arguments(String diskId, ImageChain chain, boolean readOnly) {
        List<String> args = new ArrayList<>();
        for (ObjectNode n : nodes(diskId, chain, readOnly)) {
            args.add("-blockdev");
            args.add(n.toString());
        }
        return args;
    }
}
