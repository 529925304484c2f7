package io.jvirt.blockcopy;

import io.jvirt.error.ErrorCode;
import io.jvirt.error.JvirtException;
import io.jvirt.qemu.monitor.BlockJobInfo;
import io.jvirt.qemu.monitor.GuestPause;
import io.jvirt.qemu.monitor.JobStatus;
import io.jvirt.qemu.monitor.Monitor;
import io.jvirt.qemu.monitor.MonitorEvent;
import io.jvirt.qemu.monitor.MonitorException;
import io.jvirt.qemu.monitor.QemuJob;
import io.jvirt.qemu.monitor.Subscription;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * One block copy while QEMU runs its mirror job: the durable record, what QEMU's events have told so far, and who is
 * in charge of it. It follows the job from construction (before the command that starts or could end it) until it
 * ends. Event handlers only set fields and complete futures (they run on the monitor's event thread and must not
 * block). Who is in charge (the copy's own watcher, or a pivot or abort) changes only through the methods here,
 * under this copy's own lock.
 */
public final class ActiveCopy {
    private final Monitor monitor;
    private final long qemuPid;
    private final QemuJob job;
    private final GuestPause pause;
    private final Subscription errors;
    /** The READY step is durable (a pivot waits for this, so the step order in the store never goes back). */
    private final CompletableFuture<Void> readyRecorded = new CompletableFuture<>();
    /** The copy is over and its final record is durable. */
    private final CompletableFuture<CopyRecord> ended = new CompletableFuture<>();
    private volatile CopyRecord record;
    private volatile boolean readyNow;
    private volatile String lastError;
    private volatile CopyProgress progress;
    private volatile Instant sampledAt;
    /** A pivot or abort is in charge of the job: the copy's own thread must not end it. Guarded by this. */
    private boolean controlling;
    /**
     * QEMU switched the disk to the destination but the definition does not name it yet: the guest is held
     * paused, only finishing the pivot may end this copy. Guarded by this.
     */
    private boolean awaitingDefinition;

    ActiveCopy(CopyRecord record, Monitor monitor, long qemuPid) {
        this.record = record;
        this.monitor = monitor;
        this.qemuPid = qemuPid;
        this.pause = GuestPause.measure(monitor);
        this.job = QemuJob.follow(monitor, record.jobId(), this::onStatus);
        String id = record.jobId();
        this.errors = monitor.on(MonitorEvent.BLOCK_JOB_ERROR, e -> {
            if (id.equals(e.device())) {
                readyNow = false;
                // operation: "read" (source) or "write" (destination); action: what QEMU did about it
                lastError = "I/O error on " + e.operation() + " (" + e.action() + ")";
            }
        });
    }

    private void onStatus(JobStatus s) {
        switch (s) {
            case READY -> readyNow = true;
            case RUNNING, STANDBY, PAUSED, ABORTING, CONCLUDED, NULL -> readyNow = false;
            default -> { }
        }
    }

    // ---- what QEMU said ------------------------------------------------------------------------------------------

    Monitor monitor() {
        return monitor;
    }

    long qemuPid() {
        return qemuPid;
    }

    /** QEMU's mirror job, followed by its events. */
    QemuJob job() {
        return job;
    }

    public String jobId() {
        return record.jobId();
    }

    CopyRecord record() {
        return record;
    }

    void record(CopyRecord r) {
        record = r;
    }

    boolean readyNow() {
        return readyNow;
    }

    String lastError() {
        return lastError;
    }

    CopyProgress progress() {
        return progress;
    }

    /** The guest's pause around the pivot, once it runs again (its RESUME comes after cont's answer). */
    Long awaitPauseMillis() {
        return pause.awaitMillis(Duration.ofSeconds(5));
    }

    String key() {
        return record.vm() + "/" + record.disk();
    }

    /** Samples the job's byte counters (query-block-jobs) for a progress report; null when the job is gone. */
    CopyProgress sample() {
        CopyProgress before = progress;
        for (BlockJobInfo j : monitor.block().queryBlockJobs()) {
            if (record.jobId().equals(j.device())) {
                long rate = 0;
                Instant now = Instant.now();
                if (before != null && sampledAt != null) {
                    long ms = Math.max(1, Duration.between(sampledAt, now).toMillis());
                    rate = Math.max(0, (j.offset() - before.transferred()) * 1000 / ms);
                }
                sampledAt = now;
                progress = CopyProgress.of(j.offset(), j.len(), rate);
                return progress;
            }
        }
        return null;
    }

    /** As {@link #sample}, null also when QEMU does not answer. */
    CopyProgress sampleQuietly() {
        try {
            return sample();
        } catch (MonitorException e) {
            return null;
        }
    }

    /** What the API shows: the record with live progress. */
    Map<String, Object> view() {
        return CopyView.of(record, progress, readyNow, lastError);
    }

    // ---- the copy's life -------------------------------------------------------------------------------------------

    boolean isEnded() {
        return ended.isDone();
    }

    /** How it ended; only once {@link #isEnded()}. */
    CopyRecord end() {
        return ended.join();
    }

    CompletableFuture<CopyRecord> ended() {
        return ended;
    }

    CompletableFuture<Void> readyRecorded() {
        return readyRecorded;
    }

    /** QEMU said ready and the READY step is not durable yet. */
    boolean readyUnrecorded() {
        return job.ready().isDone() && !readyRecorded.isDone();
    }

    /**
     * Waits up to {@code limit} for something to happen: the job concluded or became ready (unless that is
     * recorded already), QEMU went away, or the copy ended.
     */
    void awaitChange(Duration limit) {
        await(CompletableFuture.anyOf(job.concluded(), monitor.closed(), ended,
                readyRecorded.isDone() ? new CompletableFuture<>() : job.ready()), limit);
    }

    /** Waits up to {@code limit} for the copy to end. */
    void awaitEnd(Duration limit) {
        await(ended, limit);
    }

    private static void await(CompletableFuture<?> f, Duration limit) {
        try {
            f.get(limit.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException | ExecutionException e) {
            // nothing happened (or it ended exceptionally): the caller looks again
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    // ---- who is in charge, under this copy's lock ------------------------------------------------------------------

    /**
     * A pivot or abort takes charge; refused if the copy ended, is already being pivoted or ended, or (for
     * anything but a pivot) waits for its definition to be written.
     */
    synchronized void take(String what) {
        if (ended.isDone()) {
            CopyRecord r = ended.join();
            throw new JvirtException(ErrorCode.INVALID_STATE, "cannot " + what + ": the copy of disk " + r.disk()
                    + " already ended (" + r.step() + "): " + CopyView.describeEnd(r), Map.of("vm", r.vm(), "disk", r.disk()));
        }
        if (awaitingDefinition) {
            if (what.equals("pivot")) {
                return;
            }
            throw new JvirtException(ErrorCode.GUEST_HELD, "cannot " + what + ": QEMU already runs disk "
                    + record.disk() + " on " + record.dest() + "; only finishing the pivot (blockjob --pivot) ends this copy",
                    Map.of("vm", record.vm(), "disk", record.disk(), "active", record.dest()));
        }
        if (controlling) {
            throw new JvirtException(ErrorCode.VM_BUSY, "cannot " + what + ": the copy of disk " + record.disk()
                    + " is already being pivoted or ended", Map.of("vm", record.vm(), "disk", record.disk()));
        }
        controlling = true;
    }

    /** A recovery takes charge without asking (nobody else can hold it yet). */
    synchronized void control() {
        controlling = true;
    }

    /** A pivot or abort that failed without ending the copy hands it back to the copy's own thread. */
    synchronized void release() {
        if (!ended.isDone() && !awaitingDefinition) {
            controlling = false;
        }
    }

    synchronized boolean isControlled() {
        return controlling;
    }

    synchronized boolean isAwaitingDefinition() {
        return awaitingDefinition;
    }

    /** QEMU switched, the definition could not follow: only finishing the pivot may end the copy now. */
    synchronized void awaitDefinition(String reason) {
        awaitingDefinition = true;
        controlling = true;
        lastError = reason;
    }

    synchronized void definitionWritten() {
        awaitingDefinition = false;
    }

    /** Runs {@code action} only if nobody is in charge, holding the lock so nobody takes charge meanwhile. */
    synchronized <T> T ifUncontrolled(Supplier<T> action, T otherwise) {
        return controlling ? otherwise : action.get();
    }

    /**
     * Ends the copy once: {@code persist} writes the final record (a failure there is only logged by the caller's
     * {@code persist}: the definition already says where the guest runs), {@code forget} drops it from the copies
     * under way, then whoever waits is told. False if it had ended already.
     */
    synchronized boolean end(CopyRecord last, Consumer<CopyRecord> persist, Runnable forget) {
        if (ended.isDone()) {
            return false;
        }
        try {
            persist.accept(last);
        } finally {
            record = last;
            forget.run();
            job.close();
            errors.close();
            pause.close();
            ended.complete(last);
        }
        return true;
    }

    /** Stops following QEMU's events (a start that failed, a recovery that found nothing to follow). */
    void stopFollowing() {
        job.close();
        errors.close();
        pause.close();
    }
}
