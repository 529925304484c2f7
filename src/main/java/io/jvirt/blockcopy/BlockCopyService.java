package io.jvirt.blockcopy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.jvirt.qemu.QemuInstance;
import io.jvirt.qmp.QmpClient;
import io.jvirt.qmp.QmpException;
import io.jvirt.storage.QemuImg;
import io.jvirt.store.DocumentStore;
import io.jvirt.vm.DiskImage;
import io.jvirt.error.ErrorCode;
import io.jvirt.error.JvirtException;
import io.jvirt.vm.VmDefinition;
import io.jvirt.vm.VmJobContext;
import io.jvirt.vm.VmManager;
import io.jvirt.vm.VmState;
import io.jvirt.vm.VmView;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Live block copy: QEMU's blockdev-mirror of a running VM's disk to a new image, driven by the job's events,
 * ended by a pivot (the guest switches to the copy) or a finish/abort (the guest stays on the source).
 *
 * <p>The rule that keeps guest data safe (docs/blockcopy.md has the step x failure table): the guest is paused
 * before QEMU is asked to switch, and resumed only after the VM's definition durably names the image QEMU switched
 * to. Until the switch every acknowledged write is in the source; from the switch until the resume the guest
 * writes nothing; after the resume the definition already names the destination. So whichever process dies at
 * whichever moment, the image the definition names holds every write the guest saw acknowledged.
 *
 * <p>A copy holds the VM's job slot only while it starts, pivots or aborts; in between (minutes or hours) other
 * calls on the VM go on, and jobs of other capabilities that would change the disk graph are refused.
 */
public final class BlockCopyService {
    private static final Logger log = LoggerFactory.getLogger(BlockCopyService.class);
    private static final String KIND = "blockcopy-";
    private static final Duration SLOT_QUEUE = Duration.ofSeconds(30);
    private static final Duration QEMU_STEP = Duration.ofSeconds(120);
    private static final Duration SAMPLE_EVERY = Duration.ofMillis(500);
    private static final long MIB = 1024L * 1024;

    private final VmManager vms;
    private final DocumentStore store;
    private final QemuImg qemuImg;
    private final DestinationCheck destinations;
    private final Map<String, ActiveCopy> active = new ConcurrentHashMap<>();
    private final List<Consumer<CopyEvent>> listeners = new CopyOnWriteArrayList<>();

    public BlockCopyService(VmManager vms, DocumentStore store, QemuImg qemuImg) {
        this.vms = vms;
        this.store = store;
        this.qemuImg = qemuImg;
        this.destinations = new DestinationCheck(vms::definitions, qemuImg);
        vms.addAdmission(this::admit);
    }

    public void addListener(Consumer<CopyEvent> listener) {
        listeners.add(listener);
    }

    /** Other capabilities' jobs would change the graph under the mirror (e.g. a snapshot): not while it runs. */
    private void admit(String vm, String jobName) {
        if (jobName.startsWith("blockcopy") || jobName.endsWith("-query")) {
            return;
        }
        for (ActiveCopy c : active.values()) {
            if (c.record.vm().equals(vm)) {
                throw new JvirtException(ErrorCode.VM_BUSY, "VM '" + vm + "' is copying disk " + c.record.disk() + " to "
                        + c.record.dest() + " (since " + c.record.since() + "); pivot or abort the copy first",
                        Map.of("vm", vm, "job", "blockcopy", "disk", c.record.disk(), "since", c.record.since().toString()));
            }
        }
    }

    // ---- start -----------------------------------------------------------------------------------------------

    /**
     * Checks everything, creates the destination and starts QEMU's mirror, holding the VM's slot for that long
     * only. Bad input throws here, before anything changed.
     */
    public ActiveCopy start(String vm, String disk, CopyRequest req) {
        ActiveCopy c = vms.runJob(vm, "blockcopy-start", Duration.ZERO, ctx -> begin(ctx, disk, req));
        Thread.ofVirtual().name("blockcopy-" + vm + "-" + disk).start(() -> watch(c));
        return c;
    }

