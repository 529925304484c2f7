package io.jvirt.migration;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.jvirt.error.ErrorCode;
import io.jvirt.error.JvirtException;
import io.jvirt.storage.QemuImg;
import io.jvirt.store.DocumentStore;
import io.jvirt.tls.TlsDir;
import io.jvirt.vm.PendingJob;
import io.jvirt.vm.VmManager;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;

/**
 * Live migration between hosts (docs/migration.md): the source's side as a job of the VM ({@link MigrationSource}),
 * the destination's side behind the peer routes ({@link MigrationTarget}), recovery after a restart of either
 * daemon ({@link MigrationRecovery}).
 */
public final class MigrationService {
    private final VmManager vms;
    private final MigrationRecords records;
    private final PeerConnector connector;
    private final MigrationSource source;
    private final MigrationTarget target;
    private final List<Consumer<MigrationProgress>> listeners = new CopyOnWriteArrayList<>();
    private final Map<String, PendingJob<MigrationProgress>> outgoing = new ConcurrentHashMap<>();
    private final Map<String, MigrationProgress> lastProgress = new ConcurrentHashMap<>();

    /**
     * @param tlsDir      this host's TLS files (its host certificate is its identity to peers and QEMU's), or null
     * @param copyDir     where copied disks of incoming migrations are created (the default pool)
     * @param peerTimeout a silent peer is lost after this long
     */
    public MigrationService(VmManager vms, DocumentStore store, TlsDir tlsDir, ObjectMapper mapper, Path copyDir,
                            Duration peerTimeout) {
        this.vms = vms;
        this.records = new MigrationRecords(store);
        this.connector = new PeerConnector(tlsDir, mapper, peerTimeout);
        this.source = new MigrationSource(records, connector, vms.jobProgress(), p -> {
            lastProgress.put(p.vm(), p);
            listeners.forEach(l -> l.accept(p));
        }, new io.jvirt.vm.ConsoleHistory(vms));
        this.target = new MigrationTarget(vms, records, connector, copyDir, new QemuImg(), new io.jvirt.vm.ConsoleHistory(vms));
    }

    /**
     * The definition of what a running VM's QEMU really has (hotplug's {@code liveDefinition}): the destination is
     * started from it, with the same plugged devices on the same ports.
     */
    public void setLiveDefinitions(java.util.function.Function<String, java.util.Optional<io.jvirt.vm.VmDefinition>> f) {
        source.liveDefinitions(f);
    }

    public void addListener(Consumer<MigrationProgress> l) {
        listeners.add(l);
    }

    // ---- source ---------------------------------------------------------------------------------------------------

    /** Admits a migration of {@code vm} on the caller's thread (Begin: checks, peer connected); run() migrates. */
    public PendingJob<MigrationProgress> prepare(String vm, MigrationRequest req, String operationId, Duration queue) {
        PendingJob<MigrationProgress>[] self = new PendingJob[1];
        PendingJob<MigrationProgress> job = vms.prepareJob(vm, MigrationJob.OUTGOING, operationId, queue,
                ctx -> source.begin(ctx, operationId, req), (ctx, plan) -> {
                    try {
                        return source.run(ctx, plan);
                    } catch (JvirtException e) {
                        if ("unknown".equals(e.details().get("outcome"))
                                && records.outgoing(vm).filter(r -> r.phase().startsWith("postcopy-")).isPresent()) {
                            // past the switch: see the post-copy through as after a restart (never resume here)
                            new PostcopyRecovery(vms, records, connector).finishLater(vm);
                        } else if ("unknown".equals(e.details().get("outcome"))) {
                            Thread.ofVirtual().name("migration-unknown-" + vm).start(() ->
                                    new MigrationRecovery(vms, records, connector, target)
                                            .settleUnknown(vm, Duration.ofSeconds(2), Duration.ofHours(1)));
                        }
                        throw e;
                    } finally {
                        outgoing.remove(vm, self[0]);
                    }
                });
        self[0] = job;
        outgoing.put(vm, job);
        return job;
    }

    /** Cancels the migration of {@code vm} under way (before Finish; after it the migration completes). */
    public MigrationProgress cancel(String vm) {
        PendingJob<MigrationProgress> job = outgoing.get(vm);
        if (job == null) {
            throw new JvirtException(ErrorCode.NOT_FOUND, "VM '" + vm + "' is not migrating", Map.of("vm", vm));
        }
        PostcopySource pc = source.postcopyOrNull(vm);
        if (pc != null && pc.requested()) {
            throw new JvirtException(ErrorCode.INVALID_STATE, "the migration of VM '" + vm + "' is in post-copy: it can no"
                    + " longer be cancelled (the destination holds the guest's RAM); a paused one is recovered with"
                    + " migrate --resume", Map.of("vm", vm));
        }
        job.cancel("cancelled by the user");
        return lastProgress.get(vm);
    }

    /** Asks the migration of {@code vm} under way to switch to post-copy now ({@code migrate-postcopy}). */
    public MigrationProgress startPostcopy(String vm) {
        source.postcopy(vm).askSwitch();
        return lastProgress.get(vm);
    }

    /** Asks the migration of {@code vm}, a post-copy paused by a broken link, to recover ({@code migrate --resume}). */
    public MigrationProgress resumePostcopy(String vm) {
        source.postcopy(vm).askResume();
        return lastProgress.get(vm);
    }

    /** The migration of {@code vm} under way or last seen here. */
    public Optional<MigrationProgress> progress(String vm) {
        vms.get(vm);
        return Optional.ofNullable(lastProgress.get(vm));
    }

    // ---- destination (peer routes) ------------------------------------------------------------------------------

    public PeerMessages.Prepared prepareIncoming(PeerMessages.Prepare req, String localAddress) {
        if (connector.tlsDir() == null) {
            throw new JvirtException(ErrorCode.INVALID_STATE, "this jvirtd has no TLS directory: it cannot take migrations");
        }
        return target.prepare(req, localAddress, Duration.ofSeconds(60));
    }

    public PeerMessages.Phase ping(String id) {
        return target.phase(id);
    }

    public PeerMessages.Phase phase(String id) {
        return target.phase(id);
    }

    public PeerMessages.Phase finish(String id, PeerMessages.Finish body) {
        return target.finish(id, Duration.ofSeconds(60), body);
    }

    /** Console history of the VM from the source (Prepare's), appended here before the guest runs. */
    public void console(String id, PeerMessages.ConsoleChunk chunk) {
        target.console(id, chunk);
    }

    public PeerMessages.Recovering recover(String id, String localAddress) {
        return target.recover(id, localAddress);
    }

    public void confirmed(String id) {
        target.confirmed(id);
    }

    public PeerMessages.Phase abort(String id, String why) {
        return target.abort(id, why);
    }

    /** The connection that carried migration {@code id}'s peer requests closed. */
    public void connectionClosed(String id) {
        target.connectionClosed(id);
    }

    // ---- recovery -----------------------------------------------------------------------------------------------

    /** After {@code vms.startRecovery()} completed: finishes or rolls back what a previous daemon left (both sides). */
    public void recoverAll() {
        new MigrationRecovery(vms, records, connector, target).recoverAll();
    }
}
