package io.jvirt.blockcopy;

import io.jvirt.error.ErrorCode;
import io.jvirt.error.Fault;
import io.jvirt.error.JvirtException;
import io.jvirt.qemu.monitor.BlockGraph;
import io.jvirt.qemu.monitor.JobInfo;
import io.jvirt.qemu.monitor.JobStatus;
import io.jvirt.qemu.monitor.MonitorException;
import io.jvirt.vm.DiskImage;
import io.jvirt.vm.VmJobContext;
import io.jvirt.vm.VmManager;
import io.jvirt.vm.VmState;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Ending a copy from outside its own thread, each within the VM's job: the pivot (the guest switches to the
 * destination), finish or abort (the guest stays on the source), a change of rate; and waiting for a copy to be
 * ready or to end.
 *
 * <p>The rule that keeps guest data safe (docs/blockcopy.md has the step x failure table): the guest is paused
 * before QEMU is asked to switch, and resumed only after the VM's definition durably names the image QEMU switched
 * to. Until the switch every acknowledged write is in the source; from the switch until the resume the guest
 * writes nothing; after the resume the definition already names the destination.
 */
record CopyControl(VmManager vms, Copies copies) {
    static final Duration SLOT_QUEUE = Duration.ofSeconds(30);
    private static final Duration QEMU_STEP = Duration.ofSeconds(120);
    private static final long MIB = 1024L * 1024;

    /** Waits for the copy to end by itself (or by a pivot/abort someone else asks for). */
    CopyRecord awaitEnd(ActiveCopy c) {
        CopyRecord r = c.ended().join();
        if (r.step() == CopyRecord.Step.FAILED) {
            throw new JvirtException(ErrorCode.QEMU_FAILED, r.error(), Map.of("vm", r.vm(), "disk", r.disk()));
        }
        return r;
    }

    /**
     * The operation a copy request runs: with pivot or finish, waits for ready (giving up and aborting at the
     * timeout) and ends the copy that way; otherwise waits for whoever ends it.
     */
    CopyRecord run(ActiveCopy c, CopyRequest req) {
        if (!req.wantsPivot() && !req.wantsFinish()) {
            return awaitEnd(c);
        }
        Duration timeout = req.timeoutSeconds() == null ? Duration.ofDays(365) : Duration.ofSeconds(req.timeoutSeconds());
        CopyRecord r = c.record();
        try {
            awaitReady(c, timeout);
        } catch (JvirtException e) {
            if (e.code() == ErrorCode.TIMEOUT && !c.isEnded()) {
                abort(r.vm(), r.disk());
                throw new JvirtException(ErrorCode.TIMEOUT, e.getMessage() + "; the copy was aborted", e.details());
            }
            throw e;
        }
        return req.wantsPivot() ? pivot(r.vm(), r.disk(), Duration.ZERO) : abort(r.vm(), r.disk());
    }

    private static void awaitReady(ActiveCopy c, Duration timeout) {
        try {
            CompletableFuture.anyOf(c.readyRecorded(), c.ended()).get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            CopyProgress p = c.progress();
            throw new JvirtException(ErrorCode.TIMEOUT, "the copy of disk " + c.record().disk() + " is not ready after "
                    + timeout.toSeconds() + " s: " + (p == null ? "no progress reported yet" : p.describe()),
                    Map.of("vm", c.record().vm(), "disk", c.record().disk()));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new JvirtException(ErrorCode.CANCELLED, "interrupted");
        } catch (ExecutionException e) {
            throw new JvirtException(ErrorCode.INTERNAL, e.getCause().toString());
        }
        if (c.isEnded()) {
            CopyRecord r = c.end();
            if (r.step() == CopyRecord.Step.FAILED) {
                throw new JvirtException(ErrorCode.QEMU_FAILED, r.error(), Map.of("vm", r.vm(), "disk", r.disk()));
            }
            throw new JvirtException(ErrorCode.INVALID_STATE, "the copy of disk " + r.disk() + " already ended ("
                    + r.step() + "): " + CopyView.describeEnd(r), Map.of("vm", r.vm(), "disk", r.disk(), "active", String.valueOf(r.active())));
        }
        if (!c.readyNow()) {
            throw new JvirtException(ErrorCode.INVALID_STATE, "the copy of disk " + c.record().disk() + " left the ready state"
                    + (c.lastError() != null ? ": " + c.lastError() : ""), Map.of("vm", c.record().vm(), "disk", c.record().disk()));
        }
    }

