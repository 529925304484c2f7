package io.jvirt.vm;

import java.util.function.Supplier;

/**
 * A job admitted on the caller's thread (slot taken, preconditions checked) whose work runs later, typically on
 * an operation's virtual thread. The slot is released when the work ends, however it ends.
 */
public final class PendingJob<T> {
    private final Job job;
    private final Supplier<T> work;

    PendingJob(Job job, Supplier<T> work) {
        this.job = job;
        this.work = work;
    }

    public Job job() {
        return job;
    }

    public T run() {
        try {
            return work.get();
        } finally {
            job.close();
        }
    }

    /** Asks the job to stop at its next step (used when the client cancels the operation). */
    public void cancel(String why) {
        job.cancel(why);
    }
}
