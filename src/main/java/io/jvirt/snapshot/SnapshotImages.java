package io.jvirt.snapshot;

import io.jvirt.qemu.monitor.BlockGraph;
import io.jvirt.qemu.monitor.Monitor;
import io.jvirt.storage.QemuImg;
import io.jvirt.vm.VmDefinition;
import io.jvirt.vm.VmJobContext;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The image files of snapshots: where jvirt puts them, what is inside them (asked of QEMU when it has them open,
 * of qemu-img otherwise), and removing them.
 */
final class SnapshotImages {
    private final QemuImg qemuImg;

    SnapshotImages(QemuImg qemuImg) {
        this.qemuImg = qemuImg;
    }

    QemuImg qemuImg() {
        return qemuImg;
    }

    static Path abs(String p) {
        return Path.of(p).toAbsolutePath().normalize();
    }

    /** RAM + device state of an external memory snapshot: next to the first disk's overlay. */
    static Path memoryPath(String vm, VmDefinition.Disk first, String snapshot) {
        return Path.of(first.path()).toAbsolutePath().getParent().resolve(vm + "-" + snapshot + ".mem");
    }

    static Path overlayPath(String vm, VmDefinition.Disk d, String snapshot) {
        return Path.of(d.path()).toAbsolutePath().getParent().resolve(vm + "-" + d.name() + "-" + snapshot + ".qcow2");
    }

    /** Whether jvirt made this file for this disk ({@code <vm>-<disk>-...qcow2}); only such files are ever removed. */
    static boolean isOurs(String vm, String disk, Path image) {
        String name = image.getFileName().toString();
        return name.startsWith(vm + "-" + disk + "-") && name.endsWith(".qcow2");
    }

    static void deleteAll(List<Path> files) {
        for (Path p : files) {
            try {
                Files.deleteIfExists(p);
            } catch (IOException ignored) {
                // left behind; harmless, not referenced
            }
        }
    }

    /** The internal snapshots of a disk's top image: QEMU's word while it runs the disk, qemu-img's otherwise. */
    List<String> internalNames(Optional<Monitor> monitor, VmDefinition.Disk d) {
        if (monitor.isPresent()) {
            return BlockGraph.query(monitor.get()).top(d.name()).map(BlockGraph.Top::snapshots).orElse(List.of());
        }
        return qemuImg.image(Path.of(d.path()), null).snapshotNames();
    }

    boolean hasInternal(Path image, String name) {
        return qemuImg.image(image, null).snapshot(name).isPresent();
    }

    /** Whether the internal snapshot {@code s} in the first disk's image holds the guest's memory. */
    boolean hasVmState(Snapshot s) {
        return qemuImg.image(Path.of(s.disks().get(0).image()), null).snapshot(s.name())
                .map(x -> x.vmStateSize() > 0).orElse(false);
    }

    /** An overlay that exists and is backed by the image it was made on: provably ours. */
    boolean intactOverlay(SnapshotIntent.DiskChange c) {
        if (!Files.exists(Path.of(c.newPath()))) {
            return false;
        }
        try {
            String backing = qemuImg.image(Path.of(c.newPath()), null).backingFile();
            return Path.of(backing == null ? "" : backing).toAbsolutePath().equals(Path.of(c.oldPath()).toAbsolutePath());
        } catch (RuntimeException e) {
            return false;
        }
    }

    /**
     * Every image of these disks jvirt knows (the definition's tops, every snapshot's frozen image and overlay)
     * that exists, mapped to its backing file (absolute; null for none). {@code skip} is left out.
     */
    Map<Path, Path> knownBackings(VmJobContext ctx, SnapshotTree tree, List<String> disks, Path skip) {
        Map<Path, String> formats = new LinkedHashMap<>();
        for (VmDefinition.Disk d : ctx.definition().disks()) {
            if (disks.contains(d.name())) {
                formats.put(abs(d.path()), d.format());
            }
        }
        for (Snapshot x : tree.snapshots()) {
            for (Snapshot.DiskSnapshot d : x.disks()) {
                if (disks.contains(d.disk())) {
                    formats.putIfAbsent(abs(d.image()), d.format());
                    if (d.overlay() != null) {
                        formats.putIfAbsent(abs(d.overlay()), "qcow2");
                    }
                }
            }
        }
        Map<Path, Path> backings = new LinkedHashMap<>();
        formats.forEach((file, format) -> {
            if (!file.equals(skip) && Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS)) {
                String b = qemuImg.image(file, format).backingFile();
                backings.put(file, b == null ? null : file.getParent().resolve(b).normalize());
            }
        });
        return backings;
    }

    /** The images {@code backings} says are backed by {@code image}. */
    static List<Path> backedBy(Map<Path, Path> backings, Path image) {
        return backings.entrySet().stream().filter(e -> image.equals(e.getValue())).map(Map.Entry::getKey).toList();
    }
}
