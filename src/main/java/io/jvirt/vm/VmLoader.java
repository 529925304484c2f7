package io.jvirt.vm;

import io.jvirt.qemu.ProcessInfo;
import io.jvirt.qemu.QemuPaths;
import io.jvirt.store.DocumentStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads one VM's documents at start. A document that cannot be used (corrupt JSON, unknown fields, a definition
 * naming another VM) is moved to the store's quarantine and logged, and the daemon goes on with the other VMs:
 * <ul>
 *   <li>a bad <b>definition</b>: the VM is not loaded (its QEMU, if one runs, is left alone, unmanaged);</li>
 *   <li>a bad <b>state</b> record: the VM is loaded, its state rebuilt from the run directory's pid file when that
 *       pid still runs this VM's QEMU (recovery then adopts and asks it), else shut off.</li>
 * </ul>
 */
final class VmLoader {
    private static final Logger log = LoggerFactory.getLogger(VmLoader.class);

    private VmLoader() {
    }

    static Optional<Vm> load(DocumentStore store, String name, Function<String, QemuPaths> paths, Vm.VmStateSink sink) {
        Optional<VmDefinition> d;
        try {
            d = store.readOrQuarantine(name, VmManager.DEFINITION, VmDefinition.class, (where, why) ->
                    log.error("VM {}: definition quarantined to {} ({}); the VM is not loaded", name, where, why));
            if (d.isPresent() && !name.equals(d.get().name())) {
                Path where = store.quarantine(name, VmManager.DEFINITION, "names VM '" + d.get().name()
                        + "' but is stored as '" + name + "'");
                log.error("VM {}: definition names '{}'; quarantined to {}", name, d.get().name(), where);
                d = Optional.empty();
            }
        } catch (RuntimeException e) {
            log.error("VM {}: definition unreadable and not quarantined; skipped", name, e);
            return Optional.empty();
        }
        if (d.isEmpty()) {
            return Optional.empty();
        }
        boolean[] bad = {false};
        Optional<VmRecord> r;
        try {
            r = store.readOrQuarantine(name, VmManager.STATE, VmRecord.class, (where, why) -> {
                bad[0] = true;
                log.error("VM {}: state record quarantined to {} ({}); rebuilt from its run directory", name, where, why);
            });
        } catch (RuntimeException e) {
            log.error("VM {}: state record unreadable and not quarantined", name, e);
            bad[0] = true;
            r = Optional.empty();
        }
        VmRecord record = r.orElseGet(() -> bad[0] ? fromRunDir(paths.apply(name)) : VmRecord.initial());
        return Optional.of(new Vm(d.get(), record, sink));
    }

    /** A lost state record: a QEMU of this VM that still runs (pid file, command line) is running, else shutoff. */
    private static VmRecord fromRunDir(QemuPaths p) {
        try {
            if (Files.isRegularFile(p.pidFile())) {
                long pid = Long.parseLong(Files.readString(p.pidFile()).strip());
                if (ProcessInfo.isOurs(pid, p.qmpSocket().toString())) {
                    return VmRecord.initial().withState(VmState.RUNNING, "state record quarantined")
                            .withProcess(pid, ProcessInfo.startTime(pid).orElse(null));
                }
            }
        } catch (java.io.IOException | NumberFormatException e) {
            log.debug("no pid in {}: {}", p.pidFile(), e.toString());
        }
        return VmRecord.initial().withState(VmState.SHUTOFF, "state record quarantined");
    }

    /** A VM's run directory (sockets, pid file) once the VM is gone from this host. */
    static void deleteRunDir(java.nio.file.Path dir) {
        try (var files = java.nio.file.Files.list(dir)) {
            for (java.nio.file.Path f : files.toList()) {
                java.nio.file.Files.deleteIfExists(f);
            }
            java.nio.file.Files.deleteIfExists(dir);
        } catch (java.io.IOException e) {
            org.slf4j.LoggerFactory.getLogger(VmLoader.class).debug("cannot clean {}: {}", dir, e.toString());
        }
    }
}
