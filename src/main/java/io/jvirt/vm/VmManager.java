package io.jvirt.vm;

import io.jvirt.error.ErrorCode;
import io.jvirt.error.JvirtException;
import io.jvirt.qemu.Accelerator;
import io.jvirt.qemu.QemuInstance;
import io.jvirt.qemu.QemuPaths;
import io.jvirt.qemu.SerialConsole;
import io.jvirt.qemu.monitor.CapabilityCache;
import io.jvirt.qemu.monitor.Monitor;
import io.jvirt.store.DocumentStore;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.BiFunction;
import java.util.function.Consumer;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The VMs of this host and their lifecycle: define, start, shutdown, destroy, suspend, resume, undefine; and the
 * per-VM job slot other capabilities run their jobs in.
 *
 * <p>Concurrency: each VM has its own job slot; a modifying call takes the slot of its VM only. There is no lock
 * shared between VMs held across a QMP call or a process start, so a long job on one VM never delays another.
 * Reads take no lock at all. State follows QEMU's events and the process's exit ({@link VmProcesses}); a
 * restarted daemon re-adopts running QEMUs ({@link VmRecovery}); disk switches and guest holds are written by
 * {@link DiskSwitches}.
 */
public final class VmManager {
    private static final Logger log = LoggerFactory.getLogger(VmManager.class);
    static final String DEFINITION = "definition";
    static final String STATE = "state";

    /** Daemon-wide settings the VM layer needs; {@code capabilities} files what each QEMU build offers. */
    public record Config(Path runDir, String defaultEmulator, Accelerator defaultAccel, Duration startTimeout,
                         CapabilityCache capabilities) {
    }

    private final Config config;
    private final DocumentStore store;
    private final DefinitionValidator validator;
    private final Map<String, Vm> vms = new ConcurrentHashMap<>();
    private final Object registryLock = new Object();
    private final List<Consumer<VmEvent>> listeners = new CopyOnWriteArrayList<>();
    private final Map<String, JobRecovery> recoveries = new ConcurrentHashMap<>();
    private final List<JobAdmission> admissions = new CopyOnWriteArrayList<>();
    private final JobProgress jobProgress = new JobProgress();
    private final VmProcesses processes;
    private volatile NicPlumbing nicPlumbing = NicPlumbing.USER_ONLY;
    private volatile Confinement confinement = Confinement.NONE;
    private final DiskSwitches switches;
    private final VmRecovery recovery;
    private final Vm.VmStateSink sink = new Vm.VmStateSink() {
        @Override
        public void persist(Vm vm, VmRecord record) {
            if (vms.get(vm.name()) != vm) {
                return; // undefined (e.g. migrated away) within its job: the job's last clean-up writes nothing
            }
            store.put(vm.name(), STATE, record);
        }

        @Override
        public void changed(Vm vm, VmState previous, VmRecord now) {
            publish(VmEvent.lifecycle(vm.name(), now.state().wire(), previous.wire(), now.reason()));
        }
    };

    public VmManager(Config config, DocumentStore store) {
        this.config = config;
        this.store = store;
        this.validator = new DefinitionValidator(config.defaultEmulator());
        this.processes = new VmProcesses(config, this::paths, () -> nicPlumbing, () -> confinement);
        this.switches = new DiskSwitches(store);
        this.recovery = new VmRecovery(this, processes, this::paths, recoveries, config.capabilities());
    }

    /** Installs the network capability's NIC plumbing (taps); before {@link #startRecovery}. */
    public void setNicPlumbing(NicPlumbing plumbing) {
        this.nicPlumbing = plumbing;
    }

    /** What the VMs' NICs need on the host (a hot-plugged NIC goes through it as a started VM's do). */
    public NicPlumbing nicPlumbing() {
        return nicPlumbing;
    }

    /** Installs what QEMU may touch and who it runs as (io.jvirt.confine); before {@link #startRecovery}. */
    public void setConfinement(Confinement confinement) {
        this.confinement = confinement;
    }

