package io.jvirt.migration;

import io.jvirt.error.ErrorCode;
import io.jvirt.error.Fault;
import io.jvirt.error.JvirtException;
import io.jvirt.qemu.monitor.BlockGraph;
import io.jvirt.qemu.monitor.Feature;
import io.jvirt.qemu.monitor.MigrationParameters;
import io.jvirt.qemu.monitor.MigrationStatus;
import io.jvirt.qemu.monitor.Monitor;
import io.jvirt.qemu.monitor.MonitorException;
import io.jvirt.qemu.monitor.QemuMigration;
import io.jvirt.qemu.monitor.RunState;
import io.jvirt.vm.JobProgress;
import io.jvirt.vm.VmDefinition;
import io.jvirt.vm.VmJobContext;
import io.jvirt.vm.VmState;
import java.net.URI;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The source's side, which drives the whole migration (Begin, then Prepare on the peer, Perform, Finish on the
 * peer, Confirm), as the VM's job: it holds the slot from Begin to Confirm. Every phase is recorded durably before
 * it acts (see docs/migration.md); a failure before Finish cancels everything and the guest runs on here.
 */
final class MigrationSource {
    private static final Logger log = LoggerFactory.getLogger(MigrationSource.class);
    static final String TLS_ID = "jvirt-migration-tls";
    static final long DEFAULT_DOWNTIME_MS = 300;

    /** What Begin worked out on the request thread: the destination and its channel, the disks to copy. */
    record Plan(String id, URI destination, PeerChannel channel, List<String> copied, MigrationRequest request) {
    }

    private final MigrationRecords records;
    private final PeerConnector connector;
    private final JobProgress progress;
    private final Consumer<MigrationProgress> listener;
    private final io.jvirt.vm.ConsoleHistory console;
    private final Map<String, PostcopySource> postcopies = new java.util.concurrent.ConcurrentHashMap<>();

    /**
     * What the running QEMU really has (hot-plugged memory, vCPUs, disks, NICs, IOThreads: issue 15's
     * {@code HotplugService.liveDefinition}), so the destination starts an identical machine; the stored definition
     * when nothing was plugged.
     */
    private volatile java.util.function.Function<String, java.util.Optional<VmDefinition>> liveDefinitions =
            vm -> java.util.Optional.empty();

    MigrationSource(MigrationRecords records, PeerConnector connector, JobProgress progress, Consumer<MigrationProgress> listener,
                    io.jvirt.vm.ConsoleHistory console) {
        this.console = console;
        this.records = records;
        this.connector = connector;
        this.progress = progress;
        this.listener = listener;
    }

    void liveDefinitions(java.util.function.Function<String, java.util.Optional<VmDefinition>> f) {
        this.liveDefinitions = f;
    }

