package io.jvirt.snapshot;

import io.jvirt.error.ErrorCode;
import io.jvirt.error.Fault;
import io.jvirt.error.JvirtException;
import io.jvirt.guest.GuestService;
import io.jvirt.qemu.monitor.BlockGraph;
import io.jvirt.qemu.monitor.Blockdev;
import io.jvirt.qemu.monitor.GuestPause;
import io.jvirt.qemu.monitor.Monitor;
import io.jvirt.qemu.monitor.MonitorException;
import io.jvirt.qemu.monitor.QemuJob;
import io.jvirt.qemu.monitor.TransactionAction;
import io.jvirt.storage.QemuImgException;
import io.jvirt.vm.VmDefinition;
import io.jvirt.vm.VmJobContext;
import io.jvirt.vm.VmManager;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Taking a snapshot, after {@link CreatePlanner} checked it: internal (live in one transaction, or offline with
 * qemu-img), with memory (snapshot-save), external (overlays switched in one transaction), external with memory.
 * Each is preceded by its durable intent; a failure after QEMU switched keeps whatever chain QEMU really runs on.
 */
record SnapshotCreate(VmManager vms, SnapshotRecords records, SnapshotImages images, GuestService guest) {
    static final Duration JOB_TIMEOUT = Duration.ofMinutes(30);
    private static final Logger log = LoggerFactory.getLogger(SnapshotCreate.class);

    Snapshot create(VmJobContext ctx, CreatePlanner.CreatePlan plan) {
        String vm = ctx.vmName();
        SnapshotTree tree = records.tree(vm);
        List<Snapshot.DiskSnapshot> disks = new ArrayList<>();
        List<SnapshotIntent.DiskChange> changes = new ArrayList<>();
        String tag = Long.toHexString(System.nanoTime() & 0xffffffL);
        for (VmDefinition.Disk d : plan.disks()) {
            if (plan.external()) {
                Path overlay = SnapshotImages.overlayPath(vm, d, plan.req().name());
                disks.add(new Snapshot.DiskSnapshot(d.name(), d.path(), d.format(), overlay.toString()));
                changes.add(new SnapshotIntent.DiskChange(d.name(), d.path(), d.format(), overlay.toString(),
                        "sf" + tag + "-" + d.name(), "sn" + tag + "-" + d.name()));
            } else {
                disks.add(new Snapshot.DiskSnapshot(d.name(), d.path(), d.format(), null));
            }
        }
        SnapshotOp op = plan.op();
        boolean externalMemory = op == SnapshotOp.CREATE_EXTERNAL_MEMORY;
        Snapshot snap = new Snapshot(plan.req().name(), tree.current(), Instant.now(), plan.kind(), plan.req().wantsMemory(),
                plan.running() ? ctx.state().wire() : "shutoff", List.copyOf(disks), null,
                externalMemory ? SnapshotImages.memoryPath(vm, plan.disks().get(0), plan.req().name()).toString() : null);
        SnapshotIntent intent = new SnapshotIntent(op, snap, plan.running(), changes);
        records.intend(ctx, intent);

        Quiesce quiesce = plan.req().wantsQuiesce() && plan.running() ? Quiesce.freeze(guest, vm)
                : Quiesce.none(plan.req().wantsQuiesce());
        Snapshot done;
        try {
            Fault.point("snapshot", "after-freeze");
            done = switch (op) {
                case CREATE_MEMORY -> createMemory(ctx, snap);
                case CREATE_EXTERNAL_MEMORY -> createExternalMemory(ctx, snap, changes);
                case CREATE_INTERNAL -> plan.running() ? createInternalLive(ctx, snap) : createInternalOffline(snap);
                default -> createExternal(ctx, snap, snap, changes, plan.running(), quiesce::thaw);
            };
        } catch (RuntimeException e) {
            quiesce.thaw();
            if (ctx.isHeld() || DiskSwitch.isDefinitionNotWritten(e)) {
                // QEMU switched, the definition could not follow: the guest is held and the hold's retry (resume,
                // start, or recovery after a restart) finishes the snapshot; or nothing had switched and nothing stays
                throw withQuiesce(e, quiesce);
            }
            // An external snapshot can fail after QEMU switched (e.g. the definition update): ask QEMU, as a
            // restarted daemon would, and keep whichever chain it really runs on.
            if (op == SnapshotOp.CREATE_EXTERNAL && reconcileExternal(ctx, intent)) {
                records.done(vm);
                return snap;
            }
            if (op == SnapshotOp.CREATE_EXTERNAL_MEMORY) {
                failExternalMemory(ctx, snap, changes, e); // throws
            }
            records.done(vm);
            throw withQuiesce(e, quiesce);
        }
        quiesce.thaw();
        records.putTree(vm, tree.with(done));
        records.done(vm);
        return done;
    }