    /**
     * What QEMU may touch, for capabilities that hand it files later: a hot-plugged disk's checked chain
     * ({@link Confinement#diskChain}), sharing with other VMs' disks, a file about to be created
     * ({@link Confinement#checkNewFile}). Ask it at the time of use: the daemon installs it after construction.
     */
    public Confinement confinement() {
        return confinement;
    }

    public Accelerator defaultAccel() {
        return config.defaultAccel();
    }

    public void addListener(Consumer<VmEvent> listener) {
        listeners.add(listener);
    }

    private void publish(VmEvent event) {
        for (Consumer<VmEvent> l : listeners) {
            try {
                l.accept(event);
            } catch (RuntimeException e) {
                log.warn("event listener failed", e);
            }
        }
    }

    // ---- reads: never wait for a job ---------------------------------------------------------------------

    public List<VmView> list() {
        return vms.values().stream().map(vm -> vm.view(false)).sorted(Comparator.comparing(VmView::name)).toList();
    }

    public VmView get(String name) {
        Vm vm = find(name);
        VmView view = vm.view(true);
        List<Map<String, Object>> nics = nicPlumbing.describe(vm.definition());
        return nics.isEmpty() ? view : view.withNics(nics);
    }

    public int count() {
        return vms.size();
    }

    /** One VM as observers read it (stats, the guest agent): state, definition, QEMU; never waits for a job. */
    public LiveVm live(String name) {
        return LiveVm.of(find(name));
    }

    /** Every VM as {@link #live(String)} reads it, sorted by name. */
    public List<LiveVm> liveAll() {
        return vms.values().stream().map(LiveVm::of).sorted(Comparator.comparing(LiveVm::name)).toList();
    }

    /** The host device (tap) of a running VM's NIC; empty for a user-mode NIC. */
    public Optional<String> nicDevice(String vm, String nic) {
        return nicPlumbing.hostDevice(vm, nic);
    }

    /** Where the long jobs of the VMs are, and how the recent ones ended (block copy, migration). */
    public JobProgress jobProgress() {
        return jobProgress;
    }

    /**
     * Takes the VM's slot, then checks that the VM is still the registered one: a request that queued behind an
     * undefine must not act on the VM it waited for (a start would boot a VM the API no longer knows and recreate
     * its state; an undefine would delete a newer VM of the same name).
     */
    private Job acquire(Vm vm, String jobName, String operationId, Duration queue) {
        Job job = vm.jobs().acquire(jobName, operationId, queue);
        if (vms.get(vm.name()) != vm) {
            job.close();
            throw new JvirtException(ErrorCode.VM_NOT_FOUND, "VM '" + vm.name() + "' was undefined while this request"
                    + " waited for it", Map.of("vm", vm.name()));
        }
        return job;
    }

    Vm find(String name) {
        DefinitionValidator.checkName(name);
        Vm vm = vms.get(name);
        if (vm == null) {
            throw new JvirtException(ErrorCode.VM_NOT_FOUND, "no VM named '" + name + "'", Map.of("vm", name));
        }
        return vm;
    }

    /** Definitions of every VM (for checks such as "which VM uses this volume"). */
    public List<VmDefinition> definitions() {
        return vms.values().stream().map(Vm::definition).toList();
    }

    // ---- define / undefine --------------------------------------------------------------------------------

    public VmView define(VmDefinition input) {
        VmDefinition checked = confinement.checkFiles(validator.validate(input)); // real paths, checked chains
        nicPlumbing.checkDefinition(checked);
        VmDefinition d;
        synchronized (registryLock) { // guards only the name and uuid check-and-insert, never QEMU work
            d = MacAddresses.unique(input, checked, vms.values().stream().map(Vm::definition).toList());
            confinement.checkSharing(d, definitions()); // chains as read above: no image is read under this lock
            if (vms.containsKey(d.name())) {
                throw new JvirtException(ErrorCode.VM_EXISTS, "a VM named '" + d.name() + "' is already defined",
                        Map.of("vm", d.name()));
            }
            for (Vm other : vms.values()) {
                if (other.definition().uuid().equals(d.uuid())) {
                    throw new JvirtException(ErrorCode.VM_EXISTS, "VM '" + other.name() + "' already has uuid " + d.uuid(),
                            Map.of("vm", other.name(), "uuid", d.uuid()));
                }
            }
            Vm vm = new Vm(d, VmRecord.initial(), sink);
            // The state document first, the definition last: the definition's presence is what makes a VM exist.
            store.put(d.name(), STATE, vm.record());
            store.put(d.name(), DEFINITION, d);
            vms.put(d.name(), vm);
        }
        publish(VmEvent.lifecycle(d.name(), "defined", null, "defined"));
        return get(d.name());
    }

