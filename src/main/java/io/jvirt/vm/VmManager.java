package io.jvirt.vm;

import io.jvirt.error.JvirtException;
import io.jvirt.error.ErrorCode;
import com.fasterxml.jackson.databind.JsonNode;
import io.jvirt.qemu.Accelerator;
import io.jvirt.qemu.QemuExit;
import io.jvirt.qemu.QemuInstance;
import io.jvirt.qemu.QemuLaunchSpec;
import io.jvirt.qemu.QemuPaths;
import io.jvirt.qemu.QemuStartException;
import io.jvirt.qemu.SerialConsole;
import io.jvirt.qmp.QmpClient;
import io.jvirt.qmp.QmpConnectionClosedException;
import io.jvirt.qmp.QmpEvent;
import io.jvirt.qmp.QmpException;
import io.jvirt.store.DocumentStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The VMs of this host and their lifecycle: define, start, shutdown, destroy, suspend, resume, undefine.
 *
 * <p>Concurrency: each VM has its own job slot; a modifying call takes the slot of its VM only. There is no lock
 * shared between VMs held across a QMP call or a process start, so a long job on one VM never delays another.
 * Reads take no lock at all. State follows QEMU's events (RESUME, STOP, SHUTDOWN) and the process's exit.
 */
public final class VmManager {
    private static final Logger log = LoggerFactory.getLogger(VmManager.class);
    static final String DEFINITION = "definition";
    static final String STATE = "state";

    /** Daemon-wide settings the VM layer needs. */
    public record Config(Path runDir, String defaultEmulator, Accelerator defaultAccel, Duration startTimeout) {
    }

