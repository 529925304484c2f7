package io.jvirt.snapshot;

import io.jvirt.error.ErrorCode;
import io.jvirt.error.JvirtException;
import io.jvirt.vm.DiskImage;
import io.jvirt.vm.VmJobContext;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/** The definition follows a switch QEMU made (overlays in, or a merge out), or the guest is held until it can. */
final class DiskSwitch {
    private DiskSwitch() {
    }

    /**
     * QEMU now runs these disks on {@code images}: the definition names them durably before the guest may go on.
     * If that write fails, the guest is held paused (resume and start refused) until a retry writes it and then
     * {@code finish}es the job's own records: a resume or start of the VM retries, as does a restarted daemon
     * (the job's step record is kept, ending in ":held"). {@code beforeHold} runs before the guest is paused for
     * that (a thaw: a paused guest cannot thaw its filesystems).
     */
    static void follow(VmJobContext ctx, String what, SnapshotOp op, Map<String, DiskImage> images, Runnable beforeHold,
                       Consumer<VmJobContext> finish) {
        try {
            ctx.switchDisks(images);
        } catch (RuntimeException e) {
            String reason = what + ": QEMU runs VM '" + ctx.vmName() + "' on " + describe(images)
                    + ", but the VM's definition could not be written (" + e.getMessage() + "); the guest is paused"
                    + " until it can be: `jvirt resume " + ctx.vmName() + "` retries, as does a restart of jvirtd";
            beforeHold.run();
            try {
                ctx.recordStep(op.at(SnapshotOp.Step.HELD));
            } catch (RuntimeException ignored) {
                // the same disk may refuse this too; the intent document is what recovery goes by
            }
            ctx.holdGuest(reason, retry -> {
                retry.switchDisks(images);
                finish.accept(retry);
            });
            throw new JvirtException(ErrorCode.DEFINITION_NOT_WRITTEN, reason, Map.of("vm", ctx.vmName(), "held", true), e);
        }
    }

    /** Each changed disk on its new image (a qcow2 overlay) or back on its old one. */
    static Map<String, DiskImage> images(List<SnapshotIntent.DiskChange> changes, boolean toNew) {
        Map<String, DiskImage> to = new LinkedHashMap<>();
        for (SnapshotIntent.DiskChange c : changes) {
            to.put(c.disk(), toNew ? new DiskImage(c.newPath(), "qcow2") : new DiskImage(c.oldPath(), c.oldFormat()));
        }
        return to;
    }

    static boolean isDefinitionNotWritten(RuntimeException e) {
        return e instanceof JvirtException j && j.code() == ErrorCode.DEFINITION_NOT_WRITTEN;
    }

    private static String describe(Map<String, DiskImage> images) {
        List<String> parts = new ArrayList<>();
        images.forEach((disk, to) -> parts.add("disk " + disk + " on " + to.path()));
        return String.join(", ", parts);
    }
}
