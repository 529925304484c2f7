package io.jvirt.snapshot;

import io.jvirt.error.ErrorCode;
import io.jvirt.error.JvirtException;
import io.jvirt.qemu.monitor.BlockGraph;
import io.jvirt.qemu.monitor.Feature;
import io.jvirt.qemu.monitor.Monitor;
import io.jvirt.qemu.monitor.QemuJob;
import io.jvirt.storage.QemuImgException;
import io.jvirt.vm.VmDefinition;
import io.jvirt.vm.VmJobContext;
import io.jvirt.vm.VmManager;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Going back to a snapshot: internal (qemu-img applies it to the stopped images), with memory (snapshot-load),
 * external (a fresh overlay on each frozen image becomes the disk's top), external with memory (a new QEMU loads
 * RAM and devices from the memory file). Every step is idempotent, so recovery can run it again.
 */
record SnapshotRevert(VmManager vms, SnapshotRecords records, SnapshotImages images) {

    /** Refuses, before anything changes, a revert that cannot work; returns the snapshot to go back to. */
    Snapshot check(VmJobContext ctx, Snapshot s) {
        if (s.memory() && !s.external()) {
            ctx.monitor().ifPresent(m -> m.require(Feature.SNAPSHOT_LOAD, "reverting to a memory snapshot"));
        }
        if (s.external()) {
            return s; // a new overlay goes on the frozen images; the current top is discarded
        }
        for (Snapshot.DiskSnapshot d : s.disks()) {
            VmDefinition.Disk now = ctx.definition().requireDisk(d.disk());
            if (!now.path().equals(d.image())) {
                throw new JvirtException(ErrorCode.INVALID_STATE, "disk '" + d.disk() + "' now runs on " + now.path()
                        + " (an external snapshot was taken after '" + s.name() + "'); revert to that external snapshot's parent chain first",
                        Map.of("disk", d.disk(), "snapshot", s.name()));
            }
        }
        return s;
    }

    Snapshot revert(VmJobContext ctx, Snapshot s) {
        boolean running = ctx.qemu().isPresent();
        SnapshotOp op = SnapshotOp.revert(s);
        List<SnapshotIntent.DiskChange> changes = s.external() ? changes(ctx, s) : List.of();
        records.intend(ctx, new SnapshotIntent(op, s, running, changes));
        apply(ctx, s, op, running, changes);
        records.putTree(ctx.vmName(), records.tree(ctx.vmName()).withCurrent(s.name()));
        records.done(ctx.vmName());
        return s;
    }

    private static List<SnapshotIntent.DiskChange> changes(VmJobContext ctx, Snapshot s) {
        String tag = Long.toHexString(System.currentTimeMillis());
        List<SnapshotIntent.DiskChange> changes = new ArrayList<>();
        for (Snapshot.DiskSnapshot d : s.disks()) {
            VmDefinition.Disk now = ctx.definition().requireDisk(d.disk());
            Path top = Path.of(d.image()).toAbsolutePath().getParent()
                    .resolve(ctx.vmName() + "-" + d.disk() + "-" + s.name() + "-r" + tag + ".qcow2");
            changes.add(new SnapshotIntent.DiskChange(d.disk(), now.path(), now.format(), top.toString(), null, null));
        }
        return changes;
    }

