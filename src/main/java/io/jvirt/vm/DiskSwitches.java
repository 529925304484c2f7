package io.jvirt.vm;

import io.jvirt.error.ErrorCode;
import io.jvirt.error.Fault;
import io.jvirt.error.JvirtException;
import io.jvirt.qemu.QemuInstance;
import io.jvirt.qemu.monitor.MonitorException;
import io.jvirt.store.DocumentStore;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one way a job edits a VM's definition: the durable record that QEMU switched disks to other images (nothing
 * else changes, nothing is validated again); and the guest hold, when that record could not be written.
 */
record DiskSwitches(DocumentStore store) {
    private static final Logger log = LoggerFactory.getLogger(DiskSwitches.class);

    /**
     * QEMU already runs these disks on these images (a pivot, an external snapshot, a merge): the definition is
     * made to say so durably, changing each disk's path and format only. Nothing else of the definition is
     * validated again: a kernel file removed since the VM started must not stop the record of where the guest's
     * writes now go. Any failure of the write is a {@link ErrorCode#DEFINITION_NOT_WRITTEN}, memory unchanged.
     */
    VmDefinition switchDisks(Vm vm, Map<String, DiskImage> images) {
        VmDefinition before = vm.definition();
        List<VmDefinition.Disk> disks = new ArrayList<>();
        java.util.Set<String> seen = new java.util.HashSet<>();
        for (VmDefinition.Disk d : before.disks()) {
            DiskImage to = images.get(d.name());
            if (to != null) {
                seen.add(d.name());
                DefinitionValidator.checkDiskFormat(to.format());
            }
            disks.add(to == null ? d : d.withImage(to));
        }
        if (!seen.equals(images.keySet())) {
            throw new JvirtException(ErrorCode.INTERNAL, "VM '" + vm.name() + "' has no disk among " + images.keySet());
        }
        VmDefinition changed = before.withDisks(disks);
        try {
            Fault.point("vm", "definition-write");
            store.put(vm.name(), VmManager.DEFINITION, changed); // durable before anyone sees it
        } catch (RuntimeException e) {
            throw new JvirtException(ErrorCode.DEFINITION_NOT_WRITTEN, "the definition of VM '" + vm.name()
                    + "' could not be written: " + e.getMessage(), Map.of("vm", vm.name()), e);
        }
        vm.redefine(changed);
        return changed;
    }

    /**
     * Holds the guest paused (see {@link GuestHold}): pauses it if it runs, and from now on resume and start
     * first run {@code retry} and are refused while it fails. The job's step record is kept so that a restarted
     * daemon hands the job to its capability's recovery.
     */
    void hold(Vm vm, String reason, Consumer<VmJobContext> retry) {
        vm.hold(new GuestHold(reason, Instant.now(), retry));
        log.error("VM {}: guest held paused: {}", vm.name(), reason);
        QemuInstance q = vm.instance();
        if (q != null && q.isAlive()) {
            try {
                q.monitor().stop();
            } catch (MonitorException e) {
                log.warn("VM {}: cannot pause the held guest: {}", vm.name(), e.getMessage());
            }
        }
        try {
            if (vm.state() == VmState.RUNNING || vm.state() == VmState.PAUSED) {
                vm.transition(VmState.PAUSED, "held");
            }
        } catch (RuntimeException e) {
            log.warn("VM {}: cannot record the held state: {}", vm.name(), e.toString());
        }
    }

    void release(Vm vm) {
        if (vm.hold() != null) {
            vm.hold(null);
            log.info("VM {}: guest no longer held", vm.name());
        }
    }

    /** A held guest: finish its switch now (within {@code ctx}'s job) or refuse. True if there was a hold, now gone. */
    boolean retryHold(Vm vm, VmJobContext ctx, String action) {
        GuestHold h = vm.hold();
        if (h == null) {
            return false;
        }
        try {
            h.retry().accept(ctx);
        } catch (RuntimeException e) {
            throw new JvirtException(ErrorCode.GUEST_HELD, "cannot " + action + " VM '" + vm.name() + "': " + h.reason()
                    + " (retried just now: " + e.getMessage() + ")",
                    Map.of("vm", vm.name(), "heldSince", h.since().toString()), e);
        }
        release(vm);
        vm.clearJob();
        return true;
    }
}
