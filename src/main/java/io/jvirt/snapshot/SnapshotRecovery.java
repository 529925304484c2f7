package io.jvirt.snapshot;

import io.jvirt.qemu.monitor.BlockGraph;
import io.jvirt.qemu.monitor.Monitor;
import io.jvirt.qemu.monitor.QemuJob;
import io.jvirt.qemu.monitor.QemuMigration;
import io.jvirt.vm.VmJobContext;
import io.jvirt.vm.VmRecord;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * After a daemon restart, a snapshot job that was under way: its durable intent says what it was doing, QEMU (or
 * qemu-img) says how far it got; the job is finished or undone, never left half done.
 */
record SnapshotRecovery(SnapshotRecords records, SnapshotImages images, SnapshotCreate create, SnapshotRevert revert, SnapshotDelete delete) {
    private static final Logger log = LoggerFactory.getLogger(SnapshotRecovery.class);

    void recover(VmJobContext ctx, VmRecord.JobRecord interrupted) {
        String vm = ctx.vmName();
        Optional<SnapshotIntent> found = records.intent(vm);
        if (found.isEmpty()) {
            log.info("VM {}: snapshot job {} left no intent; nothing was changed", vm, interrupted.intent());
            return;
        }
        SnapshotIntent in = found.get();
        Snapshot s = in.snapshot();
        if (in.op() == null) {
            log.warn("VM {}: unknown snapshot intent for '{}'", vm, s.name());
            records.done(vm);
            return;
        }
        log.info("VM {}: recovering {} of snapshot '{}' (last step {})", vm, in.op().wire(), s.name(), interrupted.intent());
        switch (in.op()) {
            case CREATE_INTERNAL, CREATE_MEMORY -> recoverInternalCreate(ctx, in);
            case CREATE_EXTERNAL -> create.reconcileExternal(ctx, in);
            case CREATE_EXTERNAL_MEMORY -> recoverExternalMemoryCreate(ctx, in);
            case REVERT_INTERNAL, REVERT_MEMORY, REVERT_EXTERNAL, REVERT_EXTERNAL_MEMORY -> {
                revert.apply(ctx, s, in.op(), in.wasRunning(), in.changes());
                records.putTree(vm, records.tree(vm).withCurrent(s.name()));
            }
            case DELETE_INTERNAL, DELETE_EXTERNAL -> delete.apply(ctx, s, in.changes());
        }
        records.done(vm);
        if (SnapshotOp.Step.HELD.isIn(interrupted.intent())) {
            resumeHeldGuest(ctx); // the previous daemon paused it only because the definition could not follow
        }
    }

    /** Recorded if every disk has it (and, with memory, the memory is there); undone if only some have it. */
    private void recoverInternalCreate(VmJobContext ctx, SnapshotIntent in) {
        Snapshot s = in.snapshot();
        Optional<Monitor> monitor = ctx.monitor();
        boolean memory = in.op() == SnapshotOp.CREATE_MEMORY;
        if (memory && monitor.isPresent()) {
            QemuJob.settle(monitor.get(), "snap-save-" + s.name(), SnapshotCreate.JOB_TIMEOUT); // it ran on without us
        }
        boolean all = true;
        boolean any = false;
        for (Snapshot.DiskSnapshot d : s.disks()) {
            boolean has = monitor.isPresent()
                    ? BlockGraph.query(monitor.get()).top(d.disk()).map(t -> t.snapshots().contains(s.name())).orElse(false)
                    : images.hasInternal(Path.of(d.image()), s.name());
            all &= has;
            any |= has;
        }
        if (all && (!memory || monitor.isPresent() || images.hasVmState(s))) {
            records.putTree(ctx.vmName(), records.tree(ctx.vmName()).with(s));
        } else if (any) {
            delete.apply(ctx, s, List.of()); // some disks only: undo, all or none
        }
    }

    private static void resumeHeldGuest(VmJobContext ctx) {
        ctx.monitor().ifPresent(m -> {
            if (!m.queryStatus().running()) {
                m.cont();
                log.info("VM {}: the held guest runs again: its definition names its disks now", ctx.vmName());
            }
        });
    }

    /**
     * External memory snapshot cut short. QEMU alive and on the overlays: the guest has been paused since before
     * the switch (only a completed save resumes it), so its state is still the snapshot's: the memory is saved
     * again unless a complete file is there, then the guest continues. QEMU alive, not switched: undone, guest
     * continues. QEMU gone: the overlays are kept if intact (as for disk-only), with memory only if the file is
     * complete.
     */
    private void recoverExternalMemoryCreate(VmJobContext ctx, SnapshotIntent in) {
        Snapshot s = in.snapshot();
        Path mem = Path.of(s.memoryFile());
        SnapshotImages.deleteAll(List.of(Path.of(mem + ".part")));
        Optional<Monitor> monitor = ctx.monitor();
        boolean adopted;
        if (monitor.isPresent()) {
            Monitor m = monitor.get();
            BlockGraph graph = BlockGraph.query(m);
            boolean switched = in.changes().stream().allMatch(c -> graph.top(c.disk())
                    .filter(t -> Path.of(t.file()).equals(Path.of(c.newPath()))).isPresent());
            boolean paused = !m.queryStatus().running();
            Snapshot record = s.diskOnly();
            if (switched && paused) {
                if (!Files.exists(mem)) {
                    try (QemuMigration migration = QemuMigration.follow(m)) {
                        migration.settle(Duration.ofSeconds(60)); // the dead daemon's save fails once its socket is gone
                    }
                    create.saveMemory(ctx, m, mem);
                }
                record = s;
            }
            adopted = create.reconcileExternal(ctx, new SnapshotIntent(SnapshotOp.CREATE_EXTERNAL, record, true, in.changes()));
            if (paused && in.wasRunning()) {
                m.cont();
            }
        } else {
            adopted = create.reconcileExternal(ctx, new SnapshotIntent(SnapshotOp.CREATE_EXTERNAL,
                    Files.exists(mem) ? s : s.diskOnly(), false, in.changes()));
        }
        if (!adopted) {
            SnapshotImages.deleteAll(List.of(mem));
        }
    }
}