    private static RuntimeException withQuiesce(RuntimeException e, Quiesce q) {
        if (!q.requested() || !(e instanceof JvirtException je)) {
            return e;
        }
        Map<String, Object> details = new LinkedHashMap<>(je.details());
        details.put("quiesce", q.report());
        return new JvirtException(je.code(), je.getMessage(), details, je);
    }

    private Snapshot createInternalLive(VmJobContext ctx, Snapshot snap) {
        Monitor monitor = ctx.requireMonitor("snapshot");
        BlockGraph graph = BlockGraph.query(monitor);
        List<TransactionAction> actions = new ArrayList<>();
        for (Snapshot.DiskSnapshot d : snap.disks()) {
            actions.add(TransactionAction.internalSnapshot(graph.require(d.disk()).node(), snap.name()));
        }
        transaction(monitor, actions, snap.name());
        return snap;
    }

    private Snapshot createInternalOffline(Snapshot snap) {
        List<Snapshot.DiskSnapshot> done = new ArrayList<>();
        try {
            for (Snapshot.DiskSnapshot d : snap.disks()) {
                images.qemuImg().snapshot("-c", Path.of(d.image()), snap.name());
                done.add(d);
            }
        } catch (QemuImgException e) {
            for (Snapshot.DiskSnapshot d : done) { // all or none
                images.qemuImg().snapshot("-d", Path.of(d.image()), snap.name());
            }
            throw new JvirtException(ErrorCode.QEMU_FAILED, "snapshot '" + snap.name() + "' failed: " + e.getMessage(),
                    Map.of("snapshot", snap.name()), e);
        }
        return snap;
    }

    /** snapshot-save: one QEMU job pauses the guest, writes disks and memory into the qcow2 images, resumes it. */
    private Snapshot createMemory(VmJobContext ctx, Snapshot snap) {
        Monitor monitor = ctx.requireMonitor("snapshot");
        BlockGraph graph = BlockGraph.query(monitor);
        String vmstate = graph.require(snap.disks().get(0).disk()).node();
        List<String> devices = snap.disks().stream().map(d -> graph.require(d.disk()).node()).toList();
        String job = "snap-save-" + snap.name();
        try (GuestPause pause = GuestPause.measure(monitor)) {
            QemuJob.run(monitor, job, "saving snapshot '" + snap.name() + "'",
                    () -> monitor.jobs().snapshotSave(job, snap.name(), vmstate, devices), JOB_TIMEOUT);
            return snap.withMemory(pause.millis());
        }
    }

    /**
     * As libvirt does: the guest is paused (STOP), the disks switch to overlays in one transaction, RAM and device
     * state go to the memory file through a migration, and the guest continues (RESUME). Disks and memory are of
     * the same instant because the guest does not run in between. The memory file is written as {@code .part} and
     * renamed when complete, so a file with the final name is always a whole stream.
     */
    private Snapshot createExternalMemory(VmJobContext ctx, Snapshot snap, List<SnapshotIntent.DiskChange> changes) {
        Monitor monitor = ctx.requireMonitor("snapshot");
        Long pause = null;
        try (GuestPause paused = GuestPause.measure(monitor)) {
            boolean wasRunning = monitor.queryStatus().running();
            if (wasRunning) {
                monitor.stop();
            }
            try {
                // if the definition cannot follow the switch, the snapshot is kept disk-only by the hold's retry
                createExternal(ctx, snap, snap.diskOnly(), changes, true, () -> { });
                saveMemory(ctx, monitor, Path.of(snap.memoryFile()));
            } finally {
                if (wasRunning && !ctx.isHeld()) {
                    monitor.cont(); // after a completed migration this also takes the images back (reactivates them)
                }
            }
            if (wasRunning) {
                pause = paused.awaitMillis(Duration.ofSeconds(10));
            }
        } catch (MonitorException e) {
            throw new JvirtException(ErrorCode.QEMU_FAILED, "external memory snapshot '" + snap.name() + "' failed: " + e,
                    Map.of("snapshot", snap.name()), e);
        }
        return snap.withMemory(pause);
    }

