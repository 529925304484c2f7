package io.jvirt.qemu.monitor;

import io.jvirt.error.ErrorCode;
import io.jvirt.error.JvirtException;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;

/**
 * One QEMU background job (block-commit, blockdev-mirror, snapshot-save/load...) followed through its
 * JOB_STATUS_CHANGE events: subscribed before the command that creates it (or, after a daemon restart, before
 * asking QEMU whether it still has it), so no event is missed; waited for by its events, never by polling, racing
 * the monitor's end and the caller's own cancellation; ended by reading its error and dismissing it (jvirt's jobs
 * never dismiss themselves, so the error can be read).
 *
 * <p>The event handler only records the status and completes futures; a job made with
 * {@link #completingWhenReady} also sends job-complete when it is ready (a commit's pivot), without waiting.
 */
public final class QemuJob implements AutoCloseable {
    private final Monitor monitor;
    private final String id;
    private final boolean completeWhenReady;
    private final Consumer<JobStatus> onStatus;
    private final CompletableFuture<Void> ready = new CompletableFuture<>();
    private final CompletableFuture<Void> concluded = new CompletableFuture<>();
    private volatile JobStatus status = JobStatus.UNKNOWN;
    private final Subscription subscription;

    private QemuJob(Monitor monitor, String id, boolean completeWhenReady, Consumer<JobStatus> onStatus) {
        this.monitor = monitor;
        this.id = id;
        this.completeWhenReady = completeWhenReady;
        this.onStatus = onStatus;
        this.subscription = monitor.on(MonitorEvent.JOB_STATUS_CHANGE, e -> {
            if (id.equals(e.id())) {
                seen(e.status());
            }
        });
    }

    /** Follows job {@code id}; {@code onStatus} (may be null) sees every status it reaches, on the event thread. */
    public static QemuJob follow(Monitor monitor, String id, Consumer<JobStatus> onStatus) {
        return new QemuJob(monitor, id, false, onStatus);
    }

    /** Follows job {@code id} and completes it as soon as it is ready (an active commit pivots then). */
    public static QemuJob completingWhenReady(Monitor monitor, String id) {
        return new QemuJob(monitor, id, true, null);
    }

    /**
     * Runs a job to its end: follows it, {@code start}s it (the command that creates it), waits for its conclusion
     * (up to {@code timeout}), reads its error and dismisses it. Throws {@code qemu-failed} with QEMU's error, or
     * when QEMU exited, and {@code timeout}.
     */
    public static void run(Monitor monitor, String id, String what, Runnable start, Duration timeout) {
        try (QemuJob job = completingWhenReady(monitor, id)) {
            start.run();
            job.awaitConcluded(timeout, null, what);
            Optional<String> error = job.dismiss();
            if (error.isPresent()) {
                throw new JvirtException(ErrorCode.QEMU_FAILED, what + " failed: " + error.get(), Map.of("job", id));
            }
        } catch (MonitorClosedException e) {
            throw new JvirtException(ErrorCode.QEMU_FAILED, "QEMU exited during " + what, Map.of("job", id), e);
        } catch (MonitorException e) {
            throw new JvirtException(ErrorCode.QEMU_FAILED, what + " failed: " + e.getMessage(), Map.of("job", id), e);
        }
    }

    /**
     * After a daemon restart: if QEMU still has job {@code id} (one a dead daemon left running), waits for its
     * conclusion by its events, completing it first if it was ready (its ready event went to the dead daemon),
     * and dismisses it. Returns its error, if any; a failure to settle it is returned the same way.
     */
    public static Optional<String> settle(Monitor monitor, String id, Duration timeout) {
        try (QemuJob job = completingWhenReady(monitor, id)) {
            Optional<JobInfo> now = job.query();
            if (now.isEmpty()) {
                return Optional.empty();
            }
            if (now.get().status() == JobStatus.READY) {
                monitor.jobs().jobCompleteLater(id);
            }
            job.awaitConcluded(timeout, null, "job " + id);
            return job.dismiss();
        } catch (RuntimeException e) {
            return Optional.of(e.toString());
        }
    }

    private void seen(JobStatus s) {
        status = s;
        if (s == JobStatus.READY) {
            ready.complete(null);
            if (completeWhenReady) {
                monitor.jobs().jobCompleteLater(id);
            }
        }
        if (s.isEnd()) {
            concluded.complete(null);
        }
        if (onStatus != null) {
            onStatus.accept(s);
        }
    }

    /**
     * What QEMU says of the job now (query-jobs), also taken as the job's status. A job QEMU does not have (any
     * more) counts as concluded: nothing of it is left to wait for.
     */
    public Optional<JobInfo> query() {
        Optional<JobInfo> found = monitor.jobs().queryJobs().stream().filter(j -> id.equals(j.id())).findFirst();
        if (found.isPresent()) {
            seen(found.get().status());
        } else {
            concluded.complete(null);
        }
        return found;
    }

    public String id() {
        return id;
    }

    /** The last status seen (by event or query); {@link JobStatus#UNKNOWN} before any. */
    public JobStatus status() {
        return status;
    }

    /** Completes when the job is first seen ready. */
    public CompletableFuture<Void> ready() {
        return ready;
    }

    /** Completes when the job is seen concluded (or gone). */
    public CompletableFuture<Void> concluded() {
        return concluded;
    }

    /**
     * Waits for the job's conclusion, racing the monitor's end and {@code abandon} (the caller's cancellation, may
     * be null). Throws {@link MonitorClosedException} when QEMU went away first, {@code cancelled} when abandoned,
     * and {@code timeout} when neither happened within {@code timeout}.
     */
    public void awaitConcluded(Duration timeout, CompletableFuture<?> abandon, String what) {
        CompletableFuture<?> giveUp = abandon == null ? new CompletableFuture<>() : abandon;
        try {
            CompletableFuture.anyOf(concluded, monitor.closed(), giveUp).get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            throw new JvirtException(ErrorCode.TIMEOUT, what + " did not finish within " + timeout.toSeconds() + " s",
                    Map.of("job", id));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new JvirtException(ErrorCode.CANCELLED, "interrupted while waiting for " + what);
        } catch (ExecutionException e) {
            throw new JvirtException(ErrorCode.INTERNAL, e.getCause().toString());
        }
        if (!concluded.isDone()) {
            if (giveUp.isDone()) {
                throw new JvirtException(ErrorCode.CANCELLED, what + " was given up: " + giveUp.getNow(null));
            }
            throw new MonitorClosedException("QEMU exited during " + what);
        }
    }

    /**
     * The concluded job's error (read after its event: a query, not polling), and the job dismissed. Empty when it
     * succeeded, or when QEMU has no such job.
     */
    public Optional<String> dismiss() {
        Optional<JobInfo> j = query();
        if (j.isEmpty()) {
            return Optional.empty();
        }
        if (j.get().status() == JobStatus.CONCLUDED) {
            monitor.jobs().jobDismiss(id);
        }
        return Optional.ofNullable(j.get().error());
    }

    /** Completes the ready job now, waiting for QEMU's answer (a mirror's switch to its target). */
    public void complete() {
        monitor.jobs().jobComplete(id);
    }

    /** Cancels a block job; on a ready mirror the target stays a consistent copy as of now. */
    public void cancelBlockJob() {
        monitor.block().blockJobCancel(id, false);
    }

    /** Stops following (the job goes on in QEMU). */
    @Override
    public void close() {
        subscription.close();
    }
}
