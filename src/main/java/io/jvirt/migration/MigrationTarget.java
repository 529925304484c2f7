package io.jvirt.migration;

import io.jvirt.error.ErrorCode;
import io.jvirt.error.Fault;
import io.jvirt.error.JvirtException;
import io.jvirt.qemu.monitor.BlockGraph;
import io.jvirt.qemu.monitor.Feature;
import io.jvirt.qemu.monitor.MigrationCapability;
import io.jvirt.qemu.monitor.MigrationParameters;
import io.jvirt.qemu.monitor.MigrationStatus;
import io.jvirt.qemu.monitor.Monitor;
import io.jvirt.qemu.monitor.QemuMigration;
import io.jvirt.storage.QemuImg;
import io.jvirt.vm.PendingJob;
import io.jvirt.vm.VmDefinition;
import io.jvirt.vm.VmManager;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The destination's side (Prepare and Finish): defines the VM, starts its QEMU waiting for the migration, exports
 * copied disks over NBD, and lets the guest run only when the source says Finish. Until then the source owns the
 * VM: a lost peer (silence over the bound, or the close of the connection that carried the migration) or an Abort
 * destroys the QEMU, undefines the VM and deletes the images made for it.
 */
final class MigrationTarget {
    private static final Logger log = LoggerFactory.getLogger(MigrationTarget.class);
    static final String TLS_ID = "jvirt-migration-tls";

    private final VmManager vms;
    private final MigrationRecords records;
    private final PeerConnector tls;
    private final Path copyDir;
    private final QemuImg qemuImg;
    private final io.jvirt.vm.ConsoleHistory console;
    private final Map<String, IncomingMigration> byId = new ConcurrentHashMap<>();

    MigrationTarget(VmManager vms, MigrationRecords records, PeerConnector tls, Path copyDir, QemuImg qemuImg,
                    io.jvirt.vm.ConsoleHistory console) {
        this.console = console;
        this.vms = vms;
        this.records = records;
        this.tls = tls;
        this.copyDir = copyDir;
        this.qemuImg = qemuImg;
    }

    IncomingMigration find(String id) {
        IncomingMigration in = byId.get(id);
        if (in == null) {
            throw new JvirtException(ErrorCode.NOT_FOUND, "no incoming migration " + id + " on this host", Map.of("id", id));
        }
        return in;
    }

    /** Phase of migration {@code id} here; a finished one is found in its VM's record even after a restart. */
    PeerMessages.Phase phase(String id) {
        IncomingMigration in = byId.get(id);
        if (in != null) {
            in.heard();
            boolean lost = in.postcopy != null && in.postcopy.qemuExited();
            return new PeerMessages.Phase(id, in.req.definition().name(), lost ? "lost" : in.phase, null);
        }
        return records.incomingById(id).map(r -> new PeerMessages.Phase(id, r.vm(), r.phase(), null))
                .orElseThrow(() -> new JvirtException(ErrorCode.NOT_FOUND, "no migration " + id + " on this host (never"
                        + " prepared, or aborted)", Map.of("id", id)));
    }

