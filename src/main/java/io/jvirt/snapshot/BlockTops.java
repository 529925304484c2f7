package io.jvirt.snapshot;

import com.fasterxml.jackson.databind.JsonNode;
import io.jvirt.qmp.QmpClient;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * What QEMU says each guest disk runs on now (query-block): the top format node, its file, and the internal
 * snapshots in it. Disks are found by their device id {@code disk-<name>} (the node names change with every
 * external snapshot; the device id never does).
 */
record BlockTops(Map<String, Top> byDisk) {
    record Top(String node, String file, List<String> snapshots, Map<String, Long> vmStateSizes) {
    }

    static BlockTops query(QmpClient qmp) {
        Map<String, Top> tops = new HashMap<>();
        for (JsonNode b : qmp.execute("query-block")) {
            String qdev = b.path("qdev").asText();
            String disk = diskOf(qdev);
            JsonNode in = b.path("inserted");
            if (disk == null || in.isMissingNode()) {
                continue;
            }
            List<String> names = new ArrayList<>();
            Map<String, Long> sizes = new HashMap<>();
            for (JsonNode s : in.path("image").path("snapshots")) {
                names.add(s.path("name").asText());
                sizes.put(s.path("name").asText(), s.path("vm-state-size").asLong());
            }
            tops.put(disk, new Top(in.path("node-name").asText(), in.path("file").asText(), names, sizes));
        }
        return new BlockTops(tops);
    }

    /** "disk-vda", "/machine/peripheral/disk-vda/virtio-backend" -> "vda". */
    static String diskOf(String qdev) {
        for (String part : qdev.split("/")) {
            if (part.startsWith("disk-")) {
                return part.substring(5);
            }
        }
        return null;
    }

    Top top(String disk) {
        return byDisk.get(disk);
    }

    /**
     * Deletes a format node the guest no longer uses (the old top after a commit pivot) and the file nodes of its
     * image: nodes made with -blockdev or blockdev-add stay until deleted, and would keep the new top from being a
     * root node (which internal snapshot commands need).
     */
    static void release(QmpClient qmp, String formatNode, String file) {
        try {
            qmp.execute("blockdev-del", QmpClient.args("node-name", formatNode));
        } catch (RuntimeException ignored) {
            // still in use or already gone: leave it
        }
        for (JsonNode n : qmp.execute("query-named-block-nodes", QmpClient.args("flat", true))) {
            if ("file".equals(n.path("drv").asText()) && file.equals(n.path("file").asText())) {
                try {
                    qmp.execute("blockdev-del", QmpClient.args("node-name", n.path("node-name").asText()));
                } catch (RuntimeException ignored) {
                    // still in use
                }
            }
        }
    }

    /** One layer of a disk's backing chain as QEMU runs it: its format node and its image file. */
    record Layer(String node, String file) {
    }

    /**
     * The disk's backing chain as QEMU runs it now, top first: the files from query-block (the chain QEMU really
     * reads), each matched to its format node from query-named-block-nodes. A file open in two format nodes is
     * told apart by the backing file its header names; if that still leaves two, this fails rather than guess.
     */
    static List<Layer> chain(QmpClient qmp, String disk) {
        List<String> files = new ArrayList<>();
        String top = null;
        for (JsonNode b : qmp.execute("query-block")) {
            if (disk.equals(diskOf(b.path("qdev").asText())) && !b.path("inserted").isMissingNode()) {
                top = b.path("inserted").path("node-name").asText();
                for (JsonNode img = b.path("inserted").path("image"); !img.isMissingNode(); img = img.path("backing-image")) {
                    files.add(img.path("filename").asText());
                }
            }
        }
        if (top == null) {
            return List.of();
        }
        JsonNode nodes = qmp.execute("query-named-block-nodes", QmpClient.args("flat", true));
        List<Layer> chain = new ArrayList<>();
        for (int i = 0; i < files.size(); i++) {
            String file = files.get(i);
            String below = i + 1 < files.size() ? files.get(i + 1) : null;
            List<String> candidates = new ArrayList<>();
            for (JsonNode n : nodes) {
                String backing = n.hasNonNull("backing_file")
                        ? java.nio.file.Path.of(file).resolveSibling(n.path("backing_file").asText()).normalize().toString() : null;
                if (!"file".equals(n.path("drv").asText()) && file.equals(n.path("file").asText())
                        && java.util.Objects.equals(backing, below)) {
                    candidates.add(n.path("node-name").asText());
                }
            }
            if (i == 0) {
                candidates = List.of(top);
            }
            if (candidates.size() != 1) {
                throw new io.jvirt.error.JvirtException(io.jvirt.error.ErrorCode.QEMU_FAILED, "cannot tell which node of QEMU holds "
                        + file + " of disk '" + disk + "' (" + candidates.size() + " candidates)", Map.of("disk", disk, "file", file));
            }
            chain.add(new Layer(candidates.get(0), file));
        }
        return chain;
    }

    static List<String> nodeNames(QmpClient qmp) {
        List<String> names = new ArrayList<>();
        for (JsonNode n : qmp.execute("query-named-block-nodes", QmpClient.args("flat", true))) {
            names.add(n.path("node-name").asText());
        }
        return names;
    }
}
