package io.jvirt.vm;

import io.jvirt.error.ErrorCode;
import io.jvirt.error.JvirtException;
import io.jvirt.qemu.QemuInstance;
import io.jvirt.qemu.monitor.Monitor;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * What a job of another capability (snapshots, block copy, migration) sees of a VM while it holds the VM's job
 * slot: the definition, the running QEMU's monitor if any, and durable records of its own progress. Everything
 * here is per-VM; nothing takes a lock shared with other VMs.
 */
public final class VmJobContext {
    private final VmManager manager;
    private final Vm vm;
    private final Job job;

    VmJobContext(VmManager manager, Vm vm, Job job) {
        this.manager = manager;
        this.vm = vm;
        this.job = job;
    }

    public String vmName() {
        return vm.name();
    }

    public VmDefinition definition() {
        return vm.definition();
    }

    public VmState state() {
        return vm.state();
    }

    public Job job() {
        return job;
    }

    /** The VM's QEMU while it runs (or is paused); empty when it is shut off or crashed. */
    public Optional<QemuInstance> qemu() {
        QemuInstance q = vm.instance();
        return q != null && q.isAlive() ? Optional.of(q) : Optional.empty();
    }

    /** The running QEMU's monitor; empty when the VM is shut off or crashed. */
    public Optional<Monitor> monitor() {
        return qemu().map(QemuInstance::monitor);
    }

    /** The running QEMU's pid, or -1 (for fault injection). */
    public long qemuPid() {
        return qemu().map(QemuInstance::pid).orElse(-1L);
    }

    /** The running QEMU's monitor, or an invalid-state error naming what the VM is doing instead. */
    public Monitor requireMonitor(String action) {
        return monitor().orElseThrow(() -> new JvirtException(ErrorCode.INVALID_STATE,
                "cannot " + action + " on VM '" + vm.name() + "': it is " + vm.state().wire() + " (it must be running)",
                Map.of("vm", vm.name(), "state", vm.state().wire())));
    }

    /**
     * Durably records the step this job is at (in the VM's state record) before the job acts on it, so a
     * restarted daemon knows what was under way. {@code intent} is a short machine-readable string, e.g.
     * {@code "pivot-requested"}; details belong in the capability's own store documents.
     */
    public void recordStep(String intent) {
        vm.recordJob(job, intent);
    }

    /**
     * QEMU now runs these disks on these images: the definition names them durably, nothing else re-validated.
     * Throws {@link ErrorCode#DEFINITION_NOT_WRITTEN} when the write fails; then call {@link #holdGuest}.
     */
    public VmDefinition switchDisks(Map<String, DiskImage> images) {
        return manager.switches().switchDisks(vm, images);
    }

    /**
     * The guest must not run until {@code retry} has written what QEMU switched to: pauses it and refuses resume
     * and start until a retry (run by them, or by the capability) succeeds. See {@link GuestHold}.
     */
    public void holdGuest(String reason, Consumer<VmJobContext> retry) {
        manager.switches().hold(vm, reason, retry);
    }

    /** The switch is in the definition now: the guest may run again (the caller resumes it if it should). */
    public void releaseHold() {
        manager.switches().release(vm);
    }

    public boolean isHeld() {
        return vm.hold() != null;
    }

    /** Ends the VM's QEMU (if running) while this job holds the slot; the VM is shut off afterwards. */
    public void stopQemu() {
        manager.stopForJob(vm);
    }

    /** Starts the VM's QEMU from its current definition while this job holds the slot (clears the step record). */
    public VmView startQemu() {
        return manager.startForJob(vm, job, null);
    }

    /**
     * Starts QEMU from the current definition waiting for an incoming migration ({@code -incoming defer});
     * {@code load} runs migrate-incoming on its monitor and returns once the state is in, then the guest runs.
     */
    public VmView startQemuIncoming(Consumer<Monitor> load) {
        return manager.startForJob(vm, job, load);
    }

    /**
     * The one seam for giving the running QEMU a file it did not have at start (an external snapshot's overlay, a
     * block-copy destination, a memory-snapshot file, a hot-plugged disk, a migration's TLS files): call it after
     * the file exists and before QEMU opens it. The grant (an ACL entry for this VM's QEMU uid, recorded durably
     * first) lasts until QEMU ends, when everything the VM held is taken back: there is no per-file release.
     * No-op when QEMU is not confined. docs/security.md, "For other capabilities".
     */
    public void grantToQemu(java.nio.file.Path file, Confinement.Access access) {
        manager.confinement().grant(vm.name(), file, access);
    }

    /** {@link #grantToQemu(java.nio.file.Path, Confinement.Access)} for several files, recorded once. */
    public void grantToQemu(java.util.List<java.nio.file.Path> files, Confinement.Access access) {
        manager.confinement().grant(vm.name(), files, access);
    }

    /**
     * The VM now runs on another host: ends this host's QEMU (reason {@code migrated}) and, with {@code undefine},
     * removes the VM from this host, all within this job (nothing can start it in between).
     */
    public void migratedAway(boolean undefine) {
        manager.migratedAway(vm, undefine);
    }

    /**
     * The guest can never run again from this QEMU (a post-copy whose source QEMU died: its RAM is split): ends the
     * QEMU and leaves the VM {@code crashed} with {@code reason}, within this job.
     */
    public void endLost(String reason) {
        manager.endLost(vm, reason);
    }

    /**
     * Replaces the stored definition (a change for the next boot): validated as a define is, written durably, then
     * the VM's definition. Throws the validation's error, nothing changed.
     */
    public VmDefinition redefine(VmDefinition changed) {
        return manager.writeDefinition(vm, changed);
    }

    public Instant since() {
        return job.since();
    }
}
