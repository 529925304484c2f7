package io.jvirt.blockcopy;

import io.jvirt.qemu.monitor.BlockGraph;
import io.jvirt.qemu.monitor.JobInfo;
import io.jvirt.qemu.monitor.JobStatus;
import io.jvirt.qemu.monitor.Monitor;
import io.jvirt.vm.VmDefinition;
import io.jvirt.vm.VmJobContext;
import io.jvirt.vm.VmManager;
import io.jvirt.vm.VmView;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * After a daemon restart: each copy record still under way is reconciled with what QEMU says now (query-jobs,
 * query-block): a copy that never started is cleaned up, a running one adopted (pivot or abort it again), a pivot
 * or abort that was asked for finished from QEMU's word.
 */
record CopyRecovery(VmManager vms, Copies copies, CopyStart start, CopyWatch watch, CopyControl control) {
    private static final Logger log = LoggerFactory.getLogger(CopyRecovery.class);
    /** A job in one of these has passed (or is at) the switch: the pivot that was asked for can be finished. */
    private static final EnumSet<JobStatus> PIVOTABLE = EnumSet.of(JobStatus.READY, JobStatus.PENDING, JobStatus.CONCLUDED,
            JobStatus.WAITING);

    /** Call after {@link VmManager#startRecovery()} completed (QEMUs adopted, states re-read). */
    void recoverAll() {
        for (VmView v : vms.list()) {
            VmDefinition def = vms.get(v.name()).definition();
            for (VmDefinition.Disk d : def.disks()) {
                copies.last(v.name(), d.name()).filter(r -> !r.ended()).ifPresent(r -> {
                    try {
                        vms.runJob(v.name(), CopyJob.RECOVER, CopyControl.SLOT_QUEUE, ctx -> {
                            recover(ctx, r);
                            return null;
                        });
                    } catch (RuntimeException e) {
                        log.error("VM {}: recovery of the copy of disk {} failed", v.name(), d.name(), e);
                    }
                });
            }
        }
    }

    private void recover(VmJobContext ctx, CopyRecord r) {
        CopyRecord.Step step = r.step();
        String defined = ctx.definition().requireDisk(r.disk()).path();
        log.info("VM {}: block copy of {} to {} was interrupted at step {}", r.vm(), r.disk(), r.dest(), step.wire());
        Optional<Monitor> monitor = ctx.monitor();
        if (monitor.isEmpty()) {
            // QEMU is gone: the definition names the right image (see CopyControl); record how it ended.
            if (step == CopyRecord.Step.PREPARED && r.createdDest()) {
                deleteQuietly(Path.of(r.dest()));
            }
            CopyRecord.Step end = defined.equals(r.dest()) ? CopyRecord.Step.PIVOTED : CopyRecord.Step.FAILED;
            copies.save(r.ended(end, defined, end == CopyRecord.Step.PIVOTED ? null
                    : "QEMU was gone when jvirtd restarted (copy interrupted at step " + step.wire() + "); the VM keeps "
                    + defined, null));
            return;
        }
        ActiveCopy c = new ActiveCopy(r, monitor.get(), ctx.qemuPid()); // follows it before asking QEMU
        Optional<JobInfo> job = c.job().query();
        JobStatus status = job.map(JobInfo::status).orElse(null);
        String top = BlockGraph.query(c.monitor()).require(r.disk()).file();
        switch (step) {
            case PREPARED, COPYING, READY -> {
                if (job.isEmpty()) {
                    c.stopFollowing();
                    start.undo(c.monitor(), r);
                    log.info("VM {}: the copy of {} had not started; cleaned up", r.vm(), r.disk());
                } else {
                    adopt(c, status);
                }
            }
            case PIVOT_REQUESTED, PIVOT_DONE -> {
                copies.add(c);
                c.control();
                if (top.equals(r.dest()) || PIVOTABLE.contains(status)) {
                    if (Boolean.TRUE.equals(r.resumeAfterPivot())) {
                        c.monitor().stop(); // we may have died before pausing the guest; stop is idempotent
                    }
                    control.switchOver(ctx, c); // finish the pivot the user asked for
                } else {
                    if (Boolean.TRUE.equals(r.resumeAfterPivot())) {
                        c.monitor().cont();
                    }
                    c.release();
                    adopt(c, status); // the job left ready: it goes on copying, the guest on the source
                }
            }
            case ABORTING -> {
                copies.add(c);
                c.control();
                boolean wasReady = status == JobStatus.READY;
                CopyControl.cancelJob(c);
                copies.end(c, wasReady ? CopyRecord.Step.FINISHED : CopyRecord.Step.ABORTED, r.source(),
                        "ended after a daemon restart; the guest stays on " + r.source(), null);
            }
            default -> c.stopFollowing();
        }
    }

    /** Takes a running QEMU job back under watch after a restart (the user can pivot or abort it again). */
    private void adopt(ActiveCopy c, JobStatus status) {
        if (c.record().step() == CopyRecord.Step.PREPARED) {
            copies.save(c, c.record().at(CopyRecord.Step.COPYING));
        }
        if (c.record().step() == CopyRecord.Step.READY) {
            c.readyRecorded().complete(null);
        }
        copies.add(c);
        log.info("VM {}: adopted QEMU copy job {} ({})", c.record().vm(), c.record().jobId(), status == null ? null : status.wire());
        watch.start(c);
    }

    private static void deleteQuietly(Path p) {
        try {
            Files.deleteIfExists(p);
        } catch (IOException e) {
            log.warn("cannot remove {}: {}", p, e.toString());
        }
    }
}
