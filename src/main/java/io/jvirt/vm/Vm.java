package io.jvirt.vm;

import io.jvirt.qemu.QemuInstance;
import java.time.Instant;
import java.util.function.UnaryOperator;

/**
 * One defined VM: its definition, its persisted runtime record, the QEMU running it (if any) and its job slot.
 *
 * <p>Fields are volatile so reads (list, info) never wait. State changes go through {@link #update}, which holds
 * this VM's monitor only for the in-memory swap and the durable write: never across a QMP call or a process
 * start, and never a lock shared with other VMs.
 */
public final class Vm {
    private final String name;
    private final JobSlot jobs;
    private final VmStateSink sink;
    private volatile VmDefinition definition;
    private volatile VmRecord record;
    private volatile QemuInstance instance;
    /** Why the guest is going down, from QEMU's SHUTDOWN event; decides between shutoff and crashed at exit. */
    private volatile String shutdownReason;
    /** Set while the guest must not run (a disk switch not yet in the definition); see {@link GuestHold}. */
    private volatile GuestHold hold;

    /** Where state changes go: the durable store and the event stream. */
    interface VmStateSink {
        void persist(Vm vm, VmRecord record);

        void changed(Vm vm, VmState previous, VmRecord now);
    }

    Vm(VmDefinition definition, VmRecord record, VmStateSink sink) {
        this.name = definition.name();
        this.definition = definition;
        this.record = record;
        this.sink = sink;
        this.jobs = new JobSlot(name);
    }

    public String name() {
        return name;
    }

    public VmDefinition definition() {
        return definition;
    }

    public VmRecord record() {
        return record;
    }

    public VmState state() {
        return record.state();
    }

    public QemuInstance instance() {
        return instance;
    }

    public JobSlot jobs() {
        return jobs;
    }

    String shutdownReason() {
        return shutdownReason;
    }

    void shutdownReason(String reason) {
        this.shutdownReason = reason;
    }

    GuestHold hold() {
        return hold;
    }

    void hold(GuestHold h) {
        this.hold = h;
    }

    void attach(QemuInstance instance) {
        this.instance = instance;
        this.shutdownReason = null;
    }

    /** Forgets the process if it is still the given one; true if it was. */
    synchronized boolean detach(QemuInstance gone) {
        if (instance == gone) {
            instance = null;
            return true;
        }
        return false;
    }

    /** Moves to a new state with a reason, persisting it; other record fields are kept. */
    public void transition(VmState to, String reason) {
        update(r -> r.withState(to, reason, to == r.state() && reason.equals(r.reason()) ? r.since() : Instant.now()));
    }

    /** Durably records the step {@code job} is at. */
    void recordJob(Job job, String intent) {
        update(r -> r.withJob(new VmRecord.JobRecord(job.name(), job.operationId(), job.since(), intent)));
    }

    /** The job's step record is gone, unless the guest is held: then it is what brings the hold back after a restart. */
    void clearJob() {
        if (hold != null) {
            return;
        }
        update(r -> r.job() == null ? r : r.withJob(null));
    }

    /** Moves to {@code to} only if the VM is currently in {@code from}; true if it moved. */
    public synchronized boolean transitionIf(VmState from, VmState to, String reason) {
        if (record.state() != from) {
            return false;
        }
        transition(to, reason);
        return true;
    }

    /** Applies a change to the runtime record durably, then announces a state change if there was one. */
    public synchronized void update(UnaryOperator<VmRecord> change) {
        VmRecord before = record;
        VmRecord after = change.apply(before);
        if (after.equals(before)) {
            return;
        }
        sink.persist(this, after);
        record = after;
        if (after.state() != before.state() || !java.util.Objects.equals(after.reason(), before.reason())) {
            sink.changed(this, before.state(), after);
        }
    }

    /**
     * As {@link #update}, for a change that has already happened (QEMU is gone): memory takes it even when the
     * durable write fails (a full disk), so the VM is never shown running without a process. The store keeps the
     * older record, which a restarted daemon reconciles (its pid is gone); the failure is logged and counted by
     * the store ({@code GET /v1/host}).
     */
    synchronized void updateTruthfully(UnaryOperator<VmRecord> change) {
        try {
            update(change);
        } catch (RuntimeException e) {
            VmRecord before = record;
            VmRecord after = change.apply(before);
            record = after;
            org.slf4j.LoggerFactory.getLogger(Vm.class).error("VM {}: state {} not written durably (memory has it): {}",
                    name, after.state().wire(), e.getMessage());
            if (after.state() != before.state()) {
                sink.changed(this, before.state(), after);
            }
        }
    }

    void redefine(VmDefinition d) {
        this.definition = d;
    }

    public VmView view(boolean withDefinition) {
        VmRecord r = record;
        QemuInstance q = instance;
        VmView.JobView job = jobs.current().map(j -> new VmView.JobView(j.name(), j.operationId(), j.since())).orElse(null);
        VmView.RuntimeView runtime = q == null ? null
                : new VmView.RuntimeView(q.pid(), r.accel(), q.paths().qmpSocket().toString(), q.startedAt());
        GuestHold h = hold;
        return new VmView(name, definition.uuid(), r.state(), r.reason(), r.since(),
                withDefinition ? definition : null, job, runtime,
                h == null ? null : new VmView.HoldView(h.reason(), h.since()));
    }
}