    public void undefine(String name, Duration queue) {
        Vm vm = find(name);
        try (Job job = acquire(vm, LifecycleJob.UNDEFINE.wire(), null, queue)) {
            if (vm.instance() != null || vm.state().isActive()) {
                throw VmErrors.invalidState(vm, "undefine", "destroy or shut it down first");
            }
            forget(vm);
        }
        publish(VmEvent.lifecycle(name, "undefined", null, "undefined"));
    }

    /** Removes an ended VM from the store and the registry (undefine, or migrated away with undefine). */
    private void forget(Vm vm) {
        synchronized (registryLock) {
            store.removeOwner(vm.name(), DEFINITION);
            vms.remove(vm.name(), vm);
        }
        VmLoader.deleteRunDir(config.runDir().resolve(vm.name()));
    }

    // ---- start / shutdown / destroy / suspend / resume ------------------------------------------------------

    /** Admits a start (slot taken, state checked) on the caller's thread; {@link PendingJob#run()} does the work. */
    public PendingJob<VmView> prepareStart(String name, String operationId, Duration queue) {
        Vm vm = find(name);
        Job job = acquire(vm, LifecycleJob.START.wire(), operationId, queue);
        try {
            switches.retryHold(vm, new VmJobContext(this, vm, job), "start");
            if (vm.state() != VmState.SHUTOFF && vm.state() != VmState.CRASHED || vm.instance() != null) {
                throw VmErrors.invalidState(vm, "start", vm.state() == VmState.CRASHED ? "destroy it first" : "it is already running");
            }
            checkFilesForStart(vm);
        } catch (RuntimeException e) {
            job.close();
            throw e;
        }
        return new PendingJob<>(job, () -> processes.start(vm, job, null));
    }

    /**
     * A graceful shutdown: ACPI power button, then wait for the guest to power off. A paused guest handles the
     * request when it is resumed (as with libvirt), so the job may wait for its whole timeout.
     */
    public PendingJob<VmView> prepareShutdown(String name, String operationId, Duration queue, Duration timeout) {
        return prepareShutdown(name, operationId, queue, timeout, null);
    }

    /**
     * As {@link #prepareShutdown(String, String, Duration, Duration)}, asking the guest by {@code request} (e.g.
     * through its agent) instead of the ACPI power button when not null; the wait for the power-off is the same.
     */
    public PendingJob<VmView> prepareShutdown(String name, String operationId, Duration queue, Duration timeout,
                                              Runnable request) {
        Vm vm = find(name);
        Job job = acquire(vm, LifecycleJob.SHUTDOWN.wire(), operationId, queue);
        if ((vm.state() != VmState.RUNNING && vm.state() != VmState.PAUSED) || vm.instance() == null) {
            job.close();
            throw VmErrors.invalidState(vm, "shut down", "it is not running");
        }
        return new PendingJob<>(job, () -> processes.shutdown(vm, job, timeout, request));
    }

    /**
     * Kills the VM's QEMU at once (SIGTERM, SIGKILL after 5 s). Never queues behind a job: it cancels the job in
     * progress, whose waits end as the process goes away.
     */
    public VmView destroy(String name) {
        Vm vm = find(name);
        Optional<Job> running = vm.jobs().current();
        QemuInstance q = vm.instance();
        if (q == null && running.isEmpty() && !vm.state().isActive()) {
            throw VmErrors.invalidState(vm, "destroy", "it is not running");
        }
        running.ifPresent(j -> j.cancel("the VM is being destroyed"));
        VmProcesses.kill(vm, q);
        try (Job job = acquire(vm, LifecycleJob.DESTROY.wire(), null, Duration.ofSeconds(30))) {
            VmProcesses.kill(vm, vm.instance()); // a start that spawned its process just before it saw the cancellation
            if (vm.state().isActive()) {
                vm.transition(VmState.SHUTOFF, "destroyed");
            }
        }
        return vm.view(true);
    }

