package io.jvirt.vm;

/**
 * Asked before a job of another capability takes a VM's slot: throws (typically {@link io.jvirt.error.ErrorCode#VM_BUSY}) to
 * refuse it. Lifecycle actions (start, shutdown, destroy, suspend, resume) are never asked.
 */
@FunctionalInterface
public interface JobAdmission {
    void check(String vm, JobKind kind);
}
