package io.jvirt.migration;

import io.jvirt.error.ErrorCode;
import io.jvirt.error.JvirtException;
import io.jvirt.qemu.monitor.Monitor;
import io.jvirt.qemu.monitor.QemuMigration;
import io.jvirt.vm.VmJobContext;
import io.jvirt.vm.VmManager;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * After a daemon restart (its QEMUs re-adopted): each migration record says which case we are in. The source
 * owns the VM until the destination recorded {@code finishing}; see docs/migration.md's table.
 * <ul>
 *   <li>destination, {@code prepare}/{@code incoming}: no Finish came, the source owns the VM: destroy our QEMU,
 *       undefine, delete the copied images;
 *   <li>destination, {@code finishing}: Finish came, let the guest run (cont) if QEMU lives; {@code done}: kept
 *       for the source to ask; a post-copy still under way in QEMU is followed again ({@link MigrationTarget#adoptPostcopy});
 *   <li>source, before {@code finish-sent}: cancel what QEMU still does, resume the guest, tell the peer to abort;
 *   <li>source, {@code finish-sent}: ask the peer; it runs there: end ours; it says no: resume ours; no answer:
 *       keep ours paused, and the record, for the next attempt;
 *   <li>source, {@code confirmed}: end ours, and tell the peer (which then drops its {@code done}).
 *   <li>source, {@code postcopy-*}: see the post-copy through ({@link PostcopyRecovery}), never resume ours.
 * </ul>
 */
final class MigrationRecovery {
    private static final Logger log = LoggerFactory.getLogger(MigrationRecovery.class);

    private final VmManager vms;
    private final MigrationRecords records;
    private final PeerConnector connector;
    private final MigrationTarget target;

    MigrationRecovery(VmManager vms, MigrationRecords records, PeerConnector connector, MigrationTarget target) {
        this.vms = vms;
        this.records = records;
        this.connector = connector;
        this.target = target;
    }

    void recoverAll() {
        for (String vm : records.withIncoming()) {
            try {
                recoverIncoming(vm);
            } catch (RuntimeException e) {
                log.error("VM {}: recovery of an incoming migration failed", vm, e);
            }
        }
        for (String vm : records.withOutgoing()) {
            try {
                recoverOutgoing(vm);
            } catch (RuntimeException e) {
                log.error("VM {}: recovery of an outgoing migration failed", vm, e);
            }
        }
    }

    private void recoverIncoming(String vm) {
        MigrationRecords.Incoming r = records.incoming(vm).orElseThrow();
        boolean defined = vms.definitions().stream().anyMatch(d -> d.name().equals(vm));
        log.info("VM {}: incoming migration {} found at {}", vm, r.id(), r.phase());
        switch (r.phase()) {
            case "finishing" -> {
                if (!defined) {
                    records.removeIncoming(vm);
                    return;
                }
                vms.runJob(vm, MigrationJob.INCOMING, Duration.ofSeconds(30), ctx -> {
                    Monitor m = ctx.monitor().orElse(null);
                    if (m == null) {
                        log.warn("VM {}: its QEMU died before the guest ran here; the source keeps it", vm);
                        records.advanceIncoming(vm, r.id(), "failed");
                        return null;
                    }
                    m.cont();
                    records.advanceIncoming(vm, r.id(), "done");
                    adoptPostcopy(r.at("done"), m);
                    return null;
                });
            }
            case "done" -> {
                // kept until the source confirms (or asks); a post-copy still pulling pages is followed again
                if (defined) {
                    vms.runJob(vm, MigrationJob.INCOMING, Duration.ofSeconds(30), ctx -> {
                        ctx.monitor().ifPresent(m -> adoptPostcopy(r, m));
                        return null;
                    });
                }
            }
            case "failed" -> {
                // kept until the source confirms (or asks)
            }
            default -> {
                if (defined) {
                    vms.runJob(vm, MigrationJob.INCOMING, Duration.ofSeconds(30), ctx -> {
                        ctx.stopQemu();
                        return null;
                    });
                }
                target.cleanUp(vm, r.createdImages());
            }
        }
    }

    /** The guest runs here in a post-copy QEMU still pulls pages for: follow it again (pause, recover, end). */
    private void adoptPostcopy(MigrationRecords.Incoming r, Monitor m) {
        var status = m.migration().queryMigrate().status();
        if (status.isPostcopy()) {
            log.info("VM {}: incoming post-copy {} is {}: followed again", r.vm(), r.id(), status.wire());
            target.adoptPostcopy(r, m);
        }
    }

    private void recoverOutgoing(String vm) {
        MigrationRecords.Outgoing r = records.outgoing(vm).orElseThrow();
        log.info("VM {}: outgoing migration {} to {} found at {}", vm, r.id(), r.destination(), r.phase());
        if (vms.definitions().stream().noneMatch(d -> d.name().equals(vm))) {
            records.removeOutgoing(vm);
            return;
        }
        if (r.phase().startsWith("postcopy-")) {
            // the destination may hold the only complete state: see the post-copy through (never resume here)
            new PostcopyRecovery(vms, records, connector).finishLater(vm);
            return;
        }
        vms.runJob(vm, MigrationJob.OUTGOING, Duration.ofSeconds(30), ctx -> {
            switch (r.phase()) {
                case "confirmed" -> {
                    ctx.migratedAway(!r.keepSource());
                    MigrationSource.sendConfirmed(connector, URI.create(r.destination()), r.id(), null);
                    if (r.keepSource()) {
                        records.removeOutgoing(vm);
                    }
                }
                case "finish-sent" -> decideWithPeer(ctx, r);
                default -> rollBack(ctx, r);
            }
            return null;
        });
    }

    /**
     * After Finish went unanswered (the source daemon still runs): asks the peer until it answers, holding the
     * guest paused meanwhile (a resume or start asks first too). Runs on a thread of its own.
     */
    void settleUnknown(String vm, Duration every, Duration giveUp) {
        long deadline = System.nanoTime() + giveUp.toNanos();
        vms.runJob(vm, MigrationJob.OUTGOING, Duration.ofSeconds(30), ctx -> {
            ctx.holdGuest("the destination did not answer Finish: the VM may run there; asking it",
                    c -> {
                        if (!decideWithPeer(c, records.outgoing(vm).orElseThrow())) {
                            throw new JvirtException(ErrorCode.PEER_UNREACHABLE, "the destination still does not answer");
                        }
                    });
            return null;
        });
        while (System.nanoTime() < deadline && records.outgoing(vm).filter(r -> r.phase().equals("finish-sent")).isPresent()) {
            try {
                Thread.sleep(every.toMillis());
            } catch (InterruptedException e) {
                return;
            }
            try {
                boolean decided = vms.runJob(vm, MigrationJob.OUTGOING, Duration.ofSeconds(30), ctx -> {
                    boolean d = decideWithPeer(ctx, records.outgoing(vm).orElseThrow());
                    if (d && ctx.isHeld()) {
                        ctx.releaseHold();
                    }
                    return d;
                });
                if (decided) {
                    return;
                }
            } catch (RuntimeException e) {
                log.info("VM {}: asking the destination again later: {}", vm, e.getMessage());
            }
        }
    }

    /** True when the peer answered and the VM is settled (ended here, or resumed here); false when it did not. */
    private boolean decideWithPeer(VmJobContext ctx, MigrationRecords.Outgoing r) {
        String peerPhase;
        try (PeerChannel ch = connector.connect(URI.create(r.destination()))) {
            try {
                peerPhase = connector.mapper().convertValue(ch.call("GET", "/v1/peer/migrations/" + r.id(), null,
                        connector.bound()), PeerMessages.Phase.class).phase();
            } catch (JvirtException e) {
                if (e.code() != ErrorCode.NOT_FOUND) {
                    throw e;
                }
                peerPhase = "aborted";
            }
            if (peerPhase.equals("done") || peerPhase.equals("finishing")) {
                records.put(r.at("confirmed"));
                ctx.migratedAway(!r.keepSource());
                MigrationSource.sendConfirmed(connector, URI.create(r.destination()), r.id(), ch);
                if (r.keepSource()) {
                    records.removeOutgoing(ctx.vmName());
                }
                log.info("VM {}: the destination runs it; ended here", ctx.vmName());
                return true;
            }
        } catch (JvirtException e) {
            log.warn("VM {}: cannot ask {} whether it runs the VM ({}); it stays paused here, the record is kept",
                    ctx.vmName(), r.destination(), e.getMessage());
            return false;
        }
        if (r.phase().startsWith("postcopy-")) {
            keepPausedAfterPostcopy(ctx, r);
            return false;
        }
        log.info("VM {}: the destination says {}: resuming here", ctx.vmName(), peerPhase);
        if (ctx.isHeld()) {
            ctx.releaseHold();
        }
        resume(ctx, r, List.of());
        return true;
    }

    /** Post-copy had been asked for: the source's guest must never run again here; it stays paused, held. */
    static void keepPausedAfterPostcopy(VmJobContext ctx, MigrationRecords.Outgoing r) {
        log.warn("VM {}: migration {} was in post-copy ({}): the guest stays paused here, never resumed (its RAM may be"
                + " only on {}); finish the post-copy there or decide by hand", ctx.vmName(), r.id(), r.phase(), r.destination());
        if (!ctx.isHeld()) {
            ctx.holdGuest("post-copy to " + r.destination() + " was under way: the destination may hold the guest's RAM",
                    c -> {
                        throw new JvirtException(ErrorCode.INVALID_STATE, "VM '" + c.vmName() + "' was in post-copy to "
                                + r.destination() + ": it is never resumed here");
                    });
        }
    }

    private void rollBack(VmJobContext ctx, MigrationRecords.Outgoing r) {
        try (PeerChannel ch = connector.connect(URI.create(r.destination()))) {
            ch.call("POST", "/v1/peer/migrations/" + r.id() + "/abort",
                    new PeerMessages.Abort("the source daemon restarted"), Duration.ofSeconds(30));
        } catch (RuntimeException e) {
            log.info("VM {}: abort not delivered to {} ({}); its watchdog ended its side", ctx.vmName(), r.destination(),
                    e.getMessage());
        }
        resume(ctx, r, r.copyStorage() ? r.mirrors() : List.of());
    }

    private void resume(VmJobContext ctx, MigrationRecords.Outgoing r, List<String> mirrors) {
        ctx.monitor().ifPresent(m -> {
            try (QemuMigration migration = QemuMigration.follow(m)) {
                migration.settle(Duration.ofSeconds(30));
            } catch (RuntimeException e) {
                log.warn("VM {}: settling the migration: {}", ctx.vmName(), e.getMessage());
            }
            StorageMirrors.settle(m, mirrors);
            MigrationSource.resumeIfPaused(m, ctx.vmName());
        });
        records.removeOutgoing(ctx.vmName());
    }
}