    /** Switches the guest to the destination once the copy is ready (waiting up to {@code timeout} for that). */
    CopyRecord pivot(String vm, String disk, Duration timeout) {
        ActiveCopy c = copies.require(vm, disk);
        if (!c.isAwaitingDefinition()) {
            awaitReady(c, timeout);
        }
        CopyRecord done = vms.runJob(vm, CopyJob.PIVOT, SLOT_QUEUE, ctx -> {
            c.take("pivot");
            if (c.isAwaitingDefinition()) {
                return retryAfterSwitch(ctx, c); // QEMU switched already: only the definition is left to write
            }
            try {
                boolean running = ctx.state() == VmState.RUNNING;
                copies.save(c, c.record().at(CopyRecord.Step.PIVOT_REQUESTED).resumingAfterPivot(running));
                copies.publish(c, "pivoting", c.progress(), "pausing the guest and switching it to " + c.record().dest());
                if (running) {
                    c.monitor().stop();
                }
                Fault.point("blockcopy", "pivot-requested", c.qemuPid());
                return switchOver(ctx, c);
            } catch (MonitorException e) {
                throw qemuDiedDuringPivot(ctx, c, e);
            } finally {
                c.release();
            }
        });
        Fault.point("blockcopy", "after", c.qemuPid());
        return done;
    }

    /**
     * The guest is paused (or was not running): complete the job, confirm with QEMU which image the device runs
     * on, make the definition say so, and only then let the guest run again.
     */
    CopyRecord switchOver(VmJobContext ctx, ActiveCopy c) {
        CopyRecord r = c.record();
        boolean resume = Boolean.TRUE.equals(r.resumeAfterPivot());
        Optional<JobInfo> job = c.job().query();
        if (job.isPresent() && job.get().status() == JobStatus.READY) {
            c.job().complete();
        }
        c.job().awaitConcluded(QEMU_STEP, null, "copy job " + r.jobId());
        Optional<String> error = c.job().dismiss();
        String top = BlockGraph.query(c.monitor()).require(r.disk()).file();
        if (!top.equals(r.dest())) {
            if (resume) {
                c.monitor().cont();
            }
            BlockGraph.delete(c.monitor(), r.targetNode(), r.targetFileNode());
            copies.end(c, CopyRecord.Step.FAILED, top, "the pivot failed" + error.map(x -> ": " + x).orElse("")
                    + "; the guest stays on " + top, null);
            throw new JvirtException(ErrorCode.QEMU_FAILED, c.end().error(), Map.of("vm", r.vm(), "disk", r.disk()));
        }
        try {
            copies.save(c, r.at(CopyRecord.Step.PIVOT_DONE));
            Fault.point("blockcopy", "pivot-done", c.qemuPid());
            // durable before the guest runs; only the disk's image changes, nothing else is validated again
            ctx.switchDisks(Map.of(r.disk(), new DiskImage(r.dest(), r.destFormat())));
        } catch (RuntimeException e) {
            throw holdAfterSwitch(ctx, c, e);
        }
        c.definitionWritten();
        ctx.releaseHold();
        Long pause = null;
        if (resume) {
            c.monitor().cont();
            pause = c.awaitPauseMillis();
        }
        BlockGraph.release(c.monitor(), r.sourceNode(), null);
        copies.end(c, CopyRecord.Step.PIVOTED, r.dest(), null, pause);
        return c.end();
    }

    /**
     * QEMU runs the disk on the destination, the definition still names the source. The guest has been paused
     * since before the switch and stays paused (resume and start refused) until the definition is written: a
     * retry of the pivot, a resume or start of the VM, or a restarted daemon's recovery (the record says
     * pivot-done or pivot-requested, both finished from QEMU's word) tries again. Never "stays on the source".
     */
    private JvirtException holdAfterSwitch(VmJobContext ctx, ActiveCopy c, RuntimeException cause) {
        CopyRecord r = c.record();
        String reason = "QEMU switched disk " + r.disk() + " of VM '" + r.vm() + "' to " + r.dest()
                + ", but the VM's definition could not be written (" + cause.getMessage() + "); the guest is paused"
                + " until it can be: `jvirt blockjob " + r.vm() + " " + r.disk() + " --pivot` or `jvirt resume "
                + r.vm() + "` retries, as does a restart of jvirtd";
        c.awaitDefinition(reason);
        ctx.holdGuest(reason, retry -> retryAfterSwitch(retry, c));
        copies.publish(c, "pivot-pending", c.progress(), reason);
        return new JvirtException(ErrorCode.DEFINITION_NOT_WRITTEN, reason,
                Map.of("vm", r.vm(), "disk", r.disk(), "active", r.dest(), "held", true), cause);
    }

