package io.jvirt.snapshot;

import io.jvirt.error.ErrorCode;
import io.jvirt.error.Fault;
import io.jvirt.error.JvirtException;
import io.jvirt.qemu.monitor.BlockGraph;
import io.jvirt.qemu.monitor.CommitOptions;
import io.jvirt.qemu.monitor.Monitor;
import io.jvirt.qemu.monitor.QemuJob;
import io.jvirt.vm.DiskImage;
import io.jvirt.vm.VmJobContext;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Deleting a snapshot: an internal one from each image (by QEMU if it runs, else qemu-img); an external one by
 * merging, with the records written after the merge and the merged files removed last. Every step is skipped when
 * a previous run (before a crash) already did it, so recovery can run it again.
 */
record SnapshotDelete(SnapshotRecords records, SnapshotImages images) {

    /** The snapshot, and for an external one what merges into what (see {@link #plan}). */
    record DeletePlan(Snapshot snapshot, List<SnapshotIntent.DiskChange> changes) {
    }

    Snapshot delete(VmJobContext ctx, DeletePlan plan) {
        Snapshot s = plan.snapshot();
        records.intend(ctx, new SnapshotIntent(SnapshotOp.delete(s), s, ctx.qemu().isPresent(), plan.changes()));
        apply(ctx, s, plan.changes());
        records.done(ctx.vmName());
        return s;
    }

    /**
     * What deleting an external snapshot merges, per disk: the one image that is backed by the snapshot's frozen
     * image (its overlay, or a top made by a revert) is committed into the frozen image, everything that was backed
     * by the merged image is then backed by the frozen image (it reads the same), and the merged file goes. As a
     * {@link SnapshotIntent.DiskChange}: {@code oldPath} the merged-away image (null when nothing is backed by the
     * frozen image any more: then there is nothing to merge), {@code newPath} the frozen image it goes into.
     * Refused (nothing changes) when two images are backed by the frozen image: each would need its own copy of it.
     */
    DeletePlan plan(VmJobContext ctx, Snapshot s) {
        if (!s.external()) {
            return new DeletePlan(s, List.of());
        }
        Map<Path, Path> backings = images.knownBackings(ctx, records.tree(ctx.vmName()),
                s.disks().stream().map(Snapshot.DiskSnapshot::disk).toList(), null);
        List<SnapshotIntent.DiskChange> changes = new ArrayList<>();
        for (Snapshot.DiskSnapshot d : s.disks()) {
            Path image = SnapshotImages.abs(d.image());
            List<Path> above = SnapshotImages.backedBy(backings, image);
            if (above.size() > 1) {
                throw new JvirtException(ErrorCode.INVALID_STATE, "cannot delete snapshot '" + s.name() + "': its image " + image
                        + " of disk '" + d.disk() + "' is the backing file of " + above.size() + " images " + above
                        + " (a revert made a second branch); merging it into one would change what the other reads",
                        Map.of("snapshot", s.name(), "disk", d.disk(), "image", image.toString()));
            }
            if (above.isEmpty()) {
                changes.add(new SnapshotIntent.DiskChange(d.disk(), null, null, image.toString(), null, null));
                continue;
            }
            Path merged = above.get(0);
            if (!images.qemuImg().image(merged, "qcow2").snapshots().isEmpty()) {
                throw new JvirtException(ErrorCode.INVALID_STATE, "cannot delete snapshot '" + s.name() + "': " + merged
                        + " would be merged away but holds internal snapshots; delete those first",
                        Map.of("snapshot", s.name(), "disk", d.disk(), "image", merged.toString()));
            }
            changes.add(new SnapshotIntent.DiskChange(d.disk(), merged.toString(), "qcow2", image.toString(), null, null));
        }
        return new DeletePlan(s, List.copyOf(changes));
    }

