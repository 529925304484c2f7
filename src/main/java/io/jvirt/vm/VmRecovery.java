package io.jvirt.vm;

import io.jvirt.qemu.QemuInstance;
import io.jvirt.qemu.QemuPaths;
import io.jvirt.qemu.monitor.CapabilityCache;
import io.jvirt.qemu.monitor.MonitorEvent;
import io.jvirt.qemu.monitor.RunState;
import java.nio.file.Files;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * After a daemon restart: reconnects each VM to the QEMU a previous daemon left running (or records that it is
 * gone), asks QEMU what it is doing now (events were missed), and hands a job left under way to the capability
 * that registered its recovery.
 */
record VmRecovery(VmManager manager, VmProcesses processes, Function<String, QemuPaths> paths, Map<String, JobRecovery> recoveries, CapabilityCache capabilities) {
    private static final Logger log = LoggerFactory.getLogger(VmRecovery.class);

    /**
     * Reconciles the VM on a virtual thread of its own while {@code slot} (its job slot, taken by the caller) is
     * held, then releases it and hands a job a previous daemon left under way to its capability's recovery.
     * The future completes when all of that is done, however it ended.
     */
    java.util.concurrent.CompletableFuture<Void> reconcileInBackground(Vm vm, Job slot) {
        VmRecord.JobRecord interrupted = vm.record().job();
        java.util.concurrent.CompletableFuture<Void> done = new java.util.concurrent.CompletableFuture<>();
        Thread.ofVirtual().name("recover-" + vm.name()).start(() -> {
            try {
                try {
                    recover(vm);
                    if (vm.instance() == null) {
                        processes.releaseNics(vm); // taps a crashed or vanished QEMU left behind
                    }
                } finally {
                    slot.close();
                }
                resumeInterruptedJob(vm, interrupted);
            } catch (RuntimeException e) {
                log.error("VM {}: recovery failed", vm.name(), e);
            } finally {
                done.complete(null);
            }
        });
        return done;
    }

    void recover(Vm vm) {
        VmRecord r = vm.record();
        QemuPaths p = paths.apply(vm.name());
        try {
            if (r.pid() == null) {
                if (r.state() == VmState.STARTING) {
                    // We died between recording the start and recording the pid: QEMU may exist (paused, -S).
                    killOrphan(p, vm.definition().emulator());
                    vm.update(x -> x.withState(VmState.SHUTOFF, "start-interrupted").withoutProcess().withJob(keptJob(x)));
                } else if (r.state().isActive()) {
                    vm.update(x -> x.withState(VmState.CRASHED, "no QEMU process was recorded").withoutProcess()
                            .withJob(keptJob(x)));
                } else if (r.job() != null && keptJob(r) == null) {
                    vm.clearJob();
                }
                return;
            }
            Optional<QemuInstance> adopted = QemuInstance.adopt(r.pid(), p, r.startedAt(), vm.definition().emulator());
            if (adopted.isEmpty()) {
                VmState to = r.state() == VmState.SHUTTING_DOWN || r.state() == VmState.STARTING ? VmState.SHUTOFF : VmState.CRASHED;
                String why = to == VmState.SHUTOFF ? (r.state() == VmState.STARTING ? "start-interrupted" : "shut down while jvirtd was down")
                        : "QEMU exited while jvirtd was down";
                vm.update(x -> x.withState(to, why).withoutProcess().withJob(keptJob(x)));
                return;
            }
            QemuInstance q = adopted.get();
            processes.attach(vm, q);
            q.connect(Duration.ofSeconds(10), capabilities);
            processes.bindEvents(vm, q);
            reconcile(vm, q, r);
        } catch (RuntimeException e) {
            log.error("VM {}: recovery failed", vm.name(), e);
            QemuInstance q = vm.instance();
            if (q != null && q.isAlive()) {
                vm.update(x -> x.withState(VmState.CRASHED, "monitor unreachable after restart: " + e.getMessage())
                        .withJob(keptJob(x)));
            }
        }
    }

    /** A job record survives recovery only if a capability will finish the job (its intent must not be lost). */
    private VmRecord.JobRecord keptJob(VmRecord r) {
        return r.job() != null && recoveries.containsKey(r.job().name()) ? r.job() : null;
    }

    /** Hands a job a previous daemon left under way to the capability that registered its recovery. */
    void resumeInterruptedJob(Vm vm, VmRecord.JobRecord interrupted) {
        if (interrupted == null) {
            return;
        }
        JobRecovery recovery = recoveries.get(interrupted.name());
        if (recovery == null) {
            return; // lifecycle jobs (start, shutdown) are reconciled by recover() itself
        }
        log.info("VM {}: recovering job {} interrupted at step {}", vm.name(), interrupted.name(), interrupted.intent());
        try (Job job = vm.jobs().acquire("recover-" + interrupted.name(), null, Duration.ofSeconds(30))) {
            recovery.recover(new VmJobContext(manager, vm, job), interrupted);
        } catch (RuntimeException e) {
            log.error("VM {}: recovery of job {} failed", vm.name(), interrupted.name(), e);
        } finally {
            vm.clearJob();
        }
    }

    /** Events were missed while we were down: ask QEMU what it is doing now and act on the recorded intent. */
    private void reconcile(Vm vm, QemuInstance q, VmRecord r) {
        RunState runstate = q.monitor().queryStatus().status();
        boolean startWasUnderway = r.state() == VmState.STARTING;
        log.info("VM {}: adopted QEMU {} (runstate {}, recorded {})", vm.name(), q.pid(), runstate.wire(), r.state().wire());
        switch (runstate) {
            case RUNNING -> vm.update(x -> x.withState(VmState.RUNNING,
                    startWasUnderway ? "booted" : x.state() == VmState.RUNNING ? x.reason() : "resumed",
                    x.state() == VmState.RUNNING ? x.since() : Instant.now()).withJob(keptJob(x)));
            case PRELAUNCH -> {
                if (startWasUnderway) {
                    q.monitor().cont(); // the start was admitted and recorded: finish it
                    vm.update(x -> x.withState(VmState.RUNNING, "booted").withJob(keptJob(x)));
                } else {
                    vm.update(x -> x.withState(VmState.PAUSED, "prelaunch").withJob(keptJob(x)));
                }
            }
            case SHUTDOWN -> {
                vm.shutdownReason(MonitorEvent.GUEST_SHUTDOWN);
                vm.update(x -> x.withState(VmState.SHUTTING_DOWN, MonitorEvent.GUEST_SHUTDOWN).withJob(keptJob(x)));
                q.expectExit();
                q.monitor().quit();
            }
            case INTERNAL_ERROR, GUEST_PANICKED, IO_ERROR ->
                    vm.update(x -> x.withState(VmState.CRASHED, runstate.wire()).withJob(keptJob(x)));
            default -> vm.update(x -> x.withState(VmState.PAUSED, x.state() == VmState.PAUSED ? x.reason() : runstate.wire(),
                    x.state() == VmState.PAUSED ? x.since() : Instant.now()).withJob(keptJob(x)));
        }
    }

    private static void killOrphan(QemuPaths p, String emulator) {
        try {
            if (!Files.exists(p.pidFile())) {
                return;
            }
            long pid = Long.parseLong(Files.readString(p.pidFile()).strip());
            QemuInstance.adopt(pid, p, null, emulator).ifPresent(q -> {
                log.warn("killing QEMU {} left from an interrupted start", pid);
                q.terminate(Duration.ofSeconds(5));
            });
        } catch (java.io.IOException | NumberFormatException e) {
            log.debug("no orphan QEMU to kill: {}", e.toString());
        }
    }
}