    private ActiveCopy begin(VmJobContext ctx, String disk, CopyRequest req) {
        String vm = ctx.vmName();
        VmDefinition.Disk d = disk(ctx.definition(), disk);
        if (req == null || req.dest() == null || req.dest().isBlank()) {
            throw bad("a destination path is needed");
        }
        if (req.wantsPivot() && req.wantsFinish()) {
            throw bad("--pivot and --finish exclude each other");
        }
        ActiveCopy running = active.get(vm + "/" + disk);
        if (running != null) {
            throw new JvirtException(ErrorCode.VM_BUSY, "disk " + disk + " of VM '" + vm + "' is already being copied to "
                    + running.record.dest() + " (since " + running.record.since() + ")",
                    Map.of("vm", vm, "disk", disk, "job", "blockcopy"));
        }
        QemuInstance q = ctx.qemu().orElseThrow(() -> new JvirtException(ErrorCode.INVALID_STATE,
                "cannot copy disk " + disk + " of VM '" + vm + "': it is " + ctx.state().wire() + " (it must be running)",
                Map.of("vm", vm, "state", ctx.state().wire())));
        QmpClient qmp = q.qmp();
        JsonNode inserted = BlockNodes.inserted(qmp, disk);
        JsonNode image = inserted.path("image");
        String sourceNode = inserted.path("node-name").asText();
        String source = inserted.path("file").asText();
        String sourceFormat = image.path("format").asText(d.format());
        long sourceSize = image.path("virtual-size").asLong();
        Path dest = destinations.path(req.dest(), source, image);
        String format = req.format() == null ? sourceFormat : req.format();
        if (!format.equals("qcow2") && !format.equals("raw")) {
            throw bad("format must be qcow2 or raw, not '" + format + "'");
        }
        DestinationCheck.Backing backing = req.isShallow() ? DestinationCheck.Backing.of(image) : null;
        if (backing != null && !format.equals("qcow2")) {
            throw bad("a shallow copy keeps the source's backing file, which needs a qcow2 destination");
        }
        DestinationCheck.tuning(req);
        boolean exists = Files.exists(dest, LinkOption.NOFOLLOW_LINKS);
        if (exists && !req.isReuse()) {
            throw new JvirtException(ErrorCode.DESTINATION_EXISTS, "destination " + dest
                    + " exists; give --reuse-external to copy into it", Map.of("dest", dest.toString()));
        }
        if (!exists && req.isReuse()) {
            throw bad("--reuse-external: destination " + dest + " does not exist");
        }
        if (exists) {
            destinations.reused(dest, format, sourceSize, backing);
        }

        String jobId = "copy-" + HexFormat.of().toHexDigits(ThreadLocalRandom.current().nextInt());
        CopyRecord r = new CopyRecord(vm, disk, jobId, source, sourceFormat, sourceNode, dest.toString(), format,
                backing != null, !exists, CopyRecord.Step.PREPARED.wire(), null, Instant.now(), Instant.now(), null,
                null, null);
        save(r); // intent first: a restart then knows the nodes and the file to clean up
        try {
            if (!exists) {
                // the source's size even for a shallow copy: the top may be larger than its backing
                qemuImg.create(dest, format, sourceSize, backing == null ? null : Path.of(backing.file()),
                        backing == null ? null : backing.format());
            }
            ObjectNode target = QmpClient.args("driver", format, "node-name", r.targetNode());
            target.putObject("file").put("driver", "file").put("filename", dest.toString())
                    .put("node-name", r.targetFileNode());
            qmp.execute("blockdev-add", target);
        } catch (RuntimeException e) {
            undoStart(qmp, r);
            throw e instanceof JvirtException j ? j : new JvirtException(ErrorCode.QEMU_FAILED,
                    "cannot prepare the destination " + dest + ": " + e.getMessage(), Map.of("dest", dest.toString()), e);
        }

        ActiveCopy c = new ActiveCopy(r, qmp, q.pid());
        c.listen();
        ObjectNode mirror = QmpClient.args("job-id", jobId, "device", sourceNode, "target", r.targetNode(),
                "sync", backing != null ? "top" : "full", "auto-dismiss", false);
        if (req.bandwidthMiB() != null && req.bandwidthMiB() > 0) {
            mirror.put("speed", req.bandwidthMiB() * MIB);
        }
        if (req.granularity() != null) {
            mirror.put("granularity", req.granularity());
        }
        if (req.bufSize() != null) {
            mirror.put("buf-size", req.bufSize());
        }
        if (Boolean.TRUE.equals(req.synchronousWrites())) {
            mirror.put("copy-mode", "write-blocking");
        }
        try {
            qmp.execute("blockdev-mirror", mirror);
        } catch (RuntimeException e) {
            c.unlisten();
            undoStart(qmp, r);
            throw new JvirtException(ErrorCode.QEMU_FAILED, "QEMU refused the copy of disk " + disk + ": " + e.getMessage(),
                    Map.of("vm", vm, "disk", disk), e);
        }
        active.put(c.key(), c);
        save(c, r.at(CopyRecord.Step.COPYING));
        publish(c, "copying", null, "copying " + source + " to " + dest + (backing != null ? " (top layer only)" : ""));
        Fault.point("copying", c.qemuPid);
        return c;
    }