    /** Idempotent: recovery runs it again after a crash at any step. Ends with the snapshot out of the tree. */
    void apply(VmJobContext ctx, Snapshot s, List<SnapshotIntent.DiskChange> changes) {
        if (s.external()) {
            deleteExternal(ctx, s, changes);
            return;
        }
        Optional<Monitor> monitor = ctx.monitor();
        for (Snapshot.DiskSnapshot d : s.disks()) {
            if (monitor.isPresent()) {
                Optional<BlockGraph.Top> top = BlockGraph.query(monitor.get()).top(d.disk());
                if (top.isPresent() && top.get().snapshots().contains(s.name())) {
                    monitor.get().block().blockdevSnapshotDeleteInternalSync(top.get().node(), s.name(), Duration.ofMinutes(10));
                }
            } else if (images.hasInternal(Path.of(d.image()), s.name())) {
                images.qemuImg().snapshot("-d", Path.of(d.image()), s.name());
            }
        }
        if (records.tree(ctx.vmName()).find(s.name()).isPresent()) {
            records.putTree(ctx.vmName(), records.tree(ctx.vmName()).without(s.name()));
        }
    }

    /**
     * Merge, then the records, then the files: each disk's merged image is committed into the snapshot's frozen
     * image (by QEMU if it runs that chain, else qemu-img), images that were backed by it are rebased (unsafe:
     * they read the same), QEMU's chain is checked, then definition and tree name the frozen image, and only then is
     * the merged file removed. Every step is skipped when a previous run (before a crash) already did it.
     */
    private void deleteExternal(VmJobContext ctx, Snapshot s, List<SnapshotIntent.DiskChange> changes) {
        String vm = ctx.vmName();
        Optional<Monitor> monitor = ctx.monitor();
        for (SnapshotIntent.DiskChange c : changes) {
            if (c.oldPath() == null || !Files.exists(Path.of(c.oldPath()))) {
                continue; // nothing to merge, or merged and removed before a crash
            }
            Path from = SnapshotImages.abs(c.oldPath());
            Path into = SnapshotImages.abs(c.newPath());
            String intoFormat = s.disk(c.disk()).format();
            List<BlockGraph.Layer> chain = List.of();
            if (monitor.isPresent()) {
                QemuJob.settle(monitor.get(), "commit-" + c.disk(), SnapshotCreate.JOB_TIMEOUT); // one a dead daemon left
                chain = BlockGraph.chain(monitor.get(), c.disk());
                int at = indexOf(chain, from);
                if (at >= 0) {
                    // QEMU reopens the base read-write, and below the top rewrites the header of the image above
                    ctx.grantToQemu(into, io.jvirt.vm.Confinement.Access.WRITE);
                    if (at > 0) {
                        ctx.grantToQemu(SnapshotImages.abs(chain.get(at - 1).file()), io.jvirt.vm.Confinement.Access.WRITE);
                    }
                    commitLive(monitor.get(), c.disk(), chain, at, into);
                    chain = BlockGraph.chain(monitor.get(), c.disk());
                    if (indexOf(chain, from) >= 0 || indexOf(chain, into) != at) {
                        throw new JvirtException(ErrorCode.QEMU_FAILED, "after the commit QEMU still does not run disk '"
                                + c.disk() + "' on " + into + " in place of " + from + ": " + chain,
                                Map.of("disk", c.disk(), "snapshot", s.name()));
                    }
                }
            }
            boolean qemuMerged = indexOf(chain, into) >= 0; // QEMU runs on the frozen image without `from`
            List<Path> above = SnapshotImages.backedBy(images.knownBackings(ctx, records.tree(vm), List.of(c.disk()), from), from);
            boolean definedOnFrom = SnapshotImages.abs(ctx.definition().requireDisk(c.disk()).path()).equals(from);
            if (!qemuMerged && (definedOnFrom || !above.isEmpty())) {
                // no QEMU has `from` open; a repeat after a crash commits the same data again
                images.qemuImg().run(List.of("commit", "-q", "-d", "-f", "qcow2", from.toString()));
            }
            for (Path f : above) {
                if (indexOf(chain, f) < 0) { // QEMU rewrote the backing of the image above in its chain itself
                    images.qemuImg().run(List.of("rebase", "-q", "-u", "-f", "qcow2", "-b", into.toString(), "-F", intoFormat,
                            f.toString()));
                }
            }
        }
        Fault.point("snapshot", "after-merge");
        ctx.recordStep(SnapshotOp.DELETE_EXTERNAL.at(SnapshotOp.Step.MERGED));
        Map<String, DiskImage> to = new LinkedHashMap<>();
        for (SnapshotIntent.DiskChange c : changes) {
            String defined = ctx.definition().requireDisk(c.disk()).path();
            if (c.oldPath() != null && SnapshotImages.abs(defined).equals(SnapshotImages.abs(c.oldPath()))) {
                to.put(c.disk(), new DiskImage(c.newPath(), s.disk(c.disk()).format()));
            }
        }
        if (!to.isEmpty()) {
            DiskSwitch.follow(ctx, "deleting snapshot '" + s.name() + "'", SnapshotOp.DELETE_EXTERNAL, to, () -> { }, retry -> {
                finishExternalDelete(retry, s, changes);
                records.done(retry.vmName());
            });
        }
        finishExternalDelete(ctx, s, changes);
    }

