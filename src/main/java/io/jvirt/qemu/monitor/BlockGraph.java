package io.jvirt.qemu.monitor;

import io.jvirt.error.ErrorCode;
import io.jvirt.error.JvirtException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * QEMU's block graph as jvirt's capabilities see it: for each guest disk the top node and the chain below it, and
 * closing nodes nobody uses any more. Disks are found by their device id {@code disk-<name>} (node names change
 * with every external snapshot, pivot or commit; the device id never does).
 */
public final class BlockGraph {
    private static final Logger log = LoggerFactory.getLogger(BlockGraph.class);
    private static final String DEVICE_PREFIX = "disk-";
    private final Map<String, Top> tops;

    /** What a guest disk runs on now: its top format node, that node's file, and the image chain QEMU reads. */
    public record Top(String disk, String node, String file, ImageInfo image) {
        /** The internal snapshots in the top image. */
        public List<String> snapshots() {
            return image == null ? List.of() : image.snapshotNames();
        }
    }

    /** One layer of a disk's backing chain as QEMU runs it: its format node and its image file. */
    public record Layer(String node, String file) {
    }

    private BlockGraph(Map<String, Top> tops) {
        this.tops = tops;
    }

    /** The device id QEMU knows guest disk {@code disk} by (set on the command line, never changed). */
    public static String deviceId(String disk) {
        return DEVICE_PREFIX + disk;
    }

    /** "disk-vda", "/machine/peripheral/disk-vda/virtio-backend" -> "vda"; null for a device that is not a disk. */
    public static String diskOf(String qdev) {
        for (String part : qdev == null ? new String[0] : qdev.split("/")) {
            if (part.startsWith(DEVICE_PREFIX)) {
                return part.substring(DEVICE_PREFIX.length());
            }
        }
        return null;
    }

    /** One query-block: every guest disk with a medium, by disk name. */
    public static BlockGraph query(Monitor monitor) {
        Map<String, Top> tops = new LinkedHashMap<>();
        for (BlockInfo b : monitor.block().queryBlock()) {
            String disk = diskOf(b.qdev());
            if (disk != null && b.inserted() != null) {
                tops.put(disk, new Top(disk, b.inserted().nodeName(), b.inserted().file(), b.inserted().image()));
            }
        }
        return new BlockGraph(tops);
    }

    public Map<String, Top> byDisk() {
        return tops;
    }

    public Optional<Top> top(String disk) {
        return Optional.ofNullable(tops.get(disk));
    }

    /** The disk's top, or {@code disk-not-found}. */
    public Top require(String disk) {
        Top t = tops.get(disk);
        if (t == null) {
            throw new JvirtException(ErrorCode.DISK_NOT_FOUND, "QEMU has no disk '" + disk + "'", Map.of("disk", disk));
        }
        return t;
    }

    /** Names of every node of the graph. */
    public static List<String> nodeNames(Monitor monitor) {
        return monitor.block().queryNamedBlockNodes().stream().map(BlockNode::nodeName).toList();
    }

    /**
     * The disk's backing chain as QEMU runs it now, top first: the files from query-block (the chain QEMU really
     * reads), each matched to its format node from query-named-block-nodes. A file open in two format nodes is
     * told apart by the backing file its header names; if that still leaves two, this fails rather than guess.
     */
    public static List<Layer> chain(Monitor monitor, String disk) {
        Optional<Top> top = query(monitor).top(disk);
        if (top.isEmpty()) {
            return List.of();
        }
        List<String> files = new ArrayList<>();
        for (ImageInfo img = top.get().image(); img != null; img = img.backingImage()) {
            files.add(img.filename());
        }
        List<BlockNode> nodes = monitor.block().queryNamedBlockNodes();
        List<Layer> chain = new ArrayList<>();
        for (int i = 0; i < files.size(); i++) {
            String file = files.get(i);
            String below = i + 1 < files.size() ? files.get(i + 1) : null;
            List<String> candidates = new ArrayList<>();
            for (BlockNode n : nodes) {
                String backing = n.backingFile() == null ? null
                        : Path.of(file).resolveSibling(n.backingFile()).normalize().toString();
                if (!n.isFileNode() && file.equals(n.file()) && Objects.equals(backing, below)) {
                    candidates.add(n.nodeName());
                }
            }
            if (i == 0) {
                candidates = List.of(top.get().node());
            }
            if (candidates.size() != 1) {
                throw new JvirtException(ErrorCode.QEMU_FAILED, "cannot tell which node of QEMU holds " + file
                        + " of disk '" + disk + "' (" + candidates.size() + " candidates)", Map.of("disk", disk, "file", file));
            }
            chain.add(new Layer(candidates.get(0), file));
        }
        return chain;
    }

    /**
     * Closes a format node the guest no longer uses (the old top after a pivot or a commit) and the file nodes of
     * its image: nodes made with -blockdev or blockdev-add stay until deleted, and would keep the image open (and
     * the new top from being a root node, which internal snapshot commands need). {@code file} null: the node's
     * own file, as QEMU reports it.
     */
    public static void release(Monitor monitor, String formatNode, String file) {
        try {
            String image = file;
            if (image == null) {
                image = monitor.block().queryNamedBlockNodes().stream().filter(n -> formatNode.equals(n.nodeName()))
                        .map(BlockNode::file).findFirst().orElse(null);
            }
            delete(monitor, formatNode);
            if (image != null) {
                for (BlockNode n : monitor.block().queryNamedBlockNodes()) {
                    if (n.isFileNode() && image.equals(n.file())) {
                        delete(monitor, n.nodeName());
                    }
                }
            }
        } catch (MonitorException e) {
            log.debug("cannot release node {}: {}", formatNode, e.toString());
        }
    }

    /** Deletes nodes that may or may not exist (never added, still in use, QEMU gone: left alone). */
    public static void delete(Monitor monitor, String... nodes) {
        for (String n : nodes) {
            try {
                monitor.block().blockdevDel(n);
            } catch (MonitorException ignored) {
                // nothing to close
            }
        }
    }
}