    /** The start failed before QEMU's job existed: remove the target nodes and the file we made, end the record. */
    private void undoStart(QmpClient qmp, CopyRecord r) {
        BlockNodes.delete(qmp, r.targetNode(), r.targetFileNode());
        if (r.createdDest()) {
            try {
                Files.deleteIfExists(Path.of(r.dest()));
            } catch (IOException e) {
                log.warn("cannot remove {}: {}", r.dest(), e.toString());
            }
        }
        store.remove(r.vm(), KIND + r.disk());
    }

    // ---- the copy's own thread: follows QEMU's events until the copy ends -----------------------------------

    private void watch(ActiveCopy c) {
        try {
            while (!c.ended.isDone()) {
                try {
                    CompletableFuture.anyOf(c.concluded, c.qmp.closed(), c.ended,
                                    c.readyRecorded.isDone() ? new CompletableFuture<>() : c.readyEvent)
                            .get(SAMPLE_EVERY.toMillis(), TimeUnit.MILLISECONDS);
                } catch (TimeoutException e) {
                    // nothing happened: time for a progress report
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                } catch (ExecutionException e) {
                    // ended exceptionally: handled below
                }
                if (c.ended.isDone()) {
                    return;
                }
                boolean controlled;
                synchronized (c) {
                    controlled = c.controlling;
                }
                if (controlled) { // a pivot or abort is in charge and will end the copy
                    try {
                        c.ended.get(SAMPLE_EVERY.toMillis(), TimeUnit.MILLISECONDS);
                    } catch (TimeoutException | ExecutionException e) {
                        // still in charge
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        return;
                    }
                    continue;
                }
                synchronized (c) {
                    if (c.controlling) {
                        continue;
                    }
                    if (!c.qmp.isOpen()) {
                        end(c, CopyRecord.Step.FAILED, c.record.source(),
                                "QEMU exited during the copy; the VM keeps its source image " + c.record.source(), null);
                        return;
                    }
                    if (c.concluded.isDone()) {
                        String error = jobError(c);
                        end(c, CopyRecord.Step.FAILED, c.record.source(), "the copy failed"
                                + (error != null ? ": " + error : c.lastError != null ? ": " + c.lastError : "")
                                + "; the guest stays on " + c.record.source(), null);
                        return;
                    }
                }
                if (c.readyEvent.isDone() && !c.readyRecorded.isDone()) {
                    synchronized (c) {
                        if (!c.controlling) {
                            save(c, c.record.at(CopyRecord.Step.READY));
                        }
                    }
                    sample(c);
                    publish(c, "ready", c.progress, "source and destination are in sync; pivot or finish when you like");
                    Fault.point("ready", c.qemuPid);
                    c.readyRecorded.complete(null);
                    continue;
                }
                CopyProgress p = sample(c);
                if (p != null) {
                    publish(c, c.readyNow ? "ready" : c.lastError != null ? "error" : "copying", p, c.lastError);
                }
            }
        } catch (RuntimeException e) {
            log.warn("block copy {} of VM {}: watcher ended: {}", c.record.disk(), c.record.vm(), e.toString());
        }
    }

    private static CopyProgress sample(ActiveCopy c) {
        try {
            return c.sample();
        } catch (QmpException e) {
            return null;
        }
    }

    // ---- waiting, pivot, finish, abort ------------------------------------------------------------------------

    /** Waits for the copy to end by itself (or by a pivot/abort someone else asks for). */
    public CopyRecord awaitEnd(ActiveCopy c) {
        CopyRecord r = c.ended.join();
        if (r.stepEnum() == CopyRecord.Step.FAILED) {
            throw new JvirtException(ErrorCode.QEMU_FAILED, r.error(), Map.of("vm", r.vm(), "disk", r.disk()));
        }
        return r;
    }

    /**
     * The operation a copy request runs: with pivot or finish, waits for ready (giving up and aborting at the
     * timeout) and ends the copy that way; otherwise waits for whoever ends it.
     */
    public CopyRecord run(ActiveCopy c, CopyRequest req) {
        if (!req.wantsPivot() && !req.wantsFinish()) {
            return awaitEnd(c);
        }
        Duration timeout = req.timeoutSeconds() == null ? Duration.ofDays(365) : Duration.ofSeconds(req.timeoutSeconds());
        try {
            awaitReady(c, timeout);
        } catch (JvirtException e) {
            if (e.code() == ErrorCode.TIMEOUT && !c.ended.isDone()) {
                abort(c.record.vm(), c.record.disk());
                throw new JvirtException(ErrorCode.TIMEOUT, e.getMessage() + "; the copy was aborted", e.details());
            }
            throw e;
        }
        return req.wantsPivot() ? pivot(c.record.vm(), c.record.disk(), Duration.ZERO)
                : abort(c.record.vm(), c.record.disk());
    }

