package io.jvirt.vm;

import io.jvirt.error.JvirtException;
import io.jvirt.error.ErrorCode;
import java.time.Instant;
import java.util.concurrent.CompletableFuture;

/**
 * A job holding a VM's job slot. Cancelling does not interrupt threads (an interrupt would close the monitor's
 * socket channel under the job); it completes {@link #cancellation()}, which every wait in a job races against,
 * and the job stops at its next step.
 */
public final class Job implements AutoCloseable {
    private final JobSlot slot;
    private final String name;
    private final String operationId;
    private final Instant since;
    private final CompletableFuture<String> cancellation = new CompletableFuture<>();
    private boolean released;

    Job(JobSlot slot, String name, String operationId) {
        this.slot = slot;
        this.name = name;
        this.operationId = operationId;
        this.since = Instant.now();
    }

    public String name() {
        return name;
    }

    public String operationId() {
        return operationId;
    }

    public Instant since() {
        return since;
    }

    public void cancel(String why) {
        cancellation.complete(why);
    }

    public boolean isCancelled() {
        return cancellation.isDone();
    }

    public CompletableFuture<String> cancellation() {
        return cancellation;
    }

    public void throwIfCancelled() {
        if (isCancelled()) {
            throw new JvirtException(ErrorCode.CANCELLED, "job '" + name + "' was cancelled: " + cancellation.getNow(""));
        }
    }

    /** Releases the slot; idempotent. */
    @Override
    public synchronized void close() {
        if (!released) {
            released = true;
            slot.release(this);
        }
    }
}