    /** Finishes a pivot whose switch is done but not yet in the definition (see {@link #holdAfterSwitch}). */
    private CopyRecord retryAfterSwitch(VmJobContext ctx, ActiveCopy c) {
        if (c.isEnded()) {
            return c.end();
        }
        if (!c.monitor().isOpen()) {
            // the guest was paused from before the switch until QEMU ended: the source holds every write it made
            c.definitionWritten();
            ctx.releaseHold();
            copies.end(c, CopyRecord.Step.FAILED, c.record().source(), "QEMU ended after switching to " + c.record().dest()
                    + " with the guest paused since before the switch; the VM keeps " + c.record().source()
                    + ", which holds every write", null);
            return c.end();
        }
        return switchOver(ctx, c);
    }

    /**
     * QEMU died (or its monitor failed) with the guest paused for a pivot: no write was acknowledged since the
     * pause, so whatever the definition names (the source unless the switch was already recorded) is complete.
     */
    private JvirtException qemuDiedDuringPivot(VmJobContext ctx, ActiveCopy c, MonitorException e) {
        String defined = ctx.definition().requireDisk(c.record().disk()).path();
        copies.end(c, defined.equals(c.record().dest()) ? CopyRecord.Step.PIVOTED : CopyRecord.Step.FAILED, defined,
                "QEMU failed during the pivot (" + e.getMessage() + "); the VM's definition names " + defined, null);
        return new JvirtException(ErrorCode.QEMU_FAILED, c.end().error(), Map.of("vm", c.record().vm()), e);
    }

    /**
     * Ends the copy with the guest on its source: on a ready copy the destination stays a consistent copy of the
     * disk as of now ("finish"); before ready it is incomplete ("abort").
     */
    CopyRecord abort(String vm, String disk) {
        ActiveCopy c = copies.require(vm, disk);
        return vms.runJob(vm, CopyJob.ABORT, SLOT_QUEUE, ctx -> {
            c.take("abort");
            try {
                return finishOrAbort(c);
            } finally {
                c.release();
            }
        });
    }

    private CopyRecord finishOrAbort(ActiveCopy c) {
        CopyRecord r = c.record();
        boolean wasReady = c.readyNow();
        copies.save(c, r.at(CopyRecord.Step.ABORTING));
        try {
            cancelJob(c);
        } catch (MonitorException e) {
            copies.end(c, CopyRecord.Step.FAILED, r.source(), "QEMU failed while the copy was ended ("
                    + e.getMessage() + "); the guest stays on " + r.source(), null);
            throw new JvirtException(ErrorCode.QEMU_FAILED, c.end().error(), Map.of("vm", r.vm()), e);
        }
        copies.end(c, wasReady ? CopyRecord.Step.FINISHED : CopyRecord.Step.ABORTED, r.source(), wasReady
                ? "finished: " + r.dest() + " is a point-in-time copy; the guest stays on " + r.source()
                : "aborted before the copy was complete: " + r.dest() + " is incomplete", null);
        return c.end();
    }

    /** Cancels QEMU's job (unless it concluded), waits for its conclusion, reads its error, closes the target. */
    static void cancelJob(ActiveCopy c) {
        Optional<JobInfo> job = c.job().query();
        if (job.isPresent() && job.get().status() != JobStatus.CONCLUDED) {
            c.job().cancelBlockJob();
        }
        c.job().awaitConcluded(QEMU_STEP, null, "copy job " + c.record().jobId());
        c.job().dismiss();
        BlockGraph.delete(c.monitor(), c.record().targetNode(), c.record().targetFileNode());
    }

    /** Changes the copy rate limit of a running copy (0: unlimited). */
    CopyRecord bandwidth(String vm, String disk, long mibPerSecond) {
        if (mibPerSecond < 0) {
            throw new JvirtException(ErrorCode.INVALID_ARGUMENT, "bandwidth must not be negative");
        }
        ActiveCopy c = copies.require(vm, disk);
        c.monitor().block().blockJobSetSpeed(c.record().jobId(), mibPerSecond * MIB);
        return c.record();
    }
}