    private static void awaitReady(ActiveCopy c, Duration timeout) {
        try {
            CompletableFuture.anyOf(c.readyRecorded, c.ended).get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            CopyProgress p = c.progress;
            throw new JvirtException(ErrorCode.TIMEOUT, "the copy of disk " + c.record.disk() + " is not ready after "
                    + timeout.toSeconds() + " s: " + (p == null ? "no progress reported yet" : p.describe()),
                    Map.of("vm", c.record.vm(), "disk", c.record.disk()));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new JvirtException(ErrorCode.CANCELLED, "interrupted");
        } catch (ExecutionException e) {
            throw new JvirtException(ErrorCode.INTERNAL, e.getCause().toString());
        }
        if (c.ended.isDone()) {
            CopyRecord r = c.ended.join();
            if (r.stepEnum() == CopyRecord.Step.FAILED) {
                throw new JvirtException(ErrorCode.QEMU_FAILED, r.error(), Map.of("vm", r.vm(), "disk", r.disk()));
            }
            throw new JvirtException(ErrorCode.INVALID_STATE, "the copy of disk " + r.disk() + " already ended ("
                    + r.step() + "): " + CopyView.describeEnd(r), Map.of("vm", r.vm(), "disk", r.disk(), "active", String.valueOf(r.active())));
        }
        if (!c.readyNow) {
            throw new JvirtException(ErrorCode.INVALID_STATE, "the copy of disk " + c.record.disk() + " left the ready state"
                    + (c.lastError != null ? ": " + c.lastError : ""), Map.of("vm", c.record.vm(), "disk", c.record.disk()));
        }
    }

    /** Switches the guest to the destination once the copy is ready (waiting up to {@code timeout} for that). */
    public CopyRecord pivot(String vm, String disk, Duration timeout) {
        ActiveCopy c = require(vm, disk);
        if (!isAwaitingDefinition(c)) {
            awaitReady(c, timeout);
        }
        CopyRecord done = vms.runJob(vm, "blockcopy-pivot", SLOT_QUEUE, ctx -> {
            take(c, "pivot");
            if (isAwaitingDefinition(c)) {
                return retryAfterSwitch(ctx, c); // QEMU switched already: only the definition is left to write
            }
            try {
                boolean running = ctx.state() == VmState.RUNNING;
                save(c, c.record.at(CopyRecord.Step.PIVOT_REQUESTED).resumingAfterPivot(running));
                publish(c, "pivoting", c.progress, "pausing the guest and switching it to " + c.record.dest());
                if (running) {
                    c.qmp.execute("stop");
                }
                Fault.point("pivot-requested", c.qemuPid);
                return switchOver(ctx, c);
            } catch (QmpException e) {
                throw qemuDiedDuringPivot(ctx, c, e);
            } finally {
                release(c);
            }
        });
        Fault.point("after", c.qemuPid);
        return done;
    }