    void saveMemory(VmJobContext ctx, Monitor monitor, Path mem) {
        MemoryFile.saveComplete(monitor, vms.paths(ctx.vmName()).runDir().resolve("mem-save.sock"), mem, JOB_TIMEOUT,
                sock -> ctx.grantToQemu(sock, io.jvirt.vm.Confinement.Access.WRITE));
    }

    /**
     * The memory part of an external memory snapshot failed. If QEMU switched the disks, the overlays hold the
     * guest's writes from now on and are kept: the snapshot is recorded disk-only and the error says so. If not,
     * nothing changed.
     */
    private void failExternalMemory(VmJobContext ctx, Snapshot snap, List<SnapshotIntent.DiskChange> changes, RuntimeException e) {
        SnapshotImages.deleteAll(List.of(Path.of(snap.memoryFile() + ".part")));
        boolean kept = reconcileExternal(ctx, new SnapshotIntent(SnapshotOp.CREATE_EXTERNAL, snap.diskOnly(), true, changes));
        records.done(ctx.vmName());
        if (kept) {
            throw new JvirtException(ErrorCode.QEMU_FAILED, "the memory of snapshot '" + snap.name() + "' could not be saved ("
                    + e.getMessage() + "); the disks had already switched, so '" + snap.name() + "' was kept as a disk-only external snapshot",
                    Map.of("snapshot", snap.name(), "recordedAs", "disk-only"), e);
        }
        throw e;
    }

    /**
     * {@code onRetry} is what is recorded if the definition cannot follow QEMU's switch at once and a later retry
     * finishes the snapshot; {@code beforeHold} runs before the guest is paused for that (see {@link DiskSwitch}).
     */
    private Snapshot createExternal(VmJobContext ctx, Snapshot snap, Snapshot onRetry, List<SnapshotIntent.DiskChange> changes,
                                    boolean running, Runnable beforeHold) {
        List<Path> created = new ArrayList<>();
        try {
            for (SnapshotIntent.DiskChange c : changes) {
                Path overlay = Path.of(c.newPath());
                if (Files.exists(overlay, LinkOption.NOFOLLOW_LINKS)) { // never write through a planted link
                    throw new JvirtException(ErrorCode.INVALID_ARGUMENT, "the overlay for disk '" + c.disk()
                            + "' already exists: " + overlay, Map.of("disk", c.disk(), "path", overlay.toString()));
                }
                images.qemuImg().create(overlay, "qcow2", null, Path.of(c.oldPath()), c.oldFormat());
                created.add(overlay);
            }
        } catch (QemuImgException e) {
            SnapshotImages.deleteAll(created);
            throw new JvirtException(ErrorCode.QEMU_FAILED, "cannot create the overlay images: " + e.getMessage(),
                    Map.of("snapshot", snap.name()), e);
        } catch (RuntimeException e) {
            SnapshotImages.deleteAll(created);
            throw e;
        }
        if (running) {
            switchLive(ctx, snap.name(), changes, created);
        }
        ctx.recordStep(SnapshotOp.CREATE_EXTERNAL.at(SnapshotOp.Step.SWITCHED));
        Fault.point("snapshot", "after-switch");
        if (!running) {
            try {
                ctx.switchDisks(DiskSwitch.images(changes, true));
            } catch (RuntimeException e) {
                // no QEMU runs on the overlays: nothing was written to them, so the snapshot is simply not taken
                SnapshotImages.deleteAll(created);
                records.forgetIntent(ctx.vmName());
                throw new JvirtException(ErrorCode.DEFINITION_NOT_WRITTEN, "snapshot '" + snap.name()
                        + "' not taken: " + e.getMessage() + "; nothing changed", Map.of("snapshot", snap.name()), e);
            }
        } else {
            DiskSwitch.follow(ctx, "snapshot '" + snap.name() + "'", SnapshotOp.CREATE_EXTERNAL, DiskSwitch.images(changes, true),
                    beforeHold, retry -> records.recordCreated(retry.vmName(), onRetry));
        }
        Fault.point("snapshot", "after-definition");
        return snap;
    }