    /**
     * Prepare: refuses what this host cannot take (changing nothing), then defines the VM and starts its QEMU in
     * a job of its own, and answers once QEMU listens. {@code localAddress}: where the source reached us, so
     * where QEMU listens.
     */
    PeerMessages.Prepared prepare(PeerMessages.Prepare req, String localAddress, Duration timeout) {
        long since = System.nanoTime();
        VmDefinition d = req.definition();
        PrepareChecks.checkHostable(vms, qemuImg, req);
        Map<String, String> mapped = new LinkedHashMap<>();
        List<String> created = new ArrayList<>();
        for (PeerMessages.CopiedDisk c : req.copied()) {
            mapped.put(c.name(), copyDir.resolve(d.name() + "-" + c.name() + "." + c.format()).toString());
        }
        for (String path : mapped.values()) {
            if (Files.exists(Path.of(path))) {
                throw new JvirtException(ErrorCode.DESTINATION_EXISTS, "the image " + path + " for a copied disk already"
                        + " exists on this host", Map.of("path", path));
            }
        }
        VmDefinition local = d.withDisks(d.disks().stream().map(x -> mapped.containsKey(x.name())
                ? new VmDefinition.Disk(x.name(), mapped.get(x.name()), x.format(), x.bus(), x.readOnly()) : x).toList());
        records.put(new MigrationRecords.Incoming(req.id(), d.name(), req.source(), "prepare", List.copyOf(mapped.values()),
                Instant.now()));
        IncomingMigration in = new IncomingMigration(req, since);
        in.step("prepare recorded");
        try {
            for (PeerMessages.CopiedDisk c : req.copied()) {
                Path image = Path.of(mapped.get(c.name()));
                // --copy-storage-inc: an overlay on the same base; the mirror fills only the top layer
                qemuImg.create(image, c.format(), c.virtualSize(), c.backing() == null ? null : Path.of(c.backing()),
                        c.backingFormat());
                created.add(image.toString());
                // granted to the destination's QEMU by its start (ConfinedStart), as every disk of the definition
            }
            in.step("images created");
            vms.define(local);
            in.step("defined");
        } catch (RuntimeException e) {
            deleteImages(created);
            records.removeIncoming(d.name());
            throw e;
        }
        Fault.point("migration", "defined");
        PendingJob<?> job;
        try {
            job = vms.prepareJob(d.name(), MigrationJob.INCOMING, req.id(), Duration.ZERO, ctx -> null,
                    (ctx, none) -> ctx.startQemuIncoming(m -> incoming(in, ctx, m, localAddress)));
        } catch (RuntimeException e) {
            cleanUp(d.name(), created);
            throw e;
        }
        byId.put(req.id(), in);
        in.step("job ready");
        Thread.ofVirtual().name("migration-in-" + d.name()).start(() -> runIncoming(in, job, created));
        Thread.ofVirtual().name("migration-in-watch-" + d.name()).start(() -> watchdog(in));
        try {
            return in.prepared.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (java.util.concurrent.ExecutionException e) {
            throw e.getCause() instanceof JvirtException je ? je
                    : new JvirtException(ErrorCode.QEMU_FAILED, "prepare failed: " + e.getCause().getMessage());
        } catch (java.util.concurrent.TimeoutException | InterruptedException e) {
            in.abort("prepare took longer than " + timeout.toSeconds() + " s");
            throw new JvirtException(ErrorCode.TIMEOUT, "the destination's QEMU was not ready within " + timeout.toSeconds() + " s");
        }
    }

    /** Runs inside the VM's start, on its monitor, between QEMU's start (paused, -incoming defer) and cont. */
    private void incoming(IncomingMigration in, io.jvirt.vm.VmJobContext ctx, Monitor m, String localAddress) {
        String vm = in.req.definition().name();
        // QEMU's own timestamp of the guest's resume here: with the source's STOP, the downtime the guest really had
        // (QEMU's `downtime` ends at the source's completion, before Finish and this side's cont)
        var resumeSeen = new java.util.concurrent.atomic.AtomicReference<io.jvirt.qemu.monitor.Subscription>();
        in.monitor = m;
        resumeSeen.set(m.on(io.jvirt.qemu.monitor.MonitorEvent.RESUME, e -> {
            in.resumed = true;
            log.info("incoming migration {}: guest resumed here at {}", in.req.id(), e.at());
            Fault.point("migration", "resumed", ctx.qemuPid());
            var s = resumeSeen.getAndSet(null);
            if (s != null) {
                s.close();
            }
        }));
        in.step("qemu up");
        try (QemuMigration migration = QemuMigration.follow(m);
             var switchSeen = m.on(io.jvirt.qemu.monitor.MonitorEvent.MIGRATION, e -> {
                 if (e.status().isPostcopy()) {
                     in.switched.complete(null);
                 }
             })) {
            m.require(Feature.MIGRATION_EVENTS, "following a migration by its events");
            Map<MigrationCapability, Boolean> caps = new LinkedHashMap<>();
            caps.put(MigrationCapability.EVENTS, true);
            caps.put(MigrationCapability.LATE_BLOCK_ACTIVATE, true);
            if (in.req.postcopy()) {
                m.require(Feature.POSTCOPY, "post-copy migration");
                caps.put(MigrationCapability.POSTCOPY_RAM, true);
            }
            if (in.req.parallel() != null) {
                m.require(Feature.MULTIFD, "parallel migration (multifd)");
                caps.put(MigrationCapability.MULTIFD, true);
            }
            m.migration().migrateSetCapabilities(caps);
            if (in.req.parallel() != null) {
                m.migration().migrateSetMultifdChannels(in.req.parallel()); // must match the source's, before listening
                log.info("incoming migration {}: multifd {}, {} channels (as QEMU reports them)", in.req.id(),
                        m.migration().queryMigrateCapabilities().contains(MigrationCapability.MULTIFD) ? "on" : "off",
                        m.migration().queryMultifdChannels());
            }
            in.step("capabilities set");
            // the host's credentials, granted to this VM's QEMU only while it loads them
            QemuTlsFiles.withStaged(ctx, tls.tlsDir(), dir -> {
                in.step("tls staged");
                m.migration().addTlsCreds(TLS_ID, dir, true);
            });
            m.migration().migrateSetParameters(new MigrationParameters(null, null, TLS_ID, null));
            in.step("tls set");
            Map<String, String> exports = new LinkedHashMap<>();
            int nbdPort = -1;
            if (!in.req.copied().isEmpty()) {
                m.require(Feature.BLOCK_EXPORT, "copying storage during a migration");
                nbdPort = ListenAddress.freePort(localAddress);
                m.nbd().nbdServerStart(localAddress, nbdPort, TLS_ID);
                BlockGraph graph = BlockGraph.query(m);
                for (PeerMessages.CopiedDisk c : in.req.copied()) {
                    m.nbd().blockExportAdd(c.name(), graph.require(c.name()).node(), true);
                    exports.put(c.name(), c.name());
                }
            }
            m.migration().migrateIncoming("tcp:" + ListenAddress.uriHost(localAddress) + ":0");
            int port = m.migration().queryMigrate().listeningPort();
            if (port <= 0) {
                throw new JvirtException(ErrorCode.QEMU_FAILED, "the destination's QEMU reports no listening port");
            }
            in.step("listening");
            records.put(records.incoming(vm).orElseThrow().at("incoming"));
            in.phase = "incoming";
            in.step("incoming recorded");
            in.heard(); // the silence bound counts from our answer: a slow start (a first probe) is not the source's
            in.prepared.complete(new PeerMessages.Prepared("tcp:" + ListenAddress.uriHost(localAddress) + ":" + port, localAddress, port,
                    localAddress, nbdPort, exports, vms.get(vm).definition(), console.keepBytes()));
            Fault.point("migration", "incoming");
            while (true) {
                CompletableFuture.anyOf(in.decision, m.closed(), in.peerLost).join();
                if (in.decision.isDone() || !in.peerLost.isDone()) {
                    break;
                }
                String why = in.peerLost.join();
                if (!in.keptAfterSwitch(why)) {
                    in.decision.complete("abort: " + why);
                    log.warn("incoming migration {} of VM {}: aborted: {}", in.req.id(), vm, why);
                    break;
                }
                in.peerLost = new CompletableFuture<>();
            }
            if (!in.decision.isDone()) {
                in.abort("the destination's QEMU exited");
            }
            String decision = in.decision.join();
            if (!decision.equals("finish")) {
                throw new JvirtException(ErrorCode.CANCELLED, "incoming migration " + decision);
            }
            if (in.req.postcopy() && PostcopyTarget.awaitRunnable(migration, Duration.ofSeconds(30))
                    == MigrationStatus.POSTCOPY_ACTIVE) {
                // post-copy: the guest runs here now (cont after this) while RAM still comes; follow the rest
                if (!in.req.copied().isEmpty()) {
                    m.nbd().nbdServerStop(); // the mirrors ended at the source's pre-switchover, before the switch
                }
                in.postcopy = PostcopyTarget.follow(in.req.id(), vm, m, () -> in.lastHeard, in.req.peerTimeoutMs());
                records.put(records.incoming(vm).orElseThrow().at("finishing"));
                in.phase = "postcopy";
                Fault.point("migration", "finishing");
                return;
            }
            in.step("finish received");
            // the source saw its side completed; ours must have too (its event may still be on the way)
            MigrationStatus end = migration.awaitEnd(Duration.ofSeconds(30));
            in.step("completed here");
            if (end != MigrationStatus.COMPLETED) {
                throw new JvirtException(ErrorCode.MIGRATION_FAILED, "the destination's incoming migration ended "
                        + end.wire() + ": " + migration.error());
            }
            if (!in.req.copied().isEmpty()) {
                m.nbd().nbdServerStop();
            }
            records.put(records.incoming(vm).orElseThrow().at("finishing"));
            in.phase = "finishing";
            in.step("finishing recorded");
            Fault.point("migration", "finishing", ctx.qemuPid());
        } catch (RuntimeException e) {
            in.prepared.completeExceptionally(e);
            throw e;
        }
    }

    private void runIncoming(IncomingMigration in, PendingJob<?> job, List<String> created) {
        String vm = in.req.definition().name();
        try {
            job.run(); // returns once the guest runs here (cont after Finish), or throws with QEMU destroyed
            in.step("running");
            Fault.point("migration", "running");
            records.put(records.incoming(vm).orElseThrow().at("done"));
            in.phase = "done";
            in.step("done recorded");
            log.info("incoming migration {}: VM {} runs on this host", in.req.id(), vm);
            in.outcome.complete("done");
        } catch (RuntimeException e) {
            if (in.ranHere()) {
                // the guest ran here, if only for a moment (its QEMU then died, or a record failed): its disk and
                // RAM moved on past the source's, so the source must never resume: this host keeps the VM (crashed
                // if its QEMU is gone) and the images it was writing, and Finish answers done
                log.warn("incoming migration {} of VM {}: failed after the guest ran here ({}); the VM stays on this"
                        + " host, the source ends its copy", in.req.id(), vm, e.getMessage());
                try {
                    records.put(records.incoming(vm).orElseThrow().at("done"));
                } catch (RuntimeException r) {
                    log.warn("incoming migration {}: cannot record done: {}", in.req.id(), r.getMessage());
                }
                in.phase = "done";
                in.outcome.complete("done");
                return;
            }
            in.prepared.completeExceptionally(e);
            log.warn("incoming migration {} of VM {} failed: {}", in.req.id(), vm, e.getMessage());
            cleanUp(vm, created);
            in.phase = "aborted";
            in.outcome.completeExceptionally(e);
            byId.remove(in.req.id());
        }
    }

    /** Aborts when the source goes silent for longer than its bound (until Finish has been decided). */
    private void watchdog(IncomingMigration in) {
        long bound = TimeUnit.MILLISECONDS.toNanos(Math.max(500, in.req.peerTimeoutMs()));
        while (!in.decision.isDone() && !in.outcome.isDone()) {
            if (!in.prepared.isDone()) {
                in.heard(); // the source waits on our Prepare answer (its loss closes the connection): not silence
            }
            long silent = System.nanoTime() - in.lastHeard;
            if (silent > bound) {
                in.abort("peer lost: nothing heard from the source for " + TimeUnit.NANOSECONDS.toMillis(silent) + " ms");
                return;
            }
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    /** Console history from the source, while the guest waits here (before Finish). */
    void console(String id, PeerMessages.ConsoleChunk chunk) {
        IncomingMigration in = find(id);
        in.heard();
        if (in.decision.isDone()) {
            throw new JvirtException(ErrorCode.INVALID_STATE, "migration " + id + " was already " + in.decision.join());
        }
        ConsoleCarry.receive(console, in.req.definition().name(), chunk);
    }

    /**
     * Finish: lets the guest run here; answers once it runs (or why it cannot). What the guest printed on the
     * source since Prepare goes to the console first (once: a repeated Finish finds the decision made).
     */
    PeerMessages.Phase finish(String id, Duration timeout, PeerMessages.Finish body) {
        IncomingMigration in = byId.get(id);
        if (in == null) {
            // restarted since: a record at finishing (its recovery runs the guest) or done answers Finish again
            PeerMessages.Phase p = phase(id);
            if (p.phase().equals("finishing") || p.phase().equals("done")) {
                return p;
            }
            throw new JvirtException(ErrorCode.MIGRATION_FAILED, "migration " + id + " is " + p.phase() + " here");
        }
        in.heard();
        if (body != null && !in.decision.isDone()) {
            ConsoleCarry.receive(console, in.req.definition().name(), body.console());
        }
        if (!in.decision.complete("finish") && !in.decision.join().equals("finish")) {
            throw new JvirtException(ErrorCode.MIGRATION_FAILED, "migration " + id + " was already " + in.decision.join());
        }
        try {
            in.outcome.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
            return new PeerMessages.Phase(id, in.req.definition().name(), "done", null);
        } catch (java.util.concurrent.ExecutionException e) {
            throw new JvirtException(ErrorCode.MIGRATION_FAILED, "the destination could not run the VM: "
                    + e.getCause().getMessage(), Map.of("id", id));
        } catch (java.util.concurrent.TimeoutException | InterruptedException e) {
            throw new JvirtException(ErrorCode.TIMEOUT, "the destination did not finish within " + timeout.toSeconds() + " s");
        }
    }

    /** Post-copy paused by a broken link: listens again for the source's resume, on a new port. */
    PeerMessages.Recovering recover(String id, String localAddress) {
        IncomingMigration in = byId.get(id);
        if ((in == null || in.postcopy == null || in.postcopy.ended()) && qemuState(id) == MigrationStatus.COMPLETED) {
            log.info("incoming migration {}: the post-copy completed here: nothing to resume", id);
            return new PeerMessages.Recovering(null);
        }
        in = find(id);
        in.heard();
        PostcopyTarget pc = in.postcopy;
        if (pc == null) {
            throw new JvirtException(ErrorCode.INVALID_STATE, "incoming migration " + id + " is not in post-copy", Map.of("id", id));
        }
        String uri = "tcp:" + ListenAddress.uriHost(localAddress) + ":" + ListenAddress.freePort(localAddress);
        pc.recover(uri, Duration.ofSeconds(30));
        log.info("incoming migration {}: listening again on {} for the post-copy's resume", id, uri);
        return new PeerMessages.Recovering(uri);
    }

    /** Where the incoming QEMU of {@code id} (recorded done) is; one in post-copy not followed is followed again. */
    private MigrationStatus qemuState(String id) {
        var r = records.incomingById(id).filter(x -> x.phase().equals("done"));
        if (r.isEmpty()) {
            return MigrationStatus.UNKNOWN;
        }
        return vms.runJob(r.get().vm(), MigrationJob.INCOMING, Duration.ofSeconds(10), ctx -> {
            Monitor m = ctx.monitor().orElse(null);
            MigrationStatus now = m == null ? MigrationStatus.UNKNOWN : m.migration().queryMigrate().status();
            if (now.isPostcopy() && !byId.containsKey(id)) {
                log.warn("incoming migration {}: VM {}: its post-copy ({}) was not followed: followed again", id,
                        r.get().vm(), now.wire());
                adoptPostcopy(r.get(), m);
            }
            return now;
        });
    }

    /** The source confirmed: the migration is over, its record goes. */
    void confirmed(String id) {
        IncomingMigration in = byId.remove(id);
        String vm = in != null ? in.req.definition().name() : phase(id).vm();
        records.removeIncoming(vm);
    }

    /**
     * The source aborts. Past the guest's start in a post-copy, an abort means the source's QEMU died: the pages
     * still there are gone, the guest can never run whole again: our QEMU is ended and the VM kept crashed with the
     * reason (answer {@code lost}). Otherwise the migration is aborted here ({@code aborted}).
     */
    PeerMessages.Phase abort(String id, String why) {
        IncomingMigration in = find(id);
        String vm = in.req.definition().name();
        PostcopyTarget pc = in.postcopy;
        if (pc != null && !pc.ended()) {
            log.error("incoming migration {}: VM {} is lost: {}", id, vm, why);
            vms.runJob(vm, MigrationJob.INCOMING, Duration.ofSeconds(30), ctx -> {
                ctx.endLost(why);
                return null;
            });
            byId.remove(id);
            records.removeIncoming(vm);
            return new PeerMessages.Phase(id, vm, "lost", why);
        }
        in.abort(why);
        try {
            in.outcome.get(30, TimeUnit.SECONDS);
        } catch (Exception e) {
            // aborted: the outcome is the failure
        }
        return new PeerMessages.Phase(id, vm, in.phase, why);
    }

    /**
     * After a restart: the guest runs here in a post-copy its QEMU still pulls pages for. Registered as decided
     * (Finish came) so the source's heartbeats, recover and confirm find it; followed as at the switch.
     */
    void adoptPostcopy(MigrationRecords.Incoming r, Monitor m) {
        var req = new PeerMessages.Prepare(r.id(), r.source(), vms.get(r.vm()).definition(), List.of(),
                tls.bound().toMillis(), true, null);
        IncomingMigration in = new IncomingMigration(req, System.nanoTime());
        in.decision.complete("finish");
        in.switched.complete(null);
        in.prepared.complete(null);
        in.outcome.complete("done");
        in.phase = r.phase();
        in.postcopy = PostcopyTarget.follow(r.id(), r.vm(), m, () -> in.lastHeard, tls.bound().toMillis());
        byId.put(r.id(), in);
    }

    /** A peer's connection closed: every migration it carried that has not been told Finish is aborted. */
    void connectionClosed(String id) {
        IncomingMigration in = byId.get(id);
        if (in != null) {
            in.abort("peer lost: the source's connection closed");
        }
    }

    /** Undefines the VM (its QEMU is gone) and deletes the images made for it; then the record. */
    void cleanUp(String vm, List<String> created) {
        try {
            if (vms.definitions().stream().anyMatch(x -> x.name().equals(vm))) {
                vms.undefine(vm, Duration.ofSeconds(30));
            }
        } catch (RuntimeException e) {
            log.warn("VM {}: cannot undefine after an aborted incoming migration: {}", vm, e.getMessage());
        }
        deleteImages(created);
        records.removeIncoming(vm);
    }

    private static void deleteImages(List<String> created) {
        for (String f : created) {
            try {
                Files.deleteIfExists(Path.of(f));
            } catch (IOException e) {
                log.warn("cannot delete {}: {}", f, e.toString());
            }
        }
    }
}
