package io.jvirt.vm;

/**
 * Finishes or undoes, after a daemon restart, a job that a previous daemon left under way. Registered per job
 * name by the capability that runs such jobs; called once the VM's QEMU (if still alive) has been adopted and its
 * state re-read, holding the VM's job slot, with the step the job last recorded.
 */
@FunctionalInterface
public interface JobRecovery {
    void recover(VmJobContext context, VmRecord.JobRecord interrupted);
}