    /** Begin: refuses what cannot migrate, changing nothing; connects the peer channel. */
    Plan begin(VmJobContext ctx, String id, MigrationRequest req) {
        long since = System.nanoTime();
        URI dest = PeerConnector.parse(req.destination());
        if (req.copyStorage() != null && !req.copyAll() && !req.copyInc()) {
            throw new JvirtException(ErrorCode.INVALID_ARGUMENT, "copyStorage is 'all' or 'inc' (or absent: shared storage);"
                    + " '" + req.copyStorage() + "' is not supported yet", Map.of("copyStorage", req.copyStorage()));
        }
        if (Boolean.TRUE.equals(req.postcopy()) && Boolean.TRUE.equals(req.postcopyAfterPrecopy())) {
            throw new JvirtException(ErrorCode.INVALID_ARGUMENT, "postcopy and postcopyAfterPrecopy exclude each other");
        }
        req.checkParallel();
        if (ctx.state() == VmState.PAUSED) {
            throw new JvirtException(ErrorCode.INVALID_STATE, "VM '" + ctx.vmName() + "' is paused: jvirt migrates"
                    + " running VMs only; resume it first", Map.of("vm", ctx.vmName(), "state", "paused"));
        }
        if (ctx.state() != VmState.RUNNING) {
            throw new JvirtException(ErrorCode.INVALID_STATE, "VM '" + ctx.vmName() + "' is " + ctx.state().wire()
                    + ": only a running VM migrates (offline migration is not supported; copy its disks and define it there)",
                    Map.of("vm", ctx.vmName(), "state", ctx.state().wire()));
        }
        if (ctx.isHeld()) {
            throw new JvirtException(ErrorCode.GUEST_HELD, "VM '" + ctx.vmName() + "' is held paused; it cannot migrate");
        }
        Monitor m = ctx.requireMonitor("migrate");
        m.require(Feature.MIGRATION_EVENTS, "following a migration by its events");
        m.require(Feature.PAUSE_BEFORE_SWITCHOVER, "a migration that ends storage copies before the switch-over");
        if (req.postcopyEnabled()) {
            m.require(Feature.POSTCOPY, "post-copy migration");
        }
        if (req.multifd()) {
            m.require(Feature.MULTIFD, "parallel migration (multifd)");
        }
        List<String> copied = new ArrayList<>();
        if (req.copyAll() || req.copyInc()) {
            BlockGraph graph = req.copyInc() ? BlockGraph.query(m) : null;
            for (VmDefinition.Disk d : ctx.definition().disks()) {
                if (d.writable()) {
                    if (graph != null && graph.require(d.name()).image().backingFilename() == null) {
                        throw new JvirtException(ErrorCode.INVALID_ARGUMENT, "disk " + d.name() + " has no backing file:"
                                + " --copy-storage-inc copies only top images; use --copy-storage-all", Map.of("disk", d.name()));
                    }
                    copied.add(d.name());
                }
            }
        }
        long checked = System.nanoTime();
        PeerChannel channel = connector.connect(dest);
        log.info("migration {} of {}: begin checks {} ms, peer connected in {} ms", id, ctx.vmName(),
                java.util.concurrent.TimeUnit.NANOSECONDS.toMillis(checked - since),
                java.util.concurrent.TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - checked));
        return new Plan(id, dest, channel, List.copyOf(copied), req);
    }

    /** Prepare, Perform, Finish, Confirm. Returns the last progress (phase {@code confirmed}). */
    MigrationProgress run(VmJobContext ctx, Plan plan) {
        String vm = ctx.vmName();
        MigrationRequest req = plan.request();
        PeerChannel ch = plan.channel();
        Monitor m = ctx.requireMonitor("migrate");
        var rec = new MigrationRecords.Outgoing(plan.id(), vm, plan.destination().toString(), "begin",
                !plan.copied().isEmpty(), plan.copied(), Boolean.TRUE.equals(req.keepSource()), Instant.now());
        records.put(rec);
        ctx.recordStep("begin");
        Fault.point("migration", "begin", ctx.qemuPid());
        long downtime = req.maxDowntimeMs() == null ? DEFAULT_DOWNTIME_MS : Math.min(DEFAULT_DOWNTIME_MS, req.maxDowntimeMs());
        MigrationWatch watch = new MigrationWatch(plan.id(), vm, plan.destination().toString(), m,
                plan.copied().stream().map(StorageMirrors::jobId).toList(), progress, listener, downtime,
                req.maxDowntimeMs() == null ? downtime : req.maxDowntimeMs(), Boolean.TRUE.equals(req.autoConverge()),
                req.multifd());
        Duration timeout = Duration.ofSeconds(req.timeoutSeconds() == null ? 3600 : req.timeoutSeconds());
        long deadline = System.nanoTime() + timeout.toNanos();
        String base = "/v1/peer/migrations/" + plan.id();
        boolean finishSent = false;
        PostcopySource pc = new PostcopySource(vm, req, plan.destination(), connector, ch);
        ConsoleCarry carry = new ConsoleCarry(console, vm, base);
        try (ch; pc; StorageMirrors mirrors = new StorageMirrors(m, plan.copied()); QemuMigration migration = QemuMigration.follow(m);
             var stopSeen = m.on(io.jvirt.qemu.monitor.MonitorEvent.STOP, e ->
                     log.info("migration {}: source guest stopped at {}", plan.id(), e.at()))) {
            pc.attach(migration);
            postcopies.put(vm, pc);
            ctx.job().cancellation().thenAccept(why -> migration.interrupt("cancelled: " + why));
            ch.lost().thenAccept(why -> migration.interrupt("peer lost: " + why));
            try {
                // ---- Prepare (on the destination)
                watch.phase("prepare");
                List<PeerMessages.CopiedDisk> copies = new ArrayList<>();
                BlockGraph graph = plan.copied().isEmpty() ? null : BlockGraph.query(m);
                for (String d : plan.copied()) {
                    var top = graph.require(d);
                    var below = req.copyInc() ? top.image().backingImage() : null;
                    copies.add(new PeerMessages.CopiedDisk(d, top.image().format(), top.image().virtualSize(),
                            below == null ? null : top.image().fullBackingFilename() != null ? top.image().fullBackingFilename()
                                    : top.image().backingFilename(),
                            below == null ? null : below.format(), below == null ? null : below.virtualSize()));
                }
                // this side's capabilities and TLS object need nothing from the destination: they are set while it
                // starts its QEMU (the Prepare round trip), not after; a failed Prepare rolls them back as before
                // the Prepare message first (the live definition asks this QEMU), so the setup's QMP calls do not
                // queue ahead of it on the monitor
                PeerMessages.Prepare prepareBody = prepareBody(ch, plan, ctx, copies);
                SourceSetup ownSetup = SourceSetup.start(ctx, m, connector.tlsDir(), !plan.copied().isEmpty(),
                        Boolean.TRUE.equals(req.autoConverge()), pc.enabled(), req.multifd(), () -> mark(plan.id(), vm, "tls added", watch));
                PeerMessages.Prepared dest;
                try {
                    dest = prepare(ch, prepareBody);
                } finally {
                    // never leave the setup running into a rollback; its own failure counts only if Prepare worked
                    ownSetup.awaitQuietly();
                }
                ownSetup.await();
                carry.sendHistory(ch, dest.consoleBytes()); // before RAM moves: it costs the guest nothing
                ch.startHeartbeat(base + "/ping");
                rec = step(ctx, rec, "prepared", watch);

                // ---- Perform: parameters, storage, RAM
                long bandwidth = req.bandwidthMiB() == null || req.bandwidthMiB() == 0 ? 0 : req.bandwidthMiB() << 20;
                m.migration().migrateSetParameters(new MigrationParameters(bandwidth == 0 ? 1L << 40 : bandwidth,
                        downtime, TLS_ID, dest.host()));
                if (pc.enabled()) {
                    m.migration().migrateSetPostcopyBandwidth(bandwidth); // --bandwidth holds in post-copy too
                }
                if (req.multifd()) {
                    m.migration().migrateSetMultifdChannels(req.parallel()); // each channel TLS like the main one
                }
                if (!plan.copied().isEmpty()) {
                    mirrors.start(dest, TLS_ID, bandwidth == 0 ? null : bandwidth, req.copyInc());
                    rec = step(ctx, rec, "mirroring", watch);
                    var abandon = new java.util.concurrent.CompletableFuture<String>();
                    ctx.job().cancellation().thenAccept(abandon::complete);
                    ch.lost().thenAccept(why -> abandon.complete("peer lost: " + why));
                    mirrors.awaitReady(remaining(deadline), abandon);
                    rec = step(ctx, rec, "mirrors-ready", watch);
                }
                rec = step(ctx, rec, "migrating", watch);
                m.migration().migrate(dest.uri());
                MigrationStatus end = follow(ctx, migration, mirrors, watch, deadline, rec, pc, base, carry);
                if (end != MigrationStatus.COMPLETED) {
                    throw new JvirtException(ErrorCode.MIGRATION_FAILED, "the migration " + end.wire() + ": " + migration.error());
                }
                rec = step(ctx, rec, "completed", watch);

                // ---- Finish (on the destination): from here the source never resumes unless the destination says no
                if (!pc.requested()) {
                    rec = step(ctx, rec, "finish-sent", watch);
                    finishSent = true;
                    ch.stopHeartbeat();
                    ch.call("POST", base + "/finish", carry.finish(), Duration.ofSeconds(60));
                } else {
                    pc.channel().stopHeartbeat(); // Finish went at the switch (PostcopySource)
                }
            } catch (RuntimeException e) {
                if (e instanceof JvirtException j && "lost".equals(j.details().get("outcome"))) {
                    throw j; // concluded where it was found (the destination's QEMU died in post-copy)
                }
                if (pc.requested() && PostcopyRecovery.qemuDied(m)) {
                    // the source's half of RAM died with its QEMU: no side can run the guest any more
                    watch.ended("failed", e.getMessage());
                    throw PostcopyRecovery.sourceQemuLost(ctx, rec, pc.finishAttempted(), pc.channelForConfirm(base),
                            records, connector);
                }
                // a Finish that never left (the channel was lost before it) cannot have run the guest there
                if (!pc.requested() && (!finishSent || refused(e) || PeerChannel.neverSent(e))) {
                    rollBack(ctx, m, ch, base, mirrors, watch, e, finishSent && refused(e));
                    throw e instanceof JvirtException ? e : new JvirtException(ErrorCode.MIGRATION_FAILED,
                            "migration failed: " + e.getMessage(), Map.of("vm", vm), e);
                }
                // Finish sent, no answer: the destination may run the guest. Keep ours paused; recovery asks later.
                watch.ended("unknown", e.getMessage());
                throw new JvirtException(ErrorCode.PEER_LOST, "the destination did not answer Finish (" + e.getMessage()
                        + "): VM '" + vm + "' stays paused here until the destination says whether it runs there"
                    + (pc.requested() ? " (post-copy had started: the destination holds the guest's RAM)" : ""),
                        Map.of("vm", vm, "outcome", "unknown"));
            }
            // ---- Confirm
            rec = step(ctx, rec, "confirmed", watch);
            MigrationProgress last = watch.last();
            // the destination drops its record while this side ends its QEMU: neither needs the other (a restart at
            // `confirmed` ends the QEMU here without asking the peer), so the two run side by side
            Thread confirm = Thread.ofVirtual().name("migration-confirm-" + vm).start(() -> {
                try {
                    sendConfirmed(connector, plan.destination(), plan.id(), pc.channelForConfirm(base));
                } catch (RuntimeException e) {
                    log.info("migration {}: confirm not delivered ({})", plan.id(), e.getMessage());
                }
            });
            try {
                ctx.migratedAway(!rec.keepSource());
                mark(plan.id(), vm, "source ended", watch);
            } finally {
                SourceSetup.joinUninterruptibly(confirm);
            }
            if (rec.keepSource()) {
                records.removeOutgoing(vm);
            }
            watch.ended("completed", null);
            log.info("migration {}: VM {} now runs on {} ({} ms)", plan.id(), vm, plan.destination(), watch.elapsed().toMillis());
            return last;
        } finally {
            postcopies.remove(vm, pc);
        }
    }

    /**
     * Tells the destination it may drop its {@code done} record: on {@code ch}, or on a fresh connection when that
     * one is gone (a destination daemon restarted after Finish). Best effort: undelivered, the record stays there
     * until the VM leaves that host.
     */
    static void sendConfirmed(PeerConnector connector, URI dest, String id, PeerChannel ch) {
        String path = "/v1/peer/migrations/" + id + "/confirmed";
        try {
            if (ch != null && !ch.lost().isDone()) {
                try {
                    ch.call("POST", path, null, Duration.ofSeconds(10));
                    return;
                } catch (JvirtException e) {
                    if (e.code() != ErrorCode.PEER_LOST) {
                        throw e;
                    }
                }
            }
            try (PeerChannel fresh = connector.connect(dest)) {
                fresh.call("POST", path, null, Duration.ofSeconds(10));
            }
        } catch (RuntimeException e) {
            log.info("migration {}: confirm not delivered ({}); the destination keeps its record", id, e.getMessage());
        }
    }

    private PeerMessages.Prepare prepareBody(PeerChannel ch, Plan plan, VmJobContext ctx, List<PeerMessages.CopiedDisk> copies) {
        VmDefinition running = liveDefinitions.apply(ctx.vmName()).orElse(ctx.definition());
        return new PeerMessages.Prepare(plan.id(), ch.localAddress(), running, copies,
                ch.bound().toMillis(), plan.request().postcopyEnabled(), plan.request().parallel());
    }

    private PeerMessages.Prepared prepare(PeerChannel ch, PeerMessages.Prepare body) {
        return connector.mapper().convertValue(ch.call("POST", "/v1/peer/migrations", body, Duration.ofSeconds(90)),
                PeerMessages.Prepared.class);
    }

    /** The destination answered Finish with a clear no (its QEMU is gone, it had aborted): ours may run again. */
    static boolean refused(RuntimeException e) {
        return e instanceof JvirtException je && (je.code() == ErrorCode.MIGRATION_FAILED || je.code() == ErrorCode.NOT_FOUND);
    }

    /** A timing line that is not a recorded phase (where Perform's and Confirm's time goes). */
    private static void mark(String id, String vm, String what, MigrationWatch watch) {
        log.info("migration {} of {}: ({}) at {} ms", id, vm, what, watch.elapsed().toMillis());
    }

    private MigrationRecords.Outgoing step(VmJobContext ctx, MigrationRecords.Outgoing rec, String phase, MigrationWatch watch) {
        MigrationRecords.Outgoing next = rec.at(phase);
        records.put(next);
        ctx.recordStep(phase);
        watch.phase(phase);
        log.info("migration {} of {}: {} at {} ms", rec.id(), rec.vm(), phase, watch.elapsed().toMillis());
        Fault.point("migration", phase, ctx.qemuPid());
        return next;
    }

    /** Follows MIGRATION events to the end; ends the mirrors at pre-switchover; samples progress in between. */
    private MigrationStatus follow(VmJobContext ctx, QemuMigration migration, StorageMirrors mirrors, MigrationWatch watch,
                                   long deadline, MigrationRecords.Outgoing rec, PostcopySource pc, String base,
                                   ConsoleCarry carry) {
        Monitor m = ctx.requireMonitor("migrate");
        while (true) {
            QemuMigration.Step s = migration.next(Duration.ofMillis(500));
            if (System.nanoTime() > deadline && !pc.requested()) {
                throw new JvirtException(ErrorCode.TIMEOUT, "the migration did not complete within its timeout");
            }
            if (s == null) {
                watch.sample();
                if (watch.notConverging() && pc.switchOnStall()) {
                    rec = switchToPostcopy(ctx, m, pc, rec, watch, "pre-copy does not converge");
                    continue;
                }
                if (watch.stalled() != null && !pc.requested()) {
                    throw new JvirtException(ErrorCode.MIGRATION_FAILED, watch.stalled());
                }
                if (mirrors.anyEnded()) {
                    throw new JvirtException(ErrorCode.MIGRATION_FAILED, "a storage mirror failed during the migration");
                }
                continue;
            }
            if (s.interruption() != null) {
                if (s.interruption().equals(PostcopySource.SWITCH)) {
                    if (!pc.requested()) {
                        rec = switchToPostcopy(ctx, m, pc, rec, watch, "asked for");
                    }
                    continue;
                }
                if (s.interruption().equals(PostcopySource.RESUME)) {
                    rec = step(ctx, rec, "postcopy-resuming", watch);
                    if (!pc.resume(m, base)) {
                        return MigrationStatus.COMPLETED; // every page reached the destination before the link broke
                    }
                    continue;
                }
                if (pc.requested() && !s.interruption().equals("QEMU exited")) {
                    // past the switch nothing is cancelled: the destination holds the RAM; QEMU's events decide
                    if (s.interruption().startsWith("peer lost")) {
                        pc.onPeerLost(m, s.interruption(), base);
                    } else {
                        log.info("VM {}: {} ignored: the migration is in post-copy", ctx.vmName(), s.interruption());
                    }
                    continue;
                }
                throw new JvirtException(s.interruption().startsWith("peer lost") ? ErrorCode.PEER_LOST
                        : s.interruption().startsWith("cancelled") ? ErrorCode.CANCELLED : ErrorCode.QEMU_FAILED,
                        "migration of VM '" + ctx.vmName() + "' stopped: " + s.interruption());
            }
            if (s.status() == null) {
                watch.pass(s.pass());
                watch.sample(); // right after QEMU's dirty sync: what the convergence policy measures (MigrationWatch)
                if (pc.switchAtPass(s.pass())) {
                    rec = switchToPostcopy(ctx, m, pc, rec, watch, "the first pass is done");
                }
                continue;
            }
            switch (s.status()) {
                case PRE_SWITCHOVER -> {
                    watch.phase("pre-switchover");
                    // QEMU pauses here before the switch into post-copy too (postcopy_start → migration_maybe_pause):
                    // the mirrors end before any device state leaves, as in pre-copy
                    mirrors.finishAtSwitchover(Duration.ofSeconds(60));
                    rec = step(ctx, rec, pc.requested() ? "postcopy-switchover" : "switchover", watch);
                    ctx.requireMonitor("migrate").migration().migrateContinue(MigrationStatus.PRE_SWITCHOVER);
                }
                case DEVICE -> {
                    watch.phase("device");
                    Fault.point("migration", "device", ctx.qemuPid());
                }
                case POSTCOPY_ACTIVE -> {
                    boolean first = !pc.started();
                    pc.onActive();
                    rec = step(ctx, rec, "postcopy-active", watch);
                    if (first) {
                        // Finish now: the destination runs the guest while it pulls the RAM not yet sent
                        pc.finishThere(base, carry.finish(), Duration.ofMinutes(3));
                        rec = step(ctx, rec, "postcopy-running-there", watch);
                    }
                }
                case POSTCOPY_PAUSED -> {
                    pc.onPaused();
                    rec = step(ctx, rec, "postcopy-paused", watch);
                    if (pc.destinationQemuDied(base)) {
                        throw PostcopySource.lostThere(ctx, records, connector, URI.create(rec.destination()), rec.id(),
                                pc.channel());
                    }
                    log.warn("VM {}: post-copy paused (the link broke); `jvirt migrate --resume {}` recovers it",
                            ctx.vmName(), ctx.vmName());
                }
                case COMPLETED, FAILED, CANCELLED -> {
                    return s.status();
                }
                default -> watch.phase(s.status().wire());
            }
        }
    }

    /** Records the switch durably, then asks QEMU: from here the source never resumes its guest. */
    private MigrationRecords.Outgoing switchToPostcopy(VmJobContext ctx, Monitor m, PostcopySource pc,
                                                      MigrationRecords.Outgoing rec, MigrationWatch watch, String why) {
        MigrationRecords.Outgoing next = step(ctx, rec, "postcopy-requested", watch);
        pc.switchNow(m, why);
        return next;
    }

    PostcopySource postcopyOrNull(String vm) {
        return postcopies.get(vm);
    }

    /** The post-copy side of the migration of {@code vm} under way here, if any. */
    PostcopySource postcopy(String vm) {
        PostcopySource pc = postcopies.get(vm);
        if (pc == null) {
            throw new JvirtException(ErrorCode.NOT_FOUND, "VM '" + vm + "' is not migrating", Map.of("vm", vm));
        }
        return pc;
    }

    /** Before Finish: cancels on both sides; the guest runs on here. Never throws. */
    private void rollBack(VmJobContext ctx, Monitor m, PeerChannel ch, String base, StorageMirrors mirrors,
                          MigrationWatch watch, RuntimeException why, boolean finishRefused) {
        log.warn("migration of VM {} failed, rolling back: {}", ctx.vmName(), why.getMessage());
        ch.stopHeartbeat();
        if (m.isOpen()) {
            try (QemuMigration settle = QemuMigration.follow(m)) {
                settle.settle(Duration.ofSeconds(30));
            } catch (RuntimeException e) {
                log.warn("cannot cancel the migration in QEMU: {}", e.getMessage());
            }
            mirrors.abort(ch.lost().isDone());
            resumeIfPaused(m, ctx.vmName());
            try {
                m.migration().objectDel(TLS_ID);
            } catch (RuntimeException e) {
                // not added, or still referenced by the migration parameters: harmless
            }
        }
        if (!ch.lost().isDone()) {
            try {
                ch.call("POST", base + "/abort", new PeerMessages.Abort(why.getMessage()), Duration.ofSeconds(30));
            } catch (RuntimeException e) {
                log.info("abort not delivered to the destination ({}); its own watchdog ends its side", e.getMessage());
            }
        }
        records.removeOutgoing(ctx.vmName());
        watch.ended(finishRefused ? "refused" : "cancelled", why.getMessage());
    }

    /** The switch-over (or a completed migration the destination refused) left the vCPUs stopped: let them go. */
    static void resumeIfPaused(Monitor m, String vm) {
        try {
            RunState s = m.queryStatus().status();
            if (s != RunState.RUNNING) {
                log.info("VM {}: resuming the source guest (it was {})", vm, s.wire());
                m.cont();
            }
        } catch (MonitorException e) {
            log.warn("VM {}: cannot resume the source guest: {}", vm, e.getMessage());
        }
    }

    private static Duration remaining(long deadline) {
        return Duration.ofNanos(Math.max(1, deadline - System.nanoTime()));
    }
}