    /** After the merge and the definition: the tree names the frozen images, then the merged files go. */
    private void finishExternalDelete(VmJobContext ctx, Snapshot s, List<SnapshotIntent.DiskChange> changes) {
        String vm = ctx.vmName();
        SnapshotTree tree = records.tree(vm);
        for (SnapshotIntent.DiskChange c : changes) {
            if (c.oldPath() != null) {
                tree = tree.withImageMoved(c.disk(), c.oldPath(), c.newPath(), s.disk(c.disk()).format());
            }
        }
        if (tree.find(s.name()).isPresent()) {
            tree = tree.without(s.name());
        }
        records.putTree(vm, tree);
        if (s.memoryFile() != null) {
            SnapshotImages.deleteAll(List.of(Path.of(s.memoryFile())));
        }
        for (SnapshotIntent.DiskChange c : changes) {
            if (c.oldPath() != null) {
                SnapshotImages.deleteAll(List.of(Path.of(c.oldPath())));
            } else {
                removeIfUnneeded(ctx, tree, c.disk(), SnapshotImages.abs(c.newPath()));
            }
        }
    }

    /** block-commit of chain[at] into chain[at + 1]: an active commit (pivot on ready) for the top, else a plain one. */
    private static void commitLive(Monitor monitor, String disk, List<BlockGraph.Layer> chain, int at, Path into) {
        if (at + 1 >= chain.size() || !SnapshotImages.abs(chain.get(at + 1).file()).equals(into)) {
            throw new JvirtException(ErrorCode.INVALID_STATE, "QEMU runs disk '" + disk + "' with " + chain.get(at).file()
                    + " not directly on " + into, Map.of("disk", disk));
        }
        // below the top, the image above `top` gets the base as its backing file, written into its header by QEMU
        CommitOptions commit = new CommitOptions("commit-" + disk, chain.get(0).node(), chain.get(at + 1).node(),
                at > 0 ? chain.get(at).node() : null, at > 0 ? into.toString() : null);
        QemuJob.run(monitor, commit.jobId(), "merging " + chain.get(at).file() + " into " + into,
                () -> monitor.block().blockCommit(commit), SnapshotCreate.JOB_TIMEOUT); // active: ready -> complete (pivot)
        BlockGraph.release(monitor, chain.get(at).node(), chain.get(at).file()); // a node we added stays until deleted
    }

    private static int indexOf(List<BlockGraph.Layer> chain, Path file) {
        for (int i = 0; i < chain.size(); i++) {
            if (SnapshotImages.abs(chain.get(i).file()).equals(file)) {
                return i;
            }
        }
        return -1;
    }

    /**
     * A deleted snapshot's frozen image that nothing is backed by any more (its overlay was discarded by a revert)
     * is removed if jvirt made it and neither the definition nor another snapshot names it.
     */
    private void removeIfUnneeded(VmJobContext ctx, SnapshotTree tree, String disk, Path image) {
        boolean named = SnapshotImages.abs(ctx.definition().requireDisk(disk).path()).equals(image) || tree.snapshots().stream()
                .flatMap(x -> x.disks().stream()).anyMatch(d -> SnapshotImages.abs(d.image()).equals(image));
        boolean backsSomething = images.knownBackings(ctx, tree, List.of(disk), image).containsValue(image);
        if (SnapshotImages.isOurs(ctx.vmName(), disk, image) && !named && !backsSomething) {
            SnapshotImages.deleteAll(List.of(image));
        }
    }
}