    /** Idempotent: recovery runs it again after a crash at any step. */
    void apply(VmJobContext ctx, Snapshot s, SnapshotOp op, boolean wasRunning, List<SnapshotIntent.DiskChange> changes) {
        switch (op) {
            case REVERT_MEMORY -> {
                if (ctx.qemu().isEmpty()) {
                    ctx.startQemu(); // boots from the disks; snapshot-load then replaces disks, RAM and devices
                    ctx.recordStep(op.at(SnapshotOp.Step.STARTED));
                }
                Monitor monitor = ctx.requireMonitor("revert");
                BlockGraph graph = BlockGraph.query(monitor);
                String vmstate = graph.require(s.disks().get(0).disk()).node();
                List<String> devices = s.disks().stream().map(d -> graph.require(d.disk()).node()).toList();
                String job = "snap-load-" + s.name();
                QemuJob.run(monitor, job, "loading snapshot '" + s.name() + "'",
                        () -> monitor.jobs().snapshotLoad(job, s.name(), vmstate, devices), SnapshotCreate.JOB_TIMEOUT);
            }
            case REVERT_INTERNAL -> {
                ctx.stopQemu(); // QEMU cannot load a disk-only internal snapshot into a running VM
                ctx.recordStep(op.at(SnapshotOp.Step.STOPPED));
                for (Snapshot.DiskSnapshot d : s.disks()) {
                    try {
                        images.qemuImg().snapshot("-a", Path.of(d.image()), s.name());
                    } catch (QemuImgException e) {
                        throw new JvirtException(ErrorCode.QEMU_FAILED, "revert of disk '" + d.disk() + "' failed: "
                                + e.getMessage(), Map.of("disk", d.disk()), e);
                    }
                }
                ctx.recordStep(op.at(SnapshotOp.Step.APPLIED));
                if (wasRunning) {
                    ctx.startQemu();
                }
            }
            case REVERT_EXTERNAL_MEMORY -> {
                // QEMU stops; fresh overlays on the frozen images; a new QEMU loads RAM and devices, then runs
                replaceTops(ctx, s, op, changes);
                Path mem = Path.of(s.memoryFile());
                ctx.startQemuIncoming(monitor -> MemoryFile.load(monitor,
                        vms.paths(ctx.vmName()).runDir().resolve("mem-load.sock"), mem, SnapshotCreate.JOB_TIMEOUT));
            }
            default -> { // revert-external: a fresh overlay on each frozen image becomes the disk's top
                replaceTops(ctx, s, op, changes);
                if (wasRunning) {
                    ctx.startQemu();
                }
            }
        }
    }

    /** QEMU stops, a fresh top goes on each frozen image, the tops it replaced go. */
    private void replaceTops(VmJobContext ctx, Snapshot s, SnapshotOp op, List<SnapshotIntent.DiskChange> changes) {
        ctx.stopQemu();
        ctx.recordStep(op.at(SnapshotOp.Step.STOPPED));
        newTops(ctx, s, changes);
        ctx.recordStep(op.at(SnapshotOp.Step.APPLIED));
        removeDiscardedTops(ctx.vmName(), changes);
    }

    /** A fresh overlay on each frozen image, then the definition names them (skipped if it already does). */
    private void newTops(VmJobContext ctx, Snapshot s, List<SnapshotIntent.DiskChange> changes) {
        boolean adopted = changes.stream().allMatch(c -> ctx.definition().requireDisk(c.disk()).path().equals(c.newPath()));
        if (adopted) {
            return;
        }
        for (int i = 0; i < changes.size(); i++) {
            Path top = Path.of(changes.get(i).newPath());
            Snapshot.DiskSnapshot d = s.disks().get(i);
            try {
                Files.deleteIfExists(top); // a partial one of ours from before a crash
            } catch (IOException e) {
                throw new JvirtException(ErrorCode.INTERNAL, "cannot remove " + top + ": " + e.getMessage());
            }
            images.qemuImg().create(top, "qcow2", null, Path.of(d.image()), d.format());
        }
        try {
            ctx.switchDisks(DiskSwitch.images(changes, true)); // QEMU is stopped: nothing runs on the new tops yet
        } catch (RuntimeException e) {
            SnapshotImages.deleteAll(changes.stream().map(c -> Path.of(c.newPath())).toList());
            records.forgetIntent(ctx.vmName());
            throw new JvirtException(ErrorCode.DEFINITION_NOT_WRITTEN, "revert to '" + s.name() + "' not applied: "
                    + e.getMessage() + "; VM '" + ctx.vmName() + "' is shut off on its current disks",
                    Map.of("snapshot", s.name()), e);
        }
    }

    /**
     * The tops an external revert replaced hold only what the revert discards. A file is removed only if jvirt
     * made it (named {@code <vm>-<disk>-...qcow2}) and no snapshot names it as its image.
     */
    private void removeDiscardedTops(String vm, List<SnapshotIntent.DiskChange> changes) {
        SnapshotTree tree = records.tree(vm);
        for (SnapshotIntent.DiskChange c : changes) {
            Path old = Path.of(c.oldPath());
            boolean needed = tree.snapshots().stream().flatMap(x -> x.disks().stream())
                    .anyMatch(d -> Path.of(d.image()).equals(old));
            if (SnapshotImages.isOurs(vm, c.disk(), old) && !needed && !c.oldPath().equals(c.newPath())) {
                SnapshotImages.deleteAll(List.of(old));
            }
        }
    }
}
