package io.jvirt.migration;

import io.jvirt.qemu.monitor.MigrationCapability;
import io.jvirt.qemu.monitor.Monitor;
import io.jvirt.qemu.monitor.MonitorException;
import io.jvirt.tls.TlsDir;
import io.jvirt.vm.VmJobContext;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;

/**
 * The source QEMU's own migration settings (capabilities and its TLS client object), made on a virtual thread of
 * their own while the destination starts its QEMU: none of them needs the destination's Prepare answer (the
 * parameters naming the destination are set after it). Measured: the Prepare round trip and this setup no longer
 * add up (bench/README.md). A failed Prepare waits for it, then rolls back as before (the TLS object is deleted).
 */
final class SourceSetup {
    private final CompletableFuture<Void> done = new CompletableFuture<>();

    private SourceSetup() {
    }

    static SourceSetup start(VmJobContext ctx, Monitor m, TlsDir tlsDir, boolean storage, boolean autoConverge,
                             boolean postcopy, boolean multifd, Runnable then) {
        SourceSetup s = new SourceSetup();
        Thread.ofVirtual().name("migration-setup-" + ctx.vmName()).start(() -> {
            try {
                Map<MigrationCapability, Boolean> caps = new LinkedHashMap<>();
                caps.put(MigrationCapability.EVENTS, true);
                // only storage copies need the stop before the switch-over (libvirt's race); without them it would
                // only add a round trip to the guest's downtime (measured: +26 ms on an idle guest)
                caps.put(MigrationCapability.PAUSE_BEFORE_SWITCHOVER, storage);
                caps.put(MigrationCapability.AUTO_CONVERGE, autoConverge);
                if (postcopy) {
                    caps.put(MigrationCapability.POSTCOPY_RAM, true); // the destination sets it too (Prepare)
                }
                if (multifd) {
                    caps.put(MigrationCapability.MULTIFD, true); // so does the destination, with the same channels
                }
                m.migration().migrateSetCapabilities(caps);
                addTls(ctx, m, tlsDir);
                then.run();
                s.done.complete(null);
            } catch (Throwable t) {
                s.done.completeExceptionally(t);
            }
        });
        return s;
    }

    /** The host's credentials, granted to this VM's QEMU only while it loads them (QemuTlsFiles). */
    private static void addTls(VmJobContext ctx, Monitor m, TlsDir tlsDir) {
        try {
            m.migration().objectDel(MigrationSource.TLS_ID); // one a failed earlier attempt left
        } catch (MonitorException e) {
            // none: the usual case
        }
        QemuTlsFiles.withStaged(ctx, tlsDir, dir -> m.migration().addTlsCreds(MigrationSource.TLS_ID, dir, false));
    }

    /** Waits for the setup to end, whatever its outcome (before a rollback touches the same QEMU). */
    void awaitQuietly() {
        boolean interrupted = false;
        while (true) {
            try {
                done.get();
                break;
            } catch (InterruptedException e) {
                interrupted = true;
            } catch (ExecutionException e) {
                break;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    /** Waits for the setup; throws its failure. */
    void await() {
        try {
            done.join();
        } catch (CompletionException e) {
            if (e.getCause() instanceof RuntimeException re) {
                throw re;
            }
            if (e.getCause() instanceof Error err) {
                throw err;
            }
            throw e;
        }
    }

    static void joinUninterruptibly(Thread t) {
        boolean interrupted = false;
        while (true) {
            try {
                t.join();
                break;
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }
}
