package io.jvirt.vm;

import io.jvirt.error.JvirtException;
import io.jvirt.error.ErrorCode;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

/**
 * The one-job-at-a-time rule of a single VM. A semaphore rather than a lock: a job is admitted on the request
 * thread and finished on the operation's thread. Reads never touch the slot; they look at {@link #current()}.
 */
public final class JobSlot {
    private final String vmName;
    private final Semaphore permit = new Semaphore(1, true);
    private volatile Job current;

    public JobSlot(String vmName) {
        this.vmName = vmName;
    }

    /**
     * Takes the slot. With a zero {@code queue} a busy VM fails at once with {@code vm-busy} naming the job and
     * since when; otherwise the caller waits up to {@code queue} for it.
     */
    public Job acquire(String jobName, String operationId, Duration queue) {
        boolean got;
        try {
            got = queue.isZero() ? permit.tryAcquire() : permit.tryAcquire(queue.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            got = false;
        }
        if (!got) {
            Job running = current;
            String what = running == null ? "another job" : "job '" + running.name() + "' (since " + running.since() + ")";
            throw new JvirtException(ErrorCode.VM_BUSY, "VM '" + vmName + "' is busy with " + what
                    + (queue.isZero() ? "; retry later, or pass queue=SECONDS to wait for it" : "; gave up after " + queue.toSeconds() + " s"),
                    running == null ? Map.of() : Map.of("job", running.name(), "since", running.since().toString(),
                            "operation", String.valueOf(running.operationId())));
        }
        Job job = new Job(this, jobName, operationId);
        current = job;
        return job;
    }

    /** Requests waiting for the slot now (an estimate, as Semaphore gives it). */
    public int queueLength() {
        return permit.getQueueLength();
    }

    public Optional<Job> current() {
        return Optional.ofNullable(current);
    }

    void release(Job job) {
        if (current == job) {
            current = null;
        }
        permit.release();
    }
}
