package io.jvirt.vm;

import io.jvirt.error.ErrorCode;
import io.jvirt.error.JvirtException;
import io.jvirt.qemu.Accelerator;
import io.jvirt.qemu.QemuExit;
import io.jvirt.qemu.QemuInstance;
import io.jvirt.qemu.QemuLaunchSpec;
import io.jvirt.qemu.QemuPaths;
import io.jvirt.qemu.QemuStartException;
import io.jvirt.qemu.monitor.Monitor;
import io.jvirt.qemu.monitor.MonitorClosedException;
import io.jvirt.qemu.monitor.MonitorEvent;
import io.jvirt.qemu.monitor.MonitorException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A VM's QEMU process: starting it, shutting it down, ending it, and mapping its events (RESUME, STOP, SHUTDOWN)
 * and its exit onto the VM's states. Runs within the VM's job; holds no lock across a QMP call or a start.
 */
record VmProcesses(VmManager.Config config, Function<String, QemuPaths> paths, java.util.function.Supplier<NicPlumbing> nics,
                   java.util.function.Supplier<Confinement> confinement) {
    private static final Logger log = LoggerFactory.getLogger(VmProcesses.class);

    /**
     * {@code incoming} null: a normal start. Otherwise QEMU starts with {@code -incoming defer} and {@code incoming}
     * gets its monitor to load the guest's state (migrate-incoming) before the vCPUs are let go.
     */
    VmView start(Vm vm, Job job, Consumer<Monitor> incoming) {
        VmDefinition d = vm.definition();
        Accelerator accel = "auto".equals(d.accel()) ? config.defaultAccel() : Accelerator.parse(d.accel());
        vm.update(r -> r.withState(VmState.STARTING, "start").withoutProcess().withAccel(accel.qemuName())
                .withJob(new VmRecord.JobRecord(job.name(), job.operationId(), job.since(), "start")));
        QemuInstance q;
        try {
            Confinement.Launch launch = ConfinedStart.prepare(confinement.get(), d, paths.apply(vm.name()));
            QemuLaunchSpec spec = toSpec(d, accel, nics.get().prepare(d), launch); // taps for QEMU's uid
            q = QemuInstance.spawn(incoming == null ? spec : spec.withIncomingDefer(), paths.apply(vm.name()));
        } catch (QemuStartException | JvirtException e) {
            releaseNics(vm);
            ConfinedStart.release(confinement.get(), vm.name());
            vm.update(r -> r.withState(VmState.SHUTOFF, "start-failed").withoutProcess().withJob(null));
            if (e instanceof JvirtException je) {
                throw je;
            }
            throw new JvirtException(ErrorCode.QEMU_FAILED, "cannot start VM '" + vm.name() + "': " + e.getMessage(), Map.of(), e);
        }
        attach(vm, q);
        vm.update(r -> r.withProcess(q.pid(), q.startedAt()));
        try {
            job.throwIfCancelled();
            q.connect(config.startTimeout(), config.capabilities());
            bindEvents(vm, q);
            job.throwIfCancelled();
            if (incoming != null) {
                incoming.accept(q.monitor());
            }
            q.monitor().cont();
            vm.transitionIf(VmState.STARTING, VmState.RUNNING, "booted");
            vm.clearJob();
            return vm.view(true);
        } catch (RuntimeException e) {
            if (q.isAlive()) {
                q.terminate(Duration.ofSeconds(5));
            }
            vm.clearJob();
            if (e instanceof JvirtException je) {
                throw je;
            }
            String why = e instanceof MonitorClosedException ? "QEMU exited during start-up" : e.getMessage();
            throw new JvirtException(ErrorCode.QEMU_FAILED, "cannot start VM '" + vm.name() + "': " + why, Map.of(), e);
        }
    }

    /** The VM runs on {@code q} from now on; its exit moves the VM's state. */
    void attach(Vm vm, QemuInstance q) {
        vm.attach(q);
        q.onExit(exit -> onQemuExit(vm, q, exit));
    }

    /** Maps QEMU's events onto VM states. Handlers run on the monitor's event thread, one at a time, in order. */
    void bindEvents(Vm vm, QemuInstance q) {
        Monitor monitor = q.monitor();
        monitor.on(MonitorEvent.RESUME, e -> {
            if (vm.instance() == q && !vm.transitionIf(VmState.PAUSED, VmState.RUNNING, "resumed")) {
                vm.transitionIf(VmState.STARTING, VmState.RUNNING, "booted");
            }
        });
        monitor.on(MonitorEvent.STOP, e -> {
            if (vm.instance() == q) {
                // The reason names who paused: the user (suspend), a job of ours (e.g. "snapshot"), or QEMU itself.
                String reason = vm.jobs().current()
                        .map(j -> j.name().equals(LifecycleJob.SUSPEND.wire()) ? "user" : j.name()).orElse("stopped");
                vm.transitionIf(VmState.RUNNING, VmState.PAUSED, reason);
            }
        });
        monitor.on(MonitorEvent.SHUTDOWN, e -> onShutdownEvent(vm, q, e));
    }

    /**
     * With -no-shutdown QEMU stays alive when the guest powers off and tells us with SHUTDOWN; we then end the
     * process ourselves, so a guest power-off is told apart from a crash.
     */
    private static void onShutdownEvent(Vm vm, QemuInstance q, MonitorEvent.Shutdown e) {
        String reason = e.reason();
        if (vm.instance() != q || reason.startsWith("host-")) {
            return; // host-qmp-quit / host-signal: we asked for it; the exit handler records it
        }
        vm.shutdownReason(reason);
        if (vm.state().isActive()) {
            vm.transition(VmState.SHUTTING_DOWN, reason);
        }
        q.expectExit();
        q.monitor().quit();
    }

    /** Removes the VM's taps (after its QEMU ended or failed to start); a failure is only logged. */
    void releaseNics(Vm vm) {
        try {
            nics.get().release(vm.name());
        } catch (RuntimeException e) {
            log.warn("VM {}: cannot remove its taps: {}", vm.name(), e.getMessage());
        }
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
        ConfinedStart.release(confinement.get(), vm.name());
        vm.updateTruthfully(r -> r.withState(to, reason).withoutProcess());
    }

    /**
     * A graceful shutdown: ACPI power button (or {@code request}, e.g. the guest agent's shutdown, when not null),
     * then wait for the guest to power off. A paused guest handles the request when it is resumed (as with
     * libvirt), so the job may wait for its whole timeout.
     */
    VmView shutdown(Vm vm, Job job, Duration timeout, Runnable request) {
        QemuInstance q = vm.instance();
        if (q == null) {
            throw VmErrors.invalidState(vm, "shut down", "it is not running");
        }
        vm.recordJob(job, "powerdown");
        try {
            if (request == null) {
                q.monitor().systemPowerdown();
            } else {
                request.run();
            }
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
        } catch (MonitorException e) {
            throw VmErrors.qemuFailed(vm, "shutdown", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new JvirtException(ErrorCode.CANCELLED, "shutdown interrupted");
        } catch (ExecutionException e) {
            throw new JvirtException(ErrorCode.INTERNAL, "shutdown failed: " + e.getCause(), Map.of(), e.getCause());
        } finally {
            vm.clearJob();
        }
    }

    /** SIGTERM, then SIGKILL after 5 s; the exit handler records why ({@code destroyed}). */
    /** Pauses or resumes the vCPUs of a VM in state {@code from}; the VM is then in {@code to} for {@code reason}. */
    static void switchVcpus(Vm vm, String action, VmState from, String hint, Consumer<Monitor> command, VmState to,
                            String reason) {
        if (vm.state() != from || vm.instance() == null) {
            throw VmErrors.invalidState(vm, action, hint);
        }
        try {
            command.accept(vm.instance().monitor());
        } catch (MonitorException e) {
            throw VmErrors.qemuFailed(vm, action, e);
        }
        vm.transitionIf(from, to, reason);
    }

    static void kill(Vm vm, QemuInstance q) {
        if (q != null && q.isAlive()) {
            vm.shutdownReason("destroyed");
            q.terminate(Duration.ofSeconds(5));
        }
    }

    /** The VM runs on another host now: its QEMU here is ended (reason {@code migrated}), and waited for. */
    static void endMigrated(Vm vm) {
        QemuInstance q = vm.instance();
        if (q != null && q.isAlive()) {
            vm.shutdownReason("migrated");
            q.terminate(Duration.ofSeconds(5));
            try {
                q.exited().get(10, java.util.concurrent.TimeUnit.SECONDS);
            } catch (Exception e) {
                log.warn("VM {}: QEMU did not end after the migration: {}", vm.name(), e.toString());
            }
        }
    }

    /** For a job that must restart QEMU (e.g. a snapshot revert): ends the VM's QEMU, the VM becomes shut off. */
    static void stopForJob(Vm vm) {
        kill(vm, vm.instance());
        if (vm.state().isActive()) {
            vm.transition(VmState.SHUTOFF, "stopped");
        }
    }

    private static QemuLaunchSpec toSpec(VmDefinition d, Accelerator accel, java.util.List<QemuLaunchSpec.Nic> nics,
                                         Confinement.Launch launch) {
        return LaunchSpecs.of(d, accel, nics, launch.blockdevs()).withConfined(launch.confined());
    }
}