    /**
     * The guest is paused (or was not running): complete the job, confirm with QEMU which image the device runs
     * on, make the definition say so, and only then let the guest run again.
     */
    private CopyRecord switchOver(VmJobContext ctx, ActiveCopy c) {
        CopyRecord r = c.record;
        boolean resume = Boolean.TRUE.equals(r.resumeAfterPivot());
        JsonNode job = c.job();
        if (job != null && "ready".equals(job.path("status").asText())) {
            c.qmp.execute("job-complete", QmpClient.args("id", r.jobId()));
        }
        awaitConcluded(c);
        String error = jobError(c);
        String top = BlockNodes.inserted(c.qmp, r.disk()).path("file").asText();
        if (!top.equals(r.dest())) {
            if (resume) {
                c.qmp.execute("cont");
            }
            BlockNodes.delete(c.qmp, r.targetNode(), r.targetFileNode());
            end(c, CopyRecord.Step.FAILED, top, "the pivot failed" + (error != null ? ": " + error : "")
                    + "; the guest stays on " + top, null);
            throw new JvirtException(ErrorCode.QEMU_FAILED, c.ended.join().error(), Map.of("vm", r.vm(), "disk", r.disk()));
        }
        try {
            save(c, r.at(CopyRecord.Step.PIVOT_DONE));
            Fault.point("pivot-done", c.qemuPid);
            // durable before the guest runs; only the disk's image changes, nothing else is validated again
            ctx.switchDisks(Map.of(r.disk(), new DiskImage(r.dest(), r.destFormat())));
        } catch (RuntimeException e) {
            throw holdAfterSwitch(ctx, c, e);
        }
        synchronized (c) {
            c.awaitingDefinition = false;
        }
        ctx.releaseHold();
        Long pause = null;
        if (resume) {
            c.qmp.execute("cont");
            try {
                Instant resumedAt = c.resumed.get(5, TimeUnit.SECONDS);
                pause = c.stoppedAt == null ? null : Duration.between(c.stoppedAt, resumedAt).toMillis();
            } catch (TimeoutException | ExecutionException e) {
                log.debug("no RESUME event after the pivot: {}", e.toString());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        BlockNodes.releaseTop(c.qmp, r.sourceNode());
        end(c, CopyRecord.Step.PIVOTED, r.dest(), null, pause);
        return c.ended.join();
    }

    /**
     * QEMU runs the disk on the destination, the definition still names the source. The guest has been paused
     * since before the switch and stays paused (resume and start refused) until the definition is written: a
     * retry of the pivot, a resume or start of the VM, or a restarted daemon's recovery (the record says
     * pivot-done or pivot-requested, both finished from QEMU's word) tries again. Never "stays on the source".
     */
    private JvirtException holdAfterSwitch(VmJobContext ctx, ActiveCopy c, RuntimeException cause) {
        CopyRecord r = c.record;
        String reason = "QEMU switched disk " + r.disk() + " of VM '" + r.vm() + "' to " + r.dest()
                + ", but the VM's definition could not be written (" + cause.getMessage() + "); the guest is paused"
                + " until it can be: `jvirt blockjob " + r.vm() + " " + r.disk() + " --pivot` or `jvirt resume "
                + r.vm() + "` retries, as does a restart of jvirtd";
        synchronized (c) {
            c.awaitingDefinition = true;
            c.controlling = true;
            c.lastError = reason;
        }
        ctx.holdGuest(reason, retry -> retryAfterSwitch(retry, c));
        publish(c, "pivot-pending", c.progress, reason);
        return new JvirtException(ErrorCode.DEFINITION_NOT_WRITTEN, reason,
                Map.of("vm", r.vm(), "disk", r.disk(), "active", r.dest(), "held", true), cause);
    }

    /** Finishes a pivot whose switch is done but not yet in the definition (see {@link #holdAfterSwitch}). */
    private CopyRecord retryAfterSwitch(VmJobContext ctx, ActiveCopy c) {
        if (c.ended.isDone()) {
            return c.ended.join();
        }
        if (!c.qmp.isOpen()) {
            // the guest was paused from before the switch until QEMU ended: the source holds every write it made
            synchronized (c) {
                c.awaitingDefinition = false;
            }
            ctx.releaseHold();
            end(c, CopyRecord.Step.FAILED, c.record.source(), "QEMU ended after switching to " + c.record.dest()
                    + " with the guest paused since before the switch; the VM keeps " + c.record.source()
                    + ", which holds every write", null);
            return c.ended.join();
        }
        return switchOver(ctx, c);
    }

    private static boolean isAwaitingDefinition(ActiveCopy c) {
        synchronized (c) {
            return c.awaitingDefinition;
        }
    }

    /**
     * QEMU died (or its monitor failed) with the guest paused for a pivot: no write was acknowledged since the
     * pause, so whatever the definition names (the source unless the switch was already recorded) is complete.
     */
    private JvirtException qemuDiedDuringPivot(VmJobContext ctx, ActiveCopy c, QmpException e) {
        String defined = disk(ctx.definition(), c.record.disk()).path();
        end(c, defined.equals(c.record.dest()) ? CopyRecord.Step.PIVOTED : CopyRecord.Step.FAILED, defined,
                "QEMU failed during the pivot (" + e.getMessage() + "); the VM's definition names " + defined, null);
        return new JvirtException(ErrorCode.QEMU_FAILED, c.ended.join().error(), Map.of("vm", c.record.vm()), e);
    }

    /**
     * Ends the copy with the guest on its source: on a ready copy the destination stays a consistent copy of the
     * disk as of now ("finish"); before ready it is incomplete ("abort").
     */
    public CopyRecord abort(String vm, String disk) {
        ActiveCopy c = require(vm, disk);
        return vms.runJob(vm, "blockcopy-abort", SLOT_QUEUE, ctx -> {
            take(c, "abort");
            try {
                return finishOrAbort(c);
            } finally {
                release(c);
            }
        });
    }

    private CopyRecord finishOrAbort(ActiveCopy c) {
        String vm = c.record.vm();
        {
            boolean wasReady = c.readyNow;
            save(c, c.record.at(CopyRecord.Step.ABORTING));
            try {
                cancelJob(c);
            } catch (QmpException e) {
                end(c, CopyRecord.Step.FAILED, c.record.source(), "QEMU failed while the copy was ended ("
                        + e.getMessage() + "); the guest stays on " + c.record.source(), null);
                throw new JvirtException(ErrorCode.QEMU_FAILED, c.ended.join().error(), Map.of("vm", vm), e);
            }
            end(c, wasReady ? CopyRecord.Step.FINISHED : CopyRecord.Step.ABORTED, c.record.source(), wasReady
                    ? "finished: " + c.record.dest() + " is a point-in-time copy; the guest stays on " + c.record.source()
                    : "aborted before the copy was complete: " + c.record.dest() + " is incomplete", null);
            return c.ended.join();
        }
    }

    /** A pivot or abort that failed without ending the copy hands it back to the copy's own thread. */
    private static void release(ActiveCopy c) {
        synchronized (c) {
            if (!c.ended.isDone() && !c.awaitingDefinition) {
                c.controlling = false;
            }
        }
    }

    private void cancelJob(ActiveCopy c) {
        JsonNode job = c.job();
        if (job != null && !"concluded".equals(job.path("status").asText())) {
            c.qmp.execute("block-job-cancel", QmpClient.args("device", c.record.jobId(), "force", false));
        }
        awaitConcluded(c);
        jobError(c);
        BlockNodes.delete(c.qmp, c.record.targetNode(), c.record.targetFileNode());
    }

    /** Changes the copy rate limit of a running copy (0: unlimited). */
    public CopyRecord bandwidth(String vm, String disk, long mibPerSecond) {
        if (mibPerSecond < 0) {
            throw bad("bandwidth must not be negative");
        }
        ActiveCopy c = require(vm, disk);
        c.qmp.execute("block-job-set-speed", QmpClient.args("device", c.record.jobId(), "speed", mibPerSecond * MIB));
        return c.record;
    }

    private static void take(ActiveCopy c, String what) {
        synchronized (c) {
            if (c.ended.isDone()) {
                CopyRecord r = c.ended.join();
                throw new JvirtException(ErrorCode.INVALID_STATE, "cannot " + what + ": the copy of disk " + r.disk()
                        + " already ended (" + r.step() + "): " + CopyView.describeEnd(r), Map.of("vm", r.vm(), "disk", r.disk()));
            }
            if (c.awaitingDefinition) {
                if (what.equals("pivot")) {
                    return;
                }
                throw new JvirtException(ErrorCode.GUEST_HELD, "cannot " + what + ": QEMU already runs disk "
                        + c.record.disk() + " on " + c.record.dest() + "; only finishing the pivot (blockjob --pivot) ends this copy",
                        Map.of("vm", c.record.vm(), "disk", c.record.disk(), "active", c.record.dest()));
            }
            if (c.controlling) {
                throw new JvirtException(ErrorCode.VM_BUSY, "cannot " + what + ": the copy of disk " + c.record.disk()
                        + " is already being pivoted or ended", Map.of("vm", c.record.vm(), "disk", c.record.disk()));
            }
            c.controlling = true;
        }
    }

    private static void awaitConcluded(ActiveCopy c) {
        try {
            CompletableFuture.anyOf(c.concluded, c.qmp.closed()).get(QEMU_STEP.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            throw new JvirtException(ErrorCode.TIMEOUT, "QEMU did not end copy job " + c.record.jobId() + " within "
                    + QEMU_STEP.toSeconds() + " s");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new JvirtException(ErrorCode.CANCELLED, "interrupted");
        } catch (ExecutionException e) {
            throw new JvirtException(ErrorCode.INTERNAL, e.getCause().toString());
        }
        if (!c.concluded.isDone()) {
            throw new io.jvirt.qmp.QmpConnectionClosedException("QEMU exited");
        }
    }

    /** The concluded job's error (read after its event), and the job dismissed. */
    private static String jobError(ActiveCopy c) {
        JsonNode j = c.job();
        if (j == null) {
            return null;
        }
        String error = j.hasNonNull("error") ? j.path("error").asText() : null;
        if ("concluded".equals(j.path("status").asText())) {
            c.qmp.execute("job-dismiss", QmpClient.args("id", c.record.jobId()));
        }
        return error;
    }

    // ---- queries -----------------------------------------------------------------------------------------------

    /** The copy under way on a disk, or the record of the last one. */
    public Map<String, Object> info(String vm, String disk) {
        VmView v = vms.get(vm);
        disk(v.definition(), disk);
        ActiveCopy c = active.get(vm + "/" + disk);
        if (c != null) {
            return CopyView.of(c.record, c.progress, c.readyNow, c.lastError);
        }
        Optional<CopyRecord> last = store.get(vm, KIND + disk, CopyRecord.class);
        if (last.isEmpty()) {
            throw noJob(vm, disk, null);
        }
        return CopyView.of(last.get());
    }

    /** Every disk of the VM with a copy under way or a last copy on record. */
    public List<Map<String, Object>> list(String vm) {
        VmView v = vms.get(vm);
        List<Map<String, Object>> out = new ArrayList<>();
        for (VmDefinition.Disk d : v.definition().disks()) {
            ActiveCopy c = active.get(vm + "/" + d.name());
            if (c != null) {
                out.add(CopyView.of(c.record, c.progress, c.readyNow, c.lastError));
            } else {
                store.get(vm, KIND + d.name(), CopyRecord.class).ifPresent(r -> out.add(CopyView.of(r)));
            }
        }
        return out;
    }

    private ActiveCopy require(String vm, String disk) {
        VmView v = vms.get(vm);
        disk(v.definition(), disk);
        ActiveCopy c = active.get(vm + "/" + disk);
        if (c == null) {
            throw noJob(vm, disk, store.get(vm, KIND + disk, CopyRecord.class).orElse(null));
        }
        return c;
    }

    private static JvirtException noJob(String vm, String disk, CopyRecord last) {
        String msg = "no block job on disk " + disk + " of VM '" + vm + "'";
        Map<String, Object> details = new LinkedHashMap<>(Map.of("vm", vm, "disk", disk));
        if (last != null && last.ended()) {
            msg += "; the last copy " + CopyView.describeEnd(last);
            details.put("activeImage", String.valueOf(last.active()));
        }
        return new JvirtException(ErrorCode.NO_BLOCK_JOB, msg, details);
    }

    // ---- recovery after a daemon restart ------------------------------------------------------------------------

    /**
     * Finishes what a previous daemon left: call after {@link VmManager#loadAndRecover()} (QEMUs adopted, states
     * re-read). Each record still under way is reconciled with what QEMU says now (query-jobs, query-block).
     */
    public void recoverAll() {
        for (VmView v : vms.list()) {
            VmDefinition def = vms.get(v.name()).definition();
            for (VmDefinition.Disk d : def.disks()) {
                store.get(v.name(), KIND + d.name(), CopyRecord.class).filter(r -> !r.ended()).ifPresent(r -> {
                    try {
                        vms.runJob(v.name(), "blockcopy-recover", SLOT_QUEUE, ctx -> {
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
        CopyRecord.Step step = r.stepEnum();
        String defined = disk(ctx.definition(), r.disk()).path();
        log.info("VM {}: block copy of {} to {} was interrupted at step {}", r.vm(), r.disk(), r.dest(), step.wire());
        Optional<QemuInstance> q = ctx.qemu();
        if (q.isEmpty()) {
            // QEMU is gone: the definition names the right image (see the class comment); record how it ended.
            if (step == CopyRecord.Step.PREPARED && r.createdDest()) {
                deleteQuietly(Path.of(r.dest()));
            }
            CopyRecord.Step end = defined.equals(r.dest()) ? CopyRecord.Step.PIVOTED : CopyRecord.Step.FAILED;
            store.put(r.vm(), KIND + r.disk(), r.ended(end, defined, end == CopyRecord.Step.PIVOTED ? null
                    : "QEMU was gone when jvirtd restarted (copy interrupted at step " + step.wire() + "); the VM keeps "
                    + defined, null));
            return;
        }
        ActiveCopy c = new ActiveCopy(r, q.get().qmp(), q.get().pid());
        c.listen(); // before asking QEMU, so no event between the query and the wait is missed
        JsonNode job = c.job();
        String status = job == null ? null : job.path("status").asText();
        String top = BlockNodes.inserted(c.qmp, r.disk()).path("file").asText();
        switch (step) {
            case PREPARED, COPYING, READY -> {
                if (job == null) {
                    c.unlisten();
                    undoStart(c.qmp, r);
                    log.info("VM {}: the copy of {} had not started; cleaned up", r.vm(), r.disk());
                } else {
                    adopt(c, status);
                }
            }
            case PIVOT_REQUESTED, PIVOT_DONE -> {
                active.put(c.key(), c);
                synchronized (c) {
                    c.controlling = true;
                }
                if (job == null || "concluded".equals(status)) {
                    c.concluded.complete(null);
                }
                if (top.equals(r.dest()) || "ready".equals(status) || "pending".equals(status) || "concluded".equals(status)
                        || "waiting".equals(status)) {
                    if (Boolean.TRUE.equals(r.resumeAfterPivot())) {
                        c.qmp.execute("stop"); // we may have died before pausing the guest; stop is idempotent
                    }
                    switchOver(ctx, c); // finish the pivot the user asked for
                } else {
                    if (Boolean.TRUE.equals(r.resumeAfterPivot())) {
                        c.qmp.execute("cont");
                    }
                    synchronized (c) {
                        c.controlling = false;
                    }
                    adopt(c, status); // the job left ready: it goes on copying, the guest on the source
                }
            }
            case ABORTING -> {
                active.put(c.key(), c);
                synchronized (c) {
                    c.controlling = true;
                }
                boolean wasReady = "ready".equals(status);
                cancelJob(c);
                end(c, wasReady ? CopyRecord.Step.FINISHED : CopyRecord.Step.ABORTED, r.source(),
                        "ended after a daemon restart; the guest stays on " + r.source(), null);
            }
            default -> c.unlisten();
        }
    }

    /** Takes a running QEMU job back under watch after a restart (the user can pivot or abort it again). */
    private void adopt(ActiveCopy c, String status) {
        if ("ready".equals(status)) {
            c.readyNow = true;
            c.readyEvent.complete(null);
        }
        if ("concluded".equals(status)) {
            c.concluded.complete(null);
        }
        if (c.record.stepEnum() == CopyRecord.Step.PREPARED) {
            c.record = c.record.at(CopyRecord.Step.COPYING);
            store.put(c.record.vm(), KIND + c.record.disk(), c.record);
        }
        if (c.record.stepEnum() == CopyRecord.Step.READY) {
            c.readyRecorded.complete(null);
        }
        active.put(c.key(), c);
        log.info("VM {}: adopted QEMU copy job {} ({})", c.record.vm(), c.record.jobId(), status);
        Thread.ofVirtual().name("blockcopy-" + c.record.vm() + "-" + c.record.disk()).start(() -> watch(c));
    }

    // ---- helpers -----------------------------------------------------------------------------------------------

    private void save(CopyRecord r) {
        store.put(r.vm(), KIND + r.disk(), r);
    }

    private void save(ActiveCopy c, CopyRecord r) {
        store.put(r.vm(), KIND + r.disk(), r);
        c.record = r;
    }

    /** Records how the copy ended (durably), stops following it and tells whoever waits. Idempotent. */
    private void end(ActiveCopy c, CopyRecord.Step step, String activeImage, String why, Long pause) {
        synchronized (c) {
            if (c.ended.isDone()) {
                return;
            }
            CopyRecord r = c.record.ended(step, activeImage, why, pause);
            try {
                save(c, r);
            } catch (RuntimeException e) {
                // the definition already says where the guest runs; the copy's record is only its history
                log.error("VM {}: cannot record the end of the copy of {}: {}", r.vm(), r.disk(), e.toString());
                c.record = r;
            } finally {
                active.remove(c.key(), c);
                c.unlisten();
                c.ended.complete(r);
            }
        }
        publish(c, step.wire(), c.progress, CopyView.describeEnd(c.record));
    }

    private void publish(ActiveCopy c, String phase, CopyProgress p, String message) {
        CopyEvent e = CopyEvent.of(c.record, phase, p, message);
        for (Consumer<CopyEvent> l : listeners) {
            try {
                l.accept(e);
            } catch (RuntimeException ex) {
                log.debug("block copy listener failed: {}", ex.toString());
            }
        }
    }

    private static VmDefinition.Disk disk(VmDefinition def, String disk) {
        return (def.disks() == null ? List.<VmDefinition.Disk>of() : def.disks()).stream()
                .filter(d -> d.name().equals(disk)).findFirst()
                .orElseThrow(() -> new JvirtException(ErrorCode.DISK_NOT_FOUND, "VM '" + def.name() + "' has no disk '"
                        + disk + "'", Map.of("vm", def.name(), "disk", disk)));
    }

    private static void deleteQuietly(Path p) {
        try {
            Files.deleteIfExists(p);
        } catch (IOException e) {
            log.warn("cannot remove {}: {}", p, e.toString());
        }
    }

    private static JvirtException bad(String message) {
        return new JvirtException(ErrorCode.INVALID_ARGUMENT, message);
    }
}