    public VmView suspend(String name, Duration queue) {
        Vm vm = find(name);
        try (Job job = acquire(vm, LifecycleJob.SUSPEND.wire(), null, queue)) {
            VmProcesses.switchVcpus(vm, "suspend", VmState.RUNNING, "it is not running", Monitor::stop, VmState.PAUSED, "user");
        }
        return vm.view(true);
    }

    public VmView resume(String name, Duration queue) {
        Vm vm = find(name);
        try (Job job = acquire(vm, LifecycleJob.RESUME.wire(), null, queue)) {
            if (switches.retryHold(vm, new VmJobContext(this, vm, job), "resume") && vm.state() == VmState.RUNNING) {
                return vm.view(true); // finishing the held switch let the guest run on (a pivot resumes it)
            }
            VmProcesses.switchVcpus(vm, "resume", VmState.PAUSED, "it is not paused", Monitor::cont, VmState.RUNNING, "resumed");
        }
        return vm.view(true);
    }

    // ---- jobs of other capabilities (snapshots, block copy, migration) ---------------------------------------

    /**
     * Admits a job of another capability on the caller's thread: the slot is taken and {@code precheck} passes
     * (it throws to refuse, changing nothing) and returns the plan it worked out, which {@code work} gets when it
     * runs later, typically as an operation. The job's step record is cleared when the work ends, however it ends.
     */
    public <P, T> PendingJob<T> prepareJob(String name, JobKind kind, String operationId, Duration queue,
                                           Function<VmJobContext, P> precheck, BiFunction<VmJobContext, P, T> work) {
        Vm vm = find(name);
        for (JobAdmission a : admissions) {
            a.check(vm.name(), kind);
        }
        Job job = acquire(vm, kind.wire(), operationId, queue);
        VmJobContext ctx = new VmJobContext(this, vm, job);
        P plan;
        try {
            plan = precheck.apply(ctx);
        } catch (RuntimeException e) {
            job.close();
            throw e;
        }
        return new PendingJob<>(job, () -> {
            try {
                return work.apply(ctx, plan);
            } finally {
                vm.clearJob();
            }
        });
    }

    /** Runs a short job of another capability on the caller's thread, holding the VM's slot throughout. */
    public <T> T runJob(String name, JobKind kind, Duration queue, Function<VmJobContext, T> work) {
        return prepareJob(name, kind, null, queue, ctx -> null, (ctx, none) -> work.apply(ctx)).run();
    }

    /**
     * Lets a capability whose work outlives its job slot (a block copy runs for minutes or hours between its
     * start and its pivot) refuse other capabilities' jobs that would conflict with it on that VM.
     */
    public void addAdmission(JobAdmission admission) {
        admissions.add(admission);
    }

    /** Registers how to recover jobs of {@code kind} left under way by a previous daemon. */
    public void registerRecovery(JobKind kind, JobRecovery jobRecovery) {
        recoveries.put(kind.wire(), jobRecovery);
    }

    // ---- what a job's VmJobContext does --------------------------------------------------------------------------

    void stopForJob(Vm vm) {
        VmProcesses.stopForJob(vm);
    }

    /** See {@link VmJobContext#migratedAway}. */
    void migratedAway(Vm vm, boolean undefine) {
        VmProcesses.endMigrated(vm);
        vm.update(r -> r.withState(VmState.SHUTOFF, "migrated").withoutProcess().withJob(null));
        if (undefine) {
            forget(vm);
            publish(VmEvent.lifecycle(vm.name(), "undefined", null, "migrated"));
        }
    }

    /** See {@link VmJobContext#endLost}. */
    void endLost(Vm vm, String reason) {
        VmProcesses.endMigrated(vm); // terminate and wait
        vm.update(r -> r.withState(VmState.CRASHED, reason).withoutProcess());
    }