    private final Config config;
    private final DocumentStore store;
    private final DefinitionValidator validator;
    private final Map<String, Vm> vms = new ConcurrentHashMap<>();
    private final Object registryLock = new Object();
    private final List<Consumer<VmEvent>> listeners = new CopyOnWriteArrayList<>();
    private final Map<String, JobRecovery> recoveries = new ConcurrentHashMap<>();
    private final List<JobAdmission> admissions = new CopyOnWriteArrayList<>();
    private volatile NicPlumbing nicPlumbing = NicPlumbing.USER_ONLY;
    private final Vm.VmStateSink sink = new Vm.VmStateSink() {
        @Override
        public void persist(Vm vm, VmRecord record) {
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
    }

    public Accelerator defaultAccel() {
        return config.defaultAccel();
    }

    /** Installs the network capability's NIC plumbing (taps); before {@link #loadAndRecover}. */
    public void setNicPlumbing(NicPlumbing plumbing) {
        this.nicPlumbing = plumbing;
    }

    public void addListener(Consumer<VmEvent> listener) {
        listeners.add(listener);
    }

    public void removeListener(Consumer<VmEvent> listener) {
        listeners.remove(listener);
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

    Vm find(String name) {
        DefinitionValidator.checkName(name);
        Vm vm = vms.get(name);
        if (vm == null) {
            throw new JvirtException(ErrorCode.VM_NOT_FOUND, "no VM named '" + name + "'", Map.of("vm", name));
        }
        return vm;
    }

    // ---- define / undefine --------------------------------------------------------------------------------

    public VmView define(VmDefinition input) {
        VmDefinition checked = validator.validate(input);
        nicPlumbing.checkDefinition(checked);
        synchronized (registryLock) { // guards only the name and uuid check-and-insert, never QEMU work
            VmDefinition d = MacAddresses.unique(input, checked, vms.values().stream().map(Vm::definition).toList());
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
        publish(VmEvent.lifecycle(checked.name(), "defined", null, "defined"));
        return get(checked.name());
    }

    public void undefine(String name, Duration queue) {
        Vm vm = find(name);
        try (Job job = vm.jobs().acquire("undefine", null, queue)) {
            if (vm.instance() != null || vm.state().isActive()) {
                throw invalidState(vm, "undefine", "destroy or shut it down first");
            }
            synchronized (registryLock) {
                store.removeOwner(name, DEFINITION);
                vms.remove(name, vm);
            }
            deleteRunDir(name);
        }
        publish(VmEvent.lifecycle(name, "undefined", null, "undefined"));
    }

    // ---- start --------------------------------------------------------------------------------------------

    /** Admits a start (slot taken, state checked) on the caller's thread; {@link PendingJob#run()} does the work. */
    public PendingJob<VmView> prepareStart(String name, String operationId, Duration queue) {
        Vm vm = find(name);
        Job job = vm.jobs().acquire("start", operationId, queue);
        try {
            retryHold(vm, job, "start");
            if (vm.state() != VmState.SHUTOFF && vm.state() != VmState.CRASHED || vm.instance() != null) {
                throw invalidState(vm, "start", vm.state() == VmState.CRASHED ? "destroy it first" : "it is already running");
            }
            DefinitionValidator.checkFilesStillExist(vm.definition());
        } catch (RuntimeException e) {
            job.close();
            throw e;
        }
        return new PendingJob<>(job, () -> runStart(vm, job));
    }

    private VmView runStart(Vm vm, Job job) {
        return runStart(vm, job, null);
    }

    /**
     * {@code incoming} null: a normal start. Otherwise QEMU starts with {@code -incoming defer} and {@code incoming}
     * gets its monitor to load the guest's state (migrate-incoming) before the vCPUs are let go.
     */
    private VmView runStart(Vm vm, Job job, java.util.function.Consumer<io.jvirt.qmp.QmpClient> incoming) {
        VmDefinition d = vm.definition();
        Accelerator accel = "auto".equals(d.accel()) ? config.defaultAccel() : Accelerator.parse(d.accel());
        QemuPaths paths = paths(vm.name());
        vm.update(r -> new VmRecord(VmState.STARTING, "start", Instant.now(), null, null, accel.qemuName(),
                jobRecord(job, "start")));
        QemuInstance q;
        try {
            QemuLaunchSpec spec = toSpec(d, accel, nicPlumbing.prepare(d));
            q = QemuInstance.spawn(incoming == null ? spec : spec.withIncomingDefer(), paths);
        } catch (QemuStartException | JvirtException e) {
            nicPlumbing.release(vm.name());
            vm.update(r -> new VmRecord(VmState.SHUTOFF, "start-failed", Instant.now(), null, null, null, null));
            if (e instanceof JvirtException je) {
                throw je;
            }
            throw new JvirtException(ErrorCode.QEMU_FAILED, "cannot start VM '" + vm.name() + "': " + e.getMessage(), Map.of(), e);
        }
        vm.attach(q);
        q.onExit(exit -> onQemuExit(vm, q, exit));
        vm.update(r -> new VmRecord(r.state(), r.reason(), r.since(), q.pid(), q.startedAt(), r.accel(), r.job()));
        try {
            job.throwIfCancelled();
            q.connect(config.startTimeout());
            bindEvents(vm, q);
            job.throwIfCancelled();
            if (incoming != null) {
                incoming.accept(q.qmp());
            }
            q.qmp().execute("cont");
            vm.transitionIf(VmState.STARTING, VmState.RUNNING, "booted");
            clearJob(vm);
            return vm.view(true);
        } catch (RuntimeException e) {
            if (q.isAlive()) {
                q.terminate(Duration.ofSeconds(5));
            }
            clearJob(vm);
            if (e instanceof JvirtException je) {
                throw je;
            }
            String why = e instanceof QmpConnectionClosedException ? "QEMU exited during start-up" : e.getMessage();
            throw new JvirtException(ErrorCode.QEMU_FAILED, "cannot start VM '" + vm.name() + "': " + why, Map.of(), e);
        }
    }

    /** Maps QEMU's events onto VM states. Handlers run on the monitor's event thread, one at a time, in order. */
    private void bindEvents(Vm vm, QemuInstance q) {
        QmpClient qmp = q.qmp();
        qmp.onEvent("RESUME", e -> {
            if (vm.instance() == q && !vm.transitionIf(VmState.PAUSED, VmState.RUNNING, "resumed")) {
                vm.transitionIf(VmState.STARTING, VmState.RUNNING, "booted");
            }
        });
        qmp.onEvent("STOP", e -> {
            if (vm.instance() == q) {
                // The reason names who paused: the user (suspend), a job of ours (e.g. "snapshot"), or QEMU itself.
                String reason = vm.jobs().current().map(j -> j.name().equals("suspend") ? "user" : j.name())
                        .orElse("stopped");
                vm.transitionIf(VmState.RUNNING, VmState.PAUSED, reason);
            }
        });
        qmp.onEvent("SHUTDOWN", e -> onShutdownEvent(vm, q, e));
    }

    /**
     * With -no-shutdown QEMU stays alive when the guest powers off and tells us with SHUTDOWN; we then end the
     * process ourselves, so a guest power-off is told apart from a crash.
     */
    private void onShutdownEvent(Vm vm, QemuInstance q, QmpEvent e) {
        String reason = e.data().path("reason").asText("guest-shutdown");
        if (vm.instance() != q || reason.startsWith("host-")) {
            return; // host-qmp-quit / host-signal: we asked for it; the exit handler records it
        }
        vm.shutdownReason(reason);
        if (vm.state().isActive()) {
            vm.transition(VmState.SHUTTING_DOWN, reason);
        }
        q.expectExit();
        q.qmp().submit("quit", null).exceptionally(t -> null);
    }

    private void onQemuExit(Vm vm, QemuInstance q, QemuExit exit) {
        if (!vm.detach(q)) {
            return;
        }
        VmState before = vm.state();
        String shutdown = vm.shutdownReason();
        VmState to;
        String reason;
        if (shutdown != null) {
            to = VmState.SHUTOFF;
            reason = shutdown;
        } else if (exit.requested()) {
            to = VmState.SHUTOFF;
            reason = before == VmState.STARTING ? "start-failed" : "stopped";
        } else if (before == VmState.STARTING) {
            to = VmState.SHUTOFF;
            reason = "start-failed";
        } else {
            to = VmState.CRASHED;
            reason = exit.description();
        }
        log.info("VM {}: QEMU {} ended ({}); {} -> {}", vm.name(), q.pid(), exit.description(), before.wire(), to.wire());
        releaseNics(vm);
        vm.update(r -> new VmRecord(to, reason, Instant.now(), null, null, null, r.job()));
    }

    // ---- shutdown / destroy / suspend / resume --------------------------------------------------------------

    /**
     * A graceful shutdown: ACPI power button, then wait for the guest to power off. A paused guest handles the
     * request when it is resumed (as with libvirt), so the job may wait for its whole timeout.
     */
    public PendingJob<VmView> prepareShutdown(String name, String operationId, Duration queue, Duration timeout) {
        Vm vm = find(name);
        Job job = vm.jobs().acquire("shutdown", operationId, queue);
        if ((vm.state() != VmState.RUNNING && vm.state() != VmState.PAUSED) || vm.instance() == null) {
            job.close();
            throw invalidState(vm, "shut down", "it is not running");
        }
        return new PendingJob<>(job, () -> runShutdown(vm, job, timeout));
    }

    private VmView runShutdown(Vm vm, Job job, Duration timeout) {
        QemuInstance q = vm.instance();
        if (q == null) {
            throw invalidState(vm, "shut down", "it is not running");
        }
        vm.update(r -> new VmRecord(r.state(), r.reason(), r.since(), r.pid(), r.startedAt(), r.accel(),
                jobRecord(job, "powerdown")));
        try {
            q.qmp().execute("system_powerdown");
            CompletableFuture<Object> done = CompletableFuture.anyOf(q.exited(), job.cancellation());
            done.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
            job.throwIfCancelled();
            if (vm.state() == VmState.CRASHED) {
                throw new JvirtException(ErrorCode.QEMU_FAILED, "QEMU died while VM '" + vm.name()
                        + "' was shutting down: " + vm.record().reason());
            }
            return vm.view(true);
        } catch (TimeoutException e) {
            throw new JvirtException(ErrorCode.TIMEOUT, "VM '" + vm.name() + "' did not power off within "
                    + timeout.toSeconds() + " s; it keeps running (destroy forces it off)", Map.of("vm", vm.name()));
        } catch (QmpException e) {
            throw qemuFailed(vm, "shutdown", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new JvirtException(ErrorCode.CANCELLED, "shutdown interrupted");
        } catch (ExecutionException e) {
            throw new JvirtException(ErrorCode.INTERNAL, "shutdown failed: " + e.getCause(), Map.of(), e.getCause());
        } finally {
            clearJob(vm);
        }
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
            throw invalidState(vm, "destroy", "it is not running");
        }
        running.ifPresent(j -> j.cancel("the VM is being destroyed"));
        kill(vm, q);
        try (Job job = vm.jobs().acquire("destroy", null, Duration.ofSeconds(30))) {
            kill(vm, vm.instance()); // a start that spawned its process just before it saw the cancellation
            if (vm.state().isActive()) {
                vm.transition(VmState.SHUTOFF, "destroyed");
            }
        }
        return vm.view(true);
    }

    private static void kill(Vm vm, QemuInstance q) {
        if (q != null && q.isAlive()) {
            vm.shutdownReason("destroyed");
            q.terminate(Duration.ofSeconds(5));
        }
    }

    public VmView suspend(String name, Duration queue) {
        Vm vm = find(name);
        try (Job job = vm.jobs().acquire("suspend", null, queue)) {
            if (vm.state() != VmState.RUNNING || vm.instance() == null) {
                throw invalidState(vm, "suspend", "it is not running");
            }
            try {
                vm.instance().qmp().execute("stop");
            } catch (QmpException e) {
                throw qemuFailed(vm, "suspend", e);
            }
            vm.transitionIf(VmState.RUNNING, VmState.PAUSED, "user");
        }
        return vm.view(true);
    }

    public VmView resume(String name, Duration queue) {
        Vm vm = find(name);
        try (Job job = vm.jobs().acquire("resume", null, queue)) {
            if (retryHold(vm, job, "resume") && vm.state() == VmState.RUNNING) {
                return vm.view(true); // finishing the held switch let the guest run on (a pivot resumes it)
            }
            if (vm.state() != VmState.PAUSED || vm.instance() == null) {
                throw invalidState(vm, "resume", "it is not paused");
            }
            try {
                vm.instance().qmp().execute("cont");
            } catch (QmpException e) {
                throw qemuFailed(vm, "resume", e);
            }
            vm.transitionIf(VmState.PAUSED, VmState.RUNNING, "resumed");
        }
        return vm.view(true);
    }

    // ---- jobs of other capabilities (snapshots, block copy, migration) ---------------------------------------

    /**
     * Admits a job of another capability on the caller's thread (slot taken, {@code precheck} passed) whose work
     * runs later, typically as an operation. The job's step record is cleared when the work ends, however it ends.
     */
    public <T> PendingJob<T> prepareJob(String name, String jobName, String operationId, Duration queue,
                                        Consumer<VmJobContext> precheck, java.util.function.Function<VmJobContext, T> work) {
        Vm vm = find(name);
        for (JobAdmission a : admissions) {
            a.check(vm.name(), jobName);
        }
        Job job = vm.jobs().acquire(jobName, operationId, queue);
        VmJobContext ctx = new VmJobContext(this, vm, job);
        try {
            precheck.accept(ctx);
        } catch (RuntimeException e) {
            job.close();
            throw e;
        }
        return new PendingJob<>(job, () -> {
            try {
                return work.apply(ctx);
            } finally {
                clearJob(vm);
            }
        });
    }

    /** Runs a short job of another capability on the caller's thread, holding the VM's slot throughout. */
    public <T> T runJob(String name, String jobName, Duration queue, java.util.function.Function<VmJobContext, T> work) {
        return prepareJob(name, jobName, null, queue, ctx -> { }, work).run();
    }

    /** For a job that must restart QEMU (e.g. a snapshot revert): ends the VM's QEMU, the VM becomes shut off. */
    void stopForJob(Vm vm) {
        kill(vm, vm.instance());
        if (vm.state().isActive()) {
            vm.transition(VmState.SHUTOFF, "stopped");
        }
    }

    /** For a job that must restart QEMU: starts the VM within the job (its step record is cleared afterwards). */
    VmView startForJob(Vm vm, Job job) {
        DefinitionValidator.checkFilesStillExist(vm.definition());
        return runStart(vm, job);
    }

    /** As {@link #startForJob}, loading the guest's RAM and devices through {@code incoming} before it runs. */
    VmView startIncomingForJob(Vm vm, Job job, java.util.function.Consumer<io.jvirt.qmp.QmpClient> incoming) {
        DefinitionValidator.checkFilesStillExist(vm.definition());
        return runStart(vm, job, incoming);
    }

    /**
     * Lets a capability whose work outlives its job slot (a block copy runs for minutes or hours between its
     * start and its pivot) refuse other capabilities' jobs that would conflict with it on that VM.
     */
    public void addAdmission(JobAdmission admission) {
        admissions.add(admission);
    }

    /** Registers how to recover jobs named {@code jobName} left under way by a previous daemon. */
    public void registerRecovery(String jobName, JobRecovery recovery) {
        recoveries.put(jobName, recovery);
    }

    /** Definitions of every VM (for checks such as "which VM uses this volume"). */
    public List<VmDefinition> definitions() {
        return vms.values().stream().map(Vm::definition).toList();
    }

    /**
     * QEMU already runs these disks on these images (a pivot, an external snapshot, a merge): the definition is
     * made to say so durably, changing each disk's path and format only. Nothing else of the definition is
     * validated again: a kernel file removed since the VM started must not stop the record of where the guest's
     * writes now go. Any failure of the write is a {@link ErrorCode#DEFINITION_NOT_WRITTEN}, memory unchanged.
     */
    VmDefinition switchDisks(Vm vm, Map<String, DiskImage> images) {
        VmDefinition before = vm.definition();
        List<VmDefinition.Disk> disks = new java.util.ArrayList<>();
        java.util.Set<String> seen = new java.util.HashSet<>();
        for (VmDefinition.Disk d : before.disks()) {
            DiskImage to = images.get(d.name());
            if (to != null) {
                seen.add(d.name());
                DefinitionValidator.checkDiskFormat(to.format());
            }
            disks.add(to == null ? d : new VmDefinition.Disk(d.name(), to.path(), to.format(), d.bus(), d.readOnly()));
        }
        if (!seen.equals(images.keySet())) {
            throw new JvirtException(ErrorCode.INTERNAL, "VM '" + vm.name() + "' has no disk among " + images.keySet());
        }
        VmDefinition changed = new VmDefinition(before.name(), before.uuid(), before.memoryMiB(), before.vcpus(),
                before.machine(), before.accel(), before.emulator(), before.boot(), List.copyOf(disks), before.nics());
        try {
            DefinitionWriteFault.check();
            store.put(vm.name(), DEFINITION, changed); // durable before anyone sees it
        } catch (RuntimeException e) {
            throw new JvirtException(ErrorCode.DEFINITION_NOT_WRITTEN, "the definition of VM '" + vm.name()
                    + "' could not be written: " + e.getMessage(), Map.of("vm", vm.name()), e);
        }
        vm.redefine(changed);
        return changed;
    }

    /**
     * Holds the guest paused (see {@link GuestHold}): pauses it if it runs, and from now on resume and start
     * first run {@code retry} and are refused while it fails. The job's step record is kept so that a restarted
     * daemon hands the job to its capability's recovery.
     */
    void hold(Vm vm, String reason, java.util.function.Consumer<VmJobContext> retry) {
        vm.hold(new GuestHold(reason, Instant.now(), retry));
        log.error("VM {}: guest held paused: {}", vm.name(), reason);
        QemuInstance q = vm.instance();
        if (q != null && q.isAlive()) {
            try {
                q.qmp().execute("stop");
            } catch (QmpException e) {
                log.warn("VM {}: cannot pause the held guest: {}", vm.name(), e.getMessage());
            }
        }
        try {
            if (vm.state() == VmState.RUNNING || vm.state() == VmState.PAUSED) {
                vm.transition(VmState.PAUSED, "held");
            }
        } catch (RuntimeException e) {
            log.warn("VM {}: cannot record the held state: {}", vm.name(), e.toString());
        }
    }

    void releaseHold(Vm vm) {
        if (vm.hold() != null) {
            vm.hold(null);
            log.info("VM {}: guest no longer held", vm.name());
        }
    }

    /** A held guest: finish its switch now (within this job) or refuse. True if there was a hold, now gone. */
    private boolean retryHold(Vm vm, Job job, String action) {
        GuestHold h = vm.hold();
        if (h == null) {
            return false;
        }
        try {
            h.retry().accept(new VmJobContext(this, vm, job));
        } catch (RuntimeException e) {
            throw new JvirtException(ErrorCode.GUEST_HELD, "cannot " + action + " VM '" + vm.name() + "': " + h.reason()
                    + " (retried just now: " + e.getMessage() + ")",
                    Map.of("vm", vm.name(), "heldSince", h.since().toString()), e);
        }
        releaseHold(vm);
        clearJob(vm);
        return true;
    }

    VmDefinition replaceDefinition(Vm vm, java.util.function.UnaryOperator<VmDefinition> change) {
        VmDefinition before = vm.definition();
        VmDefinition changed = change.apply(before);
        if (!changed.name().equals(before.name()) || !changed.uuid().equals(before.uuid())) {
            throw new JvirtException(ErrorCode.INTERNAL, "a job may not change a VM's name or uuid");
        }
        VmDefinition valid = validator.validate(changed);
        store.put(vm.name(), DEFINITION, valid); // durable before anyone sees it
        vm.redefine(valid);
        return valid;
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

    /** Loads every stored VM and reconnects to the QEMUs a previous daemon left running. */
    public void loadAndRecover() {
        List<String> names = store.owners(DEFINITION);
        List<Thread> threads = new java.util.ArrayList<>();
        for (String name : names) {
            VmDefinition d = store.get(name, DEFINITION, VmDefinition.class).orElseThrow();
            VmRecord r = store.get(name, STATE, VmRecord.class).orElse(VmRecord.initial());
            Vm vm = new Vm(d, r, sink);
            vms.put(name, vm);
            threads.add(Thread.ofVirtual().name("recover-" + name).start(() -> {
                recover(vm);
                if (vm.instance() == null) {
                    releaseNics(vm); // taps a crashed or vanished QEMU left behind
                }
                resumeInterruptedJob(vm, r.job());
            }));
        }
        for (Thread t : threads) {
            try {
                t.join(Duration.ofSeconds(30));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    private void recover(Vm vm) {
        VmRecord r = vm.record();
        QemuPaths paths = paths(vm.name());
        try {
            if (r.pid() == null) {
                if (r.state() == VmState.STARTING) {
                    // We died between recording the start and recording the pid: QEMU may exist (paused, -S).
                    killOrphan(paths);
                    vm.update(x -> new VmRecord(VmState.SHUTOFF, "start-interrupted", Instant.now(), null, null, null, keptJob(x)));
                } else if (r.state().isActive()) {
                    vm.update(x -> new VmRecord(VmState.CRASHED, "no QEMU process was recorded", Instant.now(), null, null, null, keptJob(x)));
                } else if (r.job() != null && keptJob(r) == null) {
                    clearJob(vm);
                }
                return;
            }
            Optional<QemuInstance> adopted = QemuInstance.adopt(r.pid(), paths, r.startedAt());
            if (adopted.isEmpty()) {
                VmState to = r.state() == VmState.SHUTTING_DOWN || r.state() == VmState.STARTING ? VmState.SHUTOFF : VmState.CRASHED;
                String why = to == VmState.SHUTOFF ? (r.state() == VmState.STARTING ? "start-interrupted" : "shut down while jvirtd was down")
                        : "QEMU exited while jvirtd was down";
                vm.update(x -> new VmRecord(to, why, Instant.now(), null, null, null, keptJob(x)));
                return;
            }
            QemuInstance q = adopted.get();
            vm.attach(q);
            q.onExit(exit -> onQemuExit(vm, q, exit));
            q.connect(Duration.ofSeconds(10));
            bindEvents(vm, q);
            reconcile(vm, q, r);
        } catch (RuntimeException e) {
            log.error("VM {}: recovery failed", vm.name(), e);
            QemuInstance q = vm.instance();
            if (q != null && q.isAlive()) {
                vm.update(x -> new VmRecord(VmState.CRASHED, "monitor unreachable after restart: " + e.getMessage(),
                        Instant.now(), x.pid(), x.startedAt(), x.accel(), keptJob(x)));
            }
        }
    }

    /** A job record survives recovery only if a capability will finish the job (its intent must not be lost). */
    private VmRecord.JobRecord keptJob(VmRecord r) {
        return r.job() != null && recoveries.containsKey(r.job().name()) ? r.job() : null;
    }

    /** Hands a job a previous daemon left under way to the capability that registered its recovery. */
    private void resumeInterruptedJob(Vm vm, VmRecord.JobRecord interrupted) {
        if (interrupted == null) {
            return;
        }
        JobRecovery recovery = recoveries.get(interrupted.name());
        if (recovery == null) {
            return; // lifecycle jobs (start, shutdown) are reconciled by recover() itself
        }
        log.info("VM {}: recovering job {} interrupted at step {}", vm.name(), interrupted.name(), interrupted.intent());
        try (Job job = vm.jobs().acquire("recover-" + interrupted.name(), null, Duration.ofSeconds(30))) {
            recovery.recover(new VmJobContext(this, vm, job), interrupted);
        } catch (RuntimeException e) {
            log.error("VM {}: recovery of job {} failed", vm.name(), interrupted.name(), e);
        } finally {
            clearJob(vm);
        }
    }

    /** Events were missed while we were down: ask QEMU what it is doing now and act on the recorded intent. */
    private void reconcile(Vm vm, QemuInstance q, VmRecord r) {
        JsonNode status = q.qmp().execute("query-status");
        String runstate = status.path("status").asText();
        boolean startWasUnderway = r.state() == VmState.STARTING;
        log.info("VM {}: adopted QEMU {} (runstate {}, recorded {})", vm.name(), q.pid(), runstate, r.state().wire());
        switch (runstate) {
            case "running" -> vm.update(x -> new VmRecord(VmState.RUNNING, startWasUnderway ? "booted" : x.state() == VmState.RUNNING ? x.reason() : "resumed",
                    x.state() == VmState.RUNNING ? x.since() : Instant.now(), x.pid(), x.startedAt(), x.accel(), keptJob(x)));
            case "prelaunch" -> {
                if (startWasUnderway) {
                    q.qmp().execute("cont"); // the start was admitted and recorded: finish it
                    vm.update(x -> new VmRecord(VmState.RUNNING, "booted", Instant.now(), x.pid(), x.startedAt(), x.accel(), keptJob(x)));
                } else {
                    vm.update(x -> new VmRecord(VmState.PAUSED, "prelaunch", Instant.now(), x.pid(), x.startedAt(), x.accel(), keptJob(x)));
                }
            }
            case "shutdown" -> {
                vm.shutdownReason("guest-shutdown");
                vm.update(x -> new VmRecord(VmState.SHUTTING_DOWN, "guest-shutdown", Instant.now(), x.pid(), x.startedAt(), x.accel(), keptJob(x)));
                q.expectExit();
                q.qmp().submit("quit", null).exceptionally(t -> null);
            }
            case "internal-error", "guest-panicked", "io-error" ->
                    vm.update(x -> new VmRecord(VmState.CRASHED, runstate, Instant.now(), x.pid(), x.startedAt(), x.accel(), keptJob(x)));
            default -> vm.update(x -> new VmRecord(VmState.PAUSED, x.state() == VmState.PAUSED ? x.reason() : runstate,
                    x.state() == VmState.PAUSED ? x.since() : Instant.now(), x.pid(), x.startedAt(), x.accel(), keptJob(x)));
        }
    }

    private void killOrphan(QemuPaths paths) {
        try {
            if (!Files.exists(paths.pidFile())) {
                return;
            }
            long pid = Long.parseLong(Files.readString(paths.pidFile()).strip());
            QemuInstance.adopt(pid, paths, Instant.now()).ifPresent(q -> {
                log.warn("killing QEMU {} left from an interrupted start", pid);
                q.terminate(Duration.ofSeconds(5));
            });
        } catch (java.io.IOException | NumberFormatException e) {
            log.debug("no orphan QEMU to kill: {}", e.toString());
        }
    }

    // ---- helpers -------------------------------------------------------------------------------------------

    public QemuPaths paths(String name) {
        return new QemuPaths(config.runDir().resolve(name), store.ownerDir(name));
    }

    private void deleteRunDir(String name) {
        Path dir = config.runDir().resolve(name);
        try (var files = Files.list(dir)) {
            for (Path f : files.toList()) {
                Files.deleteIfExists(f);
            }
            Files.deleteIfExists(dir);
        } catch (java.io.IOException e) {
            log.debug("cannot clean {}: {}", dir, e.toString());
        }
    }

    private void releaseNics(Vm vm) {
        try {
            nicPlumbing.release(vm.name());
        } catch (RuntimeException e) {
            log.warn("VM {}: cannot remove its taps: {}", vm.name(), e.getMessage());
        }
    }

    private static QemuLaunchSpec toSpec(VmDefinition d, Accelerator accel, List<QemuLaunchSpec.Nic> nics) {
        QemuLaunchSpec.DirectBoot boot = d.boot() == null ? null : new QemuLaunchSpec.DirectBoot(
                d.boot().kernel() == null ? null : Path.of(d.boot().kernel()),
                d.boot().initrd() == null ? null : Path.of(d.boot().initrd()),
                d.boot().cmdline());
        return new QemuLaunchSpec(d.name(), d.uuid(), Path.of(d.emulator()), d.machine(), accel, d.memoryMiB(), d.vcpus(),
                boot,
                d.disks().stream().map(x -> new QemuLaunchSpec.Disk(x.name(), Path.of(x.path()), x.format(), x.bus(),
                        Boolean.TRUE.equals(x.readOnly()))).toList(),
                nics);
    }

    private static VmRecord.JobRecord jobRecord(Job job, String intent) {
        return new VmRecord.JobRecord(job.name(), job.operationId(), job.since(), intent);
    }

    private static void clearJob(Vm vm) {
        if (vm.hold() != null) {
            return; // the held job's step record is what brings the hold back after a restart
        }
        vm.update(r -> r.job() == null ? r : new VmRecord(r.state(), r.reason(), r.since(), r.pid(), r.startedAt(), r.accel(), null));
    }

    private static JvirtException invalidState(Vm vm, String action, String hint) {
        return new JvirtException(ErrorCode.INVALID_STATE, "cannot " + action + " VM '" + vm.name() + "': it is "
                + vm.state().wire() + " (" + hint + ")", Map.of("vm", vm.name(), "state", vm.state().wire()));
    }

    private static JvirtException qemuFailed(Vm vm, String action, QmpException e) {
        String msg = e instanceof QmpConnectionClosedException ? "QEMU is gone" : e.getMessage();
        return new JvirtException(ErrorCode.QEMU_FAILED, action + " of VM '" + vm.name() + "' failed: " + msg, Map.of(), e);
    }
}
