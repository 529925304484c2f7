package io.jvirt.snapshot;

import io.jvirt.error.ErrorCode;
import io.jvirt.error.JvirtException;
import io.jvirt.qemu.monitor.Feature;
import io.jvirt.qemu.monitor.Monitor;
import io.jvirt.vm.VmDefinition;
import io.jvirt.vm.VmJobContext;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;

/** Checks a snapshot request against the VM, its disks, its QEMU and its files before anything changes. */
record CreatePlanner(SnapshotRecords records, SnapshotImages images) {
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,62}");

    /** Everything checked before anything changes: what create then does. */
    record CreatePlan(SnapshotRequest req, String kind, boolean running, List<VmDefinition.Disk> disks) {
        boolean external() {
            return Snapshot.EXTERNAL.equals(kind);
        }

        SnapshotOp op() {
            return SnapshotOp.create(external(), req.wantsMemory());
        }
    }

    CreatePlan plan(VmJobContext ctx, SnapshotRequest req) {
        String vm = ctx.vmName();
        if (req == null || req.name() == null || !NAME.matcher(req.name()).matches()) {
            throw new JvirtException(ErrorCode.INVALID_NAME, "snapshot name must match " + NAME.pattern(),
                    Map.of("name", req == null || req.name() == null ? "" : req.name()));
        }
        if (records.tree(vm).find(req.name()).isPresent()) {
            throw new JvirtException(ErrorCode.SNAPSHOT_EXISTS, "VM '" + vm + "' already has a snapshot '" + req.name() + "'",
                    Map.of("vm", vm, "snapshot", req.name()));
        }
        Optional<Monitor> monitor = ctx.monitor();
        boolean running = monitor.isPresent();
        checkMemory(ctx, req, running);
        List<VmDefinition.Disk> chosen = chooseDisks(ctx, req);
        String kind = req.wantsExternal() ? Snapshot.EXTERNAL : Snapshot.INTERNAL;
        for (VmDefinition.Disk d : chosen) {
            if (!d.writable()) {
                throw new JvirtException(ErrorCode.INVALID_ARGUMENT, "disk '" + d.name() + "' is read-only", Map.of("disk", d.name()));
            }
            if (kind.equals(Snapshot.INTERNAL) && !"qcow2".equals(d.format())) {
                throw new JvirtException(ErrorCode.INVALID_ARGUMENT, "an internal snapshot needs qcow2; disk '" + d.name()
                        + "' is " + d.format() + " (use --external)", Map.of("disk", d.name(), "format", d.format()));
            }
        }
        if (req.wantsMemory()) {
            // asked of this QEMU before anything changes: a memory snapshot cannot stop half way
            monitor.get().require(kind.equals(Snapshot.INTERNAL) ? Feature.SNAPSHOT_SAVE : Feature.MIGRATION_EVENTS,
                    "a memory snapshot");
        }
        if (kind.equals(Snapshot.INTERNAL)) {
            for (VmDefinition.Disk d : chosen) {
                if (images.internalNames(monitor, d).contains(req.name())) {
                    throw new JvirtException(ErrorCode.SNAPSHOT_EXISTS, "snapshot '" + req.name() + "' already exists on disk '"
                            + d.name() + "'", Map.of("vm", vm, "disk", d.name(), "snapshot", req.name()));
                }
            }
        } else {
            checkExternalFiles(ctx, req, chosen);
        }
        return new CreatePlan(req, kind, running, List.copyOf(chosen));
    }

    private static void checkMemory(VmJobContext ctx, SnapshotRequest req, boolean running) {
        if (req.wantsMemory() && Boolean.TRUE.equals(req.diskOnly())) {
            throw new JvirtException(ErrorCode.INVALID_ARGUMENT, "--memory and --disk-only exclude each other");
        }
        if (req.wantsMemory() && !running) {
            throw new JvirtException(ErrorCode.INVALID_STATE, "a memory snapshot needs a running VM; '" + ctx.vmName() + "' is "
                    + ctx.state().wire(), Map.of("vm", ctx.vmName(), "state", ctx.state().wire()));
        }
        if (req.wantsMemory() && req.disks() != null) {
            throw new JvirtException(ErrorCode.INVALID_ARGUMENT, "a memory snapshot covers every writable disk; --disk cannot be given");
        }
    }

    /** The disks named (each once), or every writable disk. */
    private static List<VmDefinition.Disk> chooseDisks(VmJobContext ctx, SnapshotRequest req) {
        List<VmDefinition.Disk> chosen = new ArrayList<>();
        if (req.disks() == null) {
            ctx.definition().diskList().stream().filter(VmDefinition.Disk::writable).forEach(chosen::add);
        } else {
            for (String name : req.disks()) {
                VmDefinition.Disk d = ctx.definition().requireDisk(name);
                if (chosen.contains(d)) {
                    throw new JvirtException(ErrorCode.INVALID_ARGUMENT, "disk '" + name + "' is named twice");
                }
                chosen.add(d);
            }
        }
        if (chosen.isEmpty()) {
            throw new JvirtException(ErrorCode.INVALID_ARGUMENT, "VM '" + ctx.vmName() + "' has no writable disk to snapshot",
                    Map.of("vm", ctx.vmName()));
        }
        return chosen;
    }

    /** Never write through a planted link: the overlays and the memory file must not exist yet. */
    private static void checkExternalFiles(VmJobContext ctx, SnapshotRequest req, List<VmDefinition.Disk> chosen) {
        if (req.wantsMemory()) {
            Path mem = SnapshotImages.memoryPath(ctx.vmName(), chosen.get(0), req.name());
            if (Files.exists(mem, LinkOption.NOFOLLOW_LINKS) || Files.exists(Path.of(mem + ".part"), LinkOption.NOFOLLOW_LINKS)) {
                throw new JvirtException(ErrorCode.INVALID_ARGUMENT, "the memory file already exists: " + mem,
                        Map.of("path", mem.toString()));
            }
        }
        for (VmDefinition.Disk d : chosen) {
            Path overlay = SnapshotImages.overlayPath(ctx.vmName(), d, req.name());
            if (Files.exists(overlay, LinkOption.NOFOLLOW_LINKS)) {
                throw new JvirtException(ErrorCode.INVALID_ARGUMENT, "the overlay for disk '" + d.name() + "' already exists: "
                        + overlay, Map.of("disk", d.name(), "path", overlay.toString()));
            }
        }
    }
}