    /** blockdev-add each overlay (without backing), then one transaction of blockdev-snapshot: all disks or none. */
    private void switchLive(VmJobContext ctx, String name, List<SnapshotIntent.DiskChange> changes, List<Path> created) {
        Monitor monitor = ctx.requireMonitor("snapshot");
        BlockGraph graph = BlockGraph.query(monitor);
        List<String> added = new ArrayList<>();
        try {
            List<TransactionAction> actions = new ArrayList<>();
            for (SnapshotIntent.DiskChange c : changes) {
                ctx.grantToQemu(Path.of(c.newPath()), io.jvirt.vm.Confinement.Access.WRITE); // before QEMU opens it
                monitor.block().blockdevAdd(Blockdev.file(c.fileNode(), Path.of(c.newPath())));
                added.add(c.fileNode());
                monitor.block().blockdevAdd(Blockdev.format("qcow2", c.formatNode(), c.fileNode()).withoutBacking());
                added.add(0, c.formatNode());
                actions.add(TransactionAction.blockdevSnapshot(graph.require(c.disk()).node(), c.formatNode()));
            }
            Fault.point("snapshot", "before-switch");
            transaction(monitor, actions, name);
        } catch (RuntimeException e) {
            BlockGraph.delete(monitor, added.toArray(String[]::new));
            SnapshotImages.deleteAll(created);
            throw e instanceof JvirtException ? e : new JvirtException(ErrorCode.QEMU_FAILED,
                    "external snapshot '" + name + "' failed: " + e.getMessage(), Map.of("snapshot", name), e);
        }
    }

    private static void transaction(Monitor monitor, List<TransactionAction> actions, String name) {
        try {
            monitor.block().transaction(actions);
        } catch (MonitorException e) {
            String msg = e.getMessage();
            ErrorCode code = msg != null && msg.contains("already exists") ? ErrorCode.SNAPSHOT_EXISTS : ErrorCode.QEMU_FAILED;
            throw new JvirtException(code, "snapshot '" + name + "' failed (no disk changed): " + msg,
                    Map.of("snapshot", name), e);
        }
    }

    /**
     * An external snapshot cut short (by a failure, or a daemon that died). If QEMU runs: its top nodes decide
     * (switched: adopt; not: undo, deleting the nodes we added). If QEMU is gone: adopt the overlays when they are
     * all intact, since an overlay nobody wrote to reads exactly like its backing file, and one QEMU did write to
     * holds acknowledged writes that must not be lost. True if the snapshot was adopted.
     */
    boolean reconcileExternal(VmJobContext ctx, SnapshotIntent in) {
        String vm = ctx.vmName();
        List<SnapshotIntent.DiskChange> changes = in.changes();
        boolean adopt;
        if (ctx.monitor().isPresent()) {
            Monitor monitor = ctx.monitor().get();
            BlockGraph graph = BlockGraph.query(monitor);
            adopt = changes.stream().allMatch(c -> graph.top(c.disk())
                    .filter(t -> Path.of(t.file()).equals(Path.of(c.newPath()))).isPresent());
            if (!adopt) {
                List<String> nodes = BlockGraph.nodeNames(monitor);
                for (SnapshotIntent.DiskChange c : changes) {
                    for (String n : List.of(c.formatNode(), c.fileNode())) {
                        if (nodes.contains(n)) {
                            monitor.block().blockdevDel(n);
                        }
                    }
                }
            }
        } else {
            adopt = changes.stream().allMatch(images::intactOverlay);
        }
        if (adopt) {
            if (!changes.stream().allMatch(c -> ctx.definition().requireDisk(c.disk()).path().equals(c.newPath()))) {
                DiskSwitch.follow(ctx, "snapshot '" + in.snapshot().name() + "'", SnapshotOp.CREATE_EXTERNAL,
                        DiskSwitch.images(changes, true), () -> { }, retry -> records.recordCreated(retry.vmName(), in.snapshot()));
            }
            records.putTree(vm, records.tree(vm).with(in.snapshot()));
            log.info("VM {}: external snapshot '{}' completed on recovery", vm, in.snapshot().name());
        } else {
            // only files that are provably ours (an overlay on the old image); anything else at that path is not
            SnapshotImages.deleteAll(changes.stream().filter(images::intactOverlay).map(c -> Path.of(c.newPath())).toList());
            log.info("VM {}: external snapshot '{}' undone on recovery", vm, in.snapshot().name());
        }
        return adopt;
    }
}
