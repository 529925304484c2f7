package io.jvirt.blockcopy;

import com.fasterxml.jackson.databind.JsonNode;
import io.jvirt.qmp.QmpClient;
import io.jvirt.qmp.QmpEvent;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * One block copy while QEMU runs its mirror job: the durable record, and what QEMU's events have told so far.
 * Event handlers only complete futures and set fields (they run on the monitor's event thread and must not
 * block); the copy's own thread and the pivot/abort callers act on them.
 */
public final class ActiveCopy {
    final QmpClient qmp;
    final long qemuPid;
    /** QEMU said "ready" (first time): source and destination are in sync, pivot possible. */
    final CompletableFuture<Void> readyEvent = new CompletableFuture<>();
    /** The READY step is durable (a pivot waits for this, so the step order in the store never goes back). */
    final CompletableFuture<Void> readyRecorded = new CompletableFuture<>();
    /** QEMU's job reached "concluded" (completed, cancelled or failed). */
    final CompletableFuture<Void> concluded = new CompletableFuture<>();
    /** The copy is over and its final record is durable. */
    final CompletableFuture<CopyRecord> ended = new CompletableFuture<>();
    private final List<AutoCloseable> subscriptions = new ArrayList<>();

    volatile CopyRecord record;
    volatile boolean readyNow;
    volatile String lastError;
    volatile CopyProgress progress;
    private volatile Instant sampledAt;
    volatile Instant stoppedAt;
    volatile Instant resumedAt;
    /** The guest's vCPUs resumed (the event is dispatched after cont's answer, so a pivot waits for it). */
    final CompletableFuture<Instant> resumed = new CompletableFuture<>();
    /** A pivot or abort is in charge of the job: the copy's own thread must not end it. Guarded by this. */
    boolean controlling;
    /**
     * QEMU switched the disk to the destination but the definition does not name it yet: the guest is held
     * paused, only finishing the pivot may end this copy. Guarded by this.
     */
    boolean awaitingDefinition;

    ActiveCopy(CopyRecord record, QmpClient qmp, long qemuPid) {
        this.record = record;
        this.qmp = qmp;
        this.qemuPid = qemuPid;
    }

    /** Subscribes to the job's events; call before the command that starts (or could end) the job. */
    void listen() {
        String id = record.jobId();
        subscriptions.add(qmp.onEvent("JOB_STATUS_CHANGE", e -> onStatus(id, e)));
        subscriptions.add(qmp.onEvent("BLOCK_JOB_ERROR", e -> {
            if (id.equals(e.data().path("device").asText())) {
                readyNow = false;
                // operation: "read" (source) or "write" (destination); action: what QEMU did about it
                lastError = "I/O error on " + e.data().path("operation").asText() + " ("
                        + e.data().path("action").asText() + ")";
            }
        }));
        subscriptions.add(qmp.onEvent("STOP", e -> stoppedAt = e.timestamp()));
        subscriptions.add(qmp.onEvent("RESUME", e -> {
            resumedAt = e.timestamp();
            resumed.complete(e.timestamp());
        }));
    }

    private void onStatus(String id, QmpEvent e) {
        if (!id.equals(e.data().path("id").asText())) {
            return;
        }
        switch (e.data().path("status").asText()) {
            case "ready" -> {
                readyNow = true;
                readyEvent.complete(null);
            }
            case "running", "standby", "paused", "aborting" -> readyNow = false;
            case "concluded", "null" -> {
                readyNow = false;
                concluded.complete(null);
            }
            default -> { }
        }
    }

    void unlisten() {
        for (AutoCloseable s : subscriptions) {
            try {
                s.close();
            } catch (Exception ignored) {
                // the monitor is gone: nothing to unsubscribe from
            }
        }
        subscriptions.clear();
    }

    /** QEMU's view of the job (query-jobs), or null when it has no such job. */
    JsonNode job() {
        for (JsonNode j : qmp.execute("query-jobs")) {
            if (record.jobId().equals(j.path("id").asText())) {
                return j;
            }
        }
        return null;
    }

    /** Samples the job's byte counters (query-block-jobs) for a progress report; null when the job is gone. */
    CopyProgress sample() {
        CopyProgress before = progress;
        for (JsonNode j : qmp.execute("query-block-jobs")) {
            if (record.jobId().equals(j.path("device").asText())) {
                long offset = j.path("offset").asLong();
                long len = j.path("len").asLong();
                long rate = 0;
                Instant now = Instant.now();
                if (before != null && sampledAt != null) {
                    long ms = Math.max(1, java.time.Duration.between(sampledAt, now).toMillis());
                    rate = Math.max(0, (offset - before.transferred()) * 1000 / ms);
                }
                sampledAt = now;
                progress = CopyProgress.of(offset, len, rate);
                return progress;
            }
        }
        return null;
    }

    public String jobId() {
        return record.jobId();
    }

    String key() {
        return record.vm() + "/" + record.disk();
    }
}
