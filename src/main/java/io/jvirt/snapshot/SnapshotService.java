package io.jvirt.snapshot;

import io.jvirt.error.ErrorCode;
import io.jvirt.error.JvirtException;
import io.jvirt.guest.GuestService;
import io.jvirt.qemu.monitor.BlockGraph;
import io.jvirt.storage.QemuImg;
import io.jvirt.store.DocumentStore;
import io.jvirt.vm.PendingJob;
import io.jvirt.vm.VmManager;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * VM snapshots, the entry point the API uses: create (internal, external, with memory), list, revert, delete, and
 * recovery of any of these left half-done by a daemon that died. Each phase is a class of its own
 * ({@link CreatePlanner} and {@link SnapshotCreate}, {@link SnapshotRevert}, {@link SnapshotDelete},
 * {@link SnapshotRecovery}); every job holds the VM's job slot, and every step that changes images or the
 * definition is preceded by a durable intent (see docs/snapshots.md for the step x recovery table).
 */
public final class SnapshotService {
    private final VmManager vms;
    private final SnapshotRecords records;
    /* the phases, one class each */
    private final CreatePlanner planner;
    private final SnapshotCreate create;
    private final SnapshotRevert revert;
    private final SnapshotDelete delete;

    /** Also registers the recovery of each snapshot job with {@code vms}: make it before {@code startRecovery}. */
    public SnapshotService(VmManager vms, DocumentStore store, QemuImg qemuImg, GuestService guest) {
        this.vms = vms;
        this.records = new SnapshotRecords(store);
        SnapshotImages images = new SnapshotImages(qemuImg);
        this.planner = new CreatePlanner(records, images);
        this.create = new SnapshotCreate(vms, records, images, guest);
        this.revert = new SnapshotRevert(vms, records, images);
        this.delete = new SnapshotDelete(records, images);
        SnapshotRecovery recovery = new SnapshotRecovery(records, images, create, revert, delete);
        for (SnapshotJob job : new SnapshotJob[] {SnapshotJob.CREATE, SnapshotJob.REVERT, SnapshotJob.DELETE}) {
            vms.registerRecovery(job, recovery::recover);
        }
    }

    /**
     * The service of this daemon (with qemu-img on PATH; {@code guest} freezes filesystems for a quiesced
     * snapshot through the VM's agent slot); call before {@code startRecovery}.
     */
    public static SnapshotService install(VmManager vms, DocumentStore store, GuestService guest) {
        return new SnapshotService(vms, store, new QemuImg(), guest);
    }

    // ---- queries -------------------------------------------------------------------------------------------

    public SnapshotTree tree(String vm) {
        vms.get(vm); // vm-not-found
        return records.tree(vm);
    }

    /** What QEMU runs each disk on right now (query-block), or an empty map when the VM is not running. */
    public Map<String, Object> liveTops(String vm) {
        return vms.runJob(vm, SnapshotJob.QUERY, Duration.ofSeconds(30), ctx -> {
            Map<String, Object> out = new LinkedHashMap<>();
            ctx.monitor().ifPresent(m -> BlockGraph.query(m).byDisk().forEach((disk, top) ->
                    out.put(disk, Map.of("node", top.node(), "file", top.file(), "snapshots", top.snapshots()))));
            return out;
        });
    }

    public Snapshot info(String vm, String name) {
        return tree(vm).find(name).orElseThrow(() -> new JvirtException(ErrorCode.SNAPSHOT_NOT_FOUND,
                "VM '" + vm + "' has no snapshot '" + name + "'", Map.of("vm", vm, "snapshot", name)));
    }

    // ---- jobs: admitted (checked) on the caller's thread, run as operations ---------------------------------------

    public PendingJob<Snapshot> prepareCreate(String vm, SnapshotRequest req, String operationId, Duration queue) {
        return vms.prepareJob(vm, SnapshotJob.CREATE, operationId, queue, ctx -> planner.plan(ctx, req), create::create);
    }

    public PendingJob<Snapshot> prepareRevert(String vm, String name, String operationId, Duration queue) {
        return vms.prepareJob(vm, SnapshotJob.REVERT, operationId, queue, ctx -> revert.check(ctx, info(vm, name)),
                revert::revert);
    }

    public PendingJob<Snapshot> prepareDelete(String vm, String name, String operationId, Duration queue) {
        return vms.prepareJob(vm, SnapshotJob.DELETE, operationId, queue, ctx -> delete.plan(ctx, info(vm, name)),
                delete::delete);
    }
}
