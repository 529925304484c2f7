package io.jvirt.blockcopy;

import io.jvirt.error.ErrorCode;
import io.jvirt.error.JvirtException;
import io.jvirt.storage.QemuImg;
import io.jvirt.store.DocumentStore;
import io.jvirt.vm.JobKind;
import io.jvirt.vm.VmDefinition;
import io.jvirt.vm.VmManager;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Live block copy, the entry point the API uses: QEMU's blockdev-mirror of a running VM's disk to a new image,
 * driven by the job's events, ended by a pivot (the guest switches to the copy) or a finish/abort (the guest stays
 * on the source). Each phase is a class of its own: {@link CopyStart}, {@link CopyWatch} (the copy's own thread),
 * {@link CopyControl} (pivot, finish, abort, rate), {@link CopyRecovery}; {@link ActiveCopy} is one copy under way.
 *
 * <p>A copy holds the VM's job slot only while it starts, pivots or aborts; in between (minutes or hours) other
 * calls on the VM go on, and jobs of other capabilities that would change the disk graph are refused.
 */
public final class BlockCopyService {
    private final Copies copies;
    private final CopyStart start;
    private final CopyControl control;
    private final CopyRecovery recovery;

    /** Also registers with {@code vms} the admission that keeps other capabilities' jobs off a VM being copied. */
    public BlockCopyService(VmManager vms, DocumentStore store, QemuImg qemuImg) {
        this.copies = new Copies(vms, store);
        CopyWatch watch = new CopyWatch(copies);
        this.start = new CopyStart(vms, copies, qemuImg, new DestinationCheck(vms::definitions, qemuImg, (field, path) -> vms.confinement().checkNewFile(field, path)), watch);
        this.control = new CopyControl(vms, copies);
        this.recovery = new CopyRecovery(vms, copies, start, watch, control);
        vms.addAdmission(this::admit);
    }

    public void addListener(Consumer<CopyEvent> listener) {
        copies.addListener(listener);
    }

    /** Other capabilities' jobs would change the graph under the mirror (e.g. a snapshot): not while it runs. */
    private void admit(String vm, JobKind kind) {
        if (kind instanceof CopyJob || kind.readsOnly()) {
            return;
        }
        for (ActiveCopy c : copies.onVm(vm)) {
            CopyRecord r = c.record();
            throw new JvirtException(ErrorCode.VM_BUSY, "VM '" + vm + "' is copying disk " + r.disk() + " to "
                    + r.dest() + " (since " + r.since() + "); pivot or abort the copy first",
                    Map.of("vm", vm, "job", CopyJob.OPERATION, "disk", r.disk(), "since", r.since().toString()));
        }
    }

    /**
     * Checks everything, creates the destination and starts QEMU's mirror, holding the VM's slot for that long
     * only. Bad input throws here, before anything changed.
     */
    public ActiveCopy start(String vm, String disk, CopyRequest req) {
        return start.start(vm, disk, req);
    }

    /** The operation a copy request runs: with pivot or finish it ends the copy that way once ready. */
    public CopyRecord run(ActiveCopy c, CopyRequest req) {
        return control.run(c, req);
    }

    /** Waits for the copy to end by itself (or by a pivot/abort someone else asks for). */
    public CopyRecord awaitEnd(ActiveCopy c) {
        return control.awaitEnd(c);
    }

    /** Switches the guest to the destination once the copy is ready (waiting up to {@code timeout} for that). */
    public CopyRecord pivot(String vm, String disk, Duration timeout) {
        return control.pivot(vm, disk, timeout);
    }

    /** Ends the copy with the guest on its source ("finish" once ready, "abort" before). */
    public CopyRecord abort(String vm, String disk) {
        return control.abort(vm, disk);
    }

    /** Changes the copy rate limit of a running copy (0: unlimited). */
    public CopyRecord bandwidth(String vm, String disk, long mibPerSecond) {
        return control.bandwidth(vm, disk, mibPerSecond);
    }

    // ---- queries -----------------------------------------------------------------------------------------------

    /** The copy under way on a disk, or the record of the last one. */
    public Map<String, Object> info(String vm, String disk) {
        copies.definition(vm).requireDisk(disk);
        return copies.get(vm, disk).map(ActiveCopy::view)
                .orElseGet(() -> CopyView.of(copies.last(vm, disk).orElseThrow(() -> Copies.noJob(vm, disk, null))));
    }

    /** Every disk of the VM with a copy under way or a last copy on record. */
    public List<Map<String, Object>> list(String vm) {
        List<Map<String, Object>> out = new ArrayList<>();
        for (VmDefinition.Disk d : copies.definition(vm).disks()) {
            copies.get(vm, d.name()).map(ActiveCopy::view)
                    .or(() -> copies.last(vm, d.name()).map(CopyView::of)).ifPresent(out::add);
        }
        return out;
    }

    // ---- recovery after a daemon restart ------------------------------------------------------------------------

    /**
     * Finishes what a previous daemon left: call after {@link VmManager#startRecovery()} completed (QEMUs adopted, states
     * re-read).
     */
    public void recoverAll() {
        recovery.recoverAll();
    }
}