    /** Starts the VM within the job (its step record is cleared afterwards); {@code incoming} as in VmProcesses. */
    VmView startForJob(Vm vm, Job job, Consumer<Monitor> incoming) {
        checkFilesForStart(vm);
        return processes.start(vm, job, incoming);
    }

    /** Images change while a VM is off (a rebase, a copy): its files and chains are checked again at each start. */
    private void checkFilesForStart(Vm vm) {
        confinement.checkFiles(vm.definition());
        confinement.checkSharing(vm.definition(), definitions());
    }

    DiskSwitches switches() {
        return switches;
    }

    /** A job's change of the stored definition (hotplug's --config): validated as a define is, durable, then seen. */
    VmDefinition writeDefinition(Vm vm, VmDefinition changed) {
        VmDefinition checked = checkChange(changed);
        nicPlumbing.checkDefinition(checked);
        if (!checked.name().equals(vm.name()) || !checked.uuid().equals(vm.definition().uuid())) {
            throw new JvirtException(ErrorCode.INTERNAL, "a definition change may not rename VM '" + vm.name() + "'");
        }
        store.put(vm.name(), DEFINITION, checked);
        vm.redefine(checked);
        return checked;
    }

    /**
     * A changed definition checked as a define checks one (the validator, then the confinement's path policy and
     * backing chains), nothing stored: what a capability's change is refused by before it acts.
     */
    public VmDefinition checkChange(VmDefinition changed) {
        return confinement.checkFiles(validator.validate(changed));
    }

    /** The store capabilities keep their per-VM documents in (beside the VM's definition and state). */
    public DocumentStore store() {
        return store;
    }

    // ---- console -------------------------------------------------------------------------------------------

    /** The live console of a running VM, if any. */
    public Optional<SerialConsole> console(String name) {
        QemuInstance q = find(name).instance();
        return q == null ? Optional.empty() : q.console();
    }

    /** The console log of the VM's current or last run. */
    public Path consoleLog(String name) {
        return paths(find(name).name()).consoleLog();
    }

    // ---- recovery after a daemon restart --------------------------------------------------------------------

    /**
     * Loads every stored VM (documents that cannot be used are quarantined, see {@link VmLoader}) and reconciles
     * them in parallel, each on its own virtual thread holding the VM's job slot as job {@value #RECOVERY_JOB}:
     * the API can be served at once, a VM still being reconciled answers {@code vm-busy} naming it, the others
     * work. The future completes when every VM is reconciled (and jobs left under way handed to their recovery).
     */
    public java.util.concurrent.CompletableFuture<Void> startRecovery() {
        List<java.util.concurrent.CompletableFuture<Void>> all = new ArrayList<>();
        for (String name : store.owners(DEFINITION)) {
            Optional<Vm> loaded = VmLoader.load(store, name, this::paths, sink);
            if (loaded.isEmpty()) {
                continue;
            }
            Vm vm = loaded.get();
            Job slot = vm.jobs().acquire(RECOVERY_JOB, null, Duration.ZERO); // before the API can see the VM
            vms.put(name, vm);
            all.add(recovery.reconcileInBackground(vm, slot));
        }
        // once every VM is reconciled: grants and QEMU uids of VMs whose QEMU is gone (e.g. killed while no daemon
        // ran) are taken back
        return java.util.concurrent.CompletableFuture.allOf(all.toArray(java.util.concurrent.CompletableFuture[]::new))
                .thenRun(() -> confinement.reconcile(vms.values().stream().filter(vm -> vm.instance() != null)
                        .map(Vm::name).collect(java.util.stream.Collectors.toSet())));
    }

    /** The job name a VM's slot carries while the daemon reconciles it after a start ({@code vm-busy} names it). */
    public static final String RECOVERY_JOB = "recovery";

    /** Documents of this store moved to quarantine (at this start or earlier), and its failed writes. */
    public Map<String, Object> storeReport() {
        return store.report();
    }

    // ---- helpers -------------------------------------------------------------------------------------------

    public QemuPaths paths(String name) {
        return new QemuPaths(config.runDir().resolve(name), store.ownerDir(name));
    }
}
