package io.jvirt.migration;

import io.jvirt.error.ErrorCode;
import io.jvirt.error.JvirtException;
import io.jvirt.qemu.monitor.MigrationStatus;
import io.jvirt.qemu.monitor.Monitor;
import io.jvirt.qemu.monitor.QemuMigration;
import io.jvirt.qemu.monitor.RunState;
import io.jvirt.vm.VmJobContext;
import io.jvirt.vm.VmManager;
import java.net.URI;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The source's side of a post-copy its daemon did not see through (it restarted, or lost Finish's answer): its
 * QEMU (adopted) and the destination say where the migration is, and this finishes it. Never resumes the guest
 * here once QEMU switched: the destination may hold the only complete state (docs/migration.md, "Post-copy").
 * <ul>
 *   <li>QEMU's vCPUs still run: QEMU never switched (the switch stops them for good); a pre-copy still under way
 *       is cancelled, the destination told to abort: the VM runs on here;
 *   <li>QEMU past the switch (postcopy-active, -paused, -recover, completed) and the destination has it: heartbeat,
 *       Finish if it never came, resume a paused post-copy on a new port ({@code migrate-recover} there,
 *       {@code migrate resume} here), follow QEMU's events to {@code completed}, Confirm;
 *   <li>the destination no longer has it: a completed pre-copy (never switched) resumes here; a switched one is
 *       held paused with the reason (the destination dropped its half: a person decides);
 *   <li>QEMU gone: the destination is told the source's half of RAM died ({@link #sourceQemuLost}).
 * </ul>
 */
final class PostcopyRecovery {
    private static final Logger log = LoggerFactory.getLogger(PostcopyRecovery.class);

    private final VmManager vms;
    private final MigrationRecords records;
    private final PeerConnector connector;

    PostcopyRecovery(VmManager vms, MigrationRecords records, PeerConnector connector) {
        this.vms = vms;
        this.records = records;
        this.connector = connector;
    }

    /** Finishes the post-copy of {@code vm} as a job of the VM, on a thread of its own (it lasts as long as the copy). */
    void finishLater(String vm) {
        Thread.ofVirtual().name("postcopy-recovery-" + vm).start(() -> {
            try {
                vms.runJob(vm, MigrationJob.OUTGOING, Duration.ofSeconds(120), ctx -> {
                    records.outgoing(vm).ifPresent(r -> finish(ctx, r));
                    return null;
                });
            } catch (RuntimeException e) {
                log.error("VM {}: the post-copy could not be finished: {}", vm, e.getMessage());
            }
        });
    }

    private void finish(VmJobContext ctx, MigrationRecords.Outgoing r) {
        String vm = ctx.vmName();
        String base = "/v1/peer/migrations/" + r.id();
        URI dest = URI.create(r.destination());
        Monitor m = ctx.monitor().orElse(null);
        if (m == null || !m.isOpen()) {
            log.error("VM {}: its QEMU is gone and migration {} was at {}", vm, r.id(), r.phase());
            PeerChannel ch = connectPatiently(dest, Duration.ofMinutes(2));
            throw sourceQemuLost(ctx, r, true, ch, records, connector);
        }
        try (QemuMigration migration = QemuMigration.follow(m)) {
            MigrationStatus now = m.migration().queryMigrate().status(); // after subscribing: no event missed
            RunState run = m.queryStatus().status();
            log.info("VM {}: migration {} was at {}: QEMU's migration is {}, the guest {}", vm, r.id(), r.phase(),
                    now.wire(), run.wire());
            if (run == RunState.RUNNING && !now.isPostcopy()) {
                if (now.isUnderWay()) {
                    m.migration().migrateCancel(); // a switch asked for a moment ago still loses to the cancel or wins
                    now = awaitSettled(migration, now);
                }
                if (!now.isPostcopy()) {
                    log.info("VM {}: the switch to post-copy never happened (the guest runs here): rolled back", vm);
                    abortThere(dest, base, "the source daemon restarted before the switch to post-copy");
                    records.removeOutgoing(vm);
                    return;
                }
            }
            if (now == MigrationStatus.PRE_SWITCHOVER) {
                // paused before the switch (copied disks): no device state has left and the disks are still active
                // here, so nothing can run there yet: cancel, end the mirrors, resume
                m.migration().migrateCancel();
                now = awaitSettled(migration, now);
                if (!now.isPostcopy()) {
                    StorageMirrors.settle(m, r.mirrors());
                    MigrationSource.resumeIfPaused(m, vm);
                    log.info("VM {}: the migration was held before the switch to post-copy: rolled back", vm);
                    abortThere(dest, base, "the source daemon restarted before the switch to post-copy");
                    records.removeOutgoing(vm);
                    return;
                }
            }
            PeerChannel ch = connectPatiently(dest, Duration.ofMinutes(10));
            if (ch == null) {
                MigrationRecovery.keepPausedAfterPostcopy(ctx, r); // the record stays: the next restart asks again
                return;
            }
            try {
                String peer = peerPhase(ch, base);
                log.info("VM {}: the destination has migration {} at {}", vm, r.id(), peer);
                if (peer.equals("aborted")) {
                    if (now == MigrationStatus.COMPLETED) {
                        // a pre-copy that completed (never switched) and was never run there: ours is the whole state
                        log.info("VM {}: the destination dropped a completed pre-copy: resuming here", vm);
                        MigrationSource.resumeIfPaused(m, vm);
                        records.removeOutgoing(vm);
                    } else {
                        log.error("VM {}: the destination dropped its side of the switched post-copy {}: the guest's"
                                + " state is split; it stays paused here", vm, r.id());
                        MigrationRecovery.keepPausedAfterPostcopy(ctx, r);
                    }
                    return;
                }
                if (peer.equals("lost")) {
                    // the destination's QEMU died in post-copy (ours paused on it): ended as the live source does
                    PostcopySource.lostThere(ctx, records, connector, dest, r.id(), ch);
                    return;
                }
                ch.startHeartbeat(base + "/ping");
                if (peer.equals("incoming")) {
                    ch.call("POST", base + "/finish", null, Duration.ofSeconds(60)); // the guest runs there now
                    log.info("VM {}: Finish of the post-copy delivered after the restart", vm);
                }
                records.put(r.at("postcopy-running-there"));
                ch = followToEnd(ctx, m, migration, ch, r, base, now);
                records.put(r.at("completed"));
                records.put(r.at("confirmed"));
                ctx.migratedAway(!r.keepSource());
                try {
                    ch.call("POST", base + "/confirmed", null, Duration.ofSeconds(10));
                } catch (RuntimeException e) {
                    log.info("VM {}: confirm not delivered ({}); the destination keeps its record", vm, e.getMessage());
                }
                if (r.keepSource()) {
                    records.removeOutgoing(vm);
                }
                log.info("VM {}: post-copy migration {} finished after the restart: the VM runs on {}", vm, r.id(), dest);
            } finally {
                ch.close();
            }
        }
    }

    /** Acts on each new status: a pause is resumed on a new port; returns the channel in use at completion. */
    private PeerChannel followToEnd(VmJobContext ctx, Monitor m, QemuMigration migration, PeerChannel ch,
                                    MigrationRecords.Outgoing r, String base, MigrationStatus now) {
        URI dest = URI.create(r.destination());
        MigrationStatus acted = null;
        long retryUntil = System.nanoTime() + TimeUnit.MINUTES.toNanos(5);
        while (now != MigrationStatus.COMPLETED) {
            if (now != acted) {
                acted = now;
                if (now == MigrationStatus.POSTCOPY_PAUSED) {
                    if (ch.lost().isDone()) {
                        ch.close();
                        ch = connectPatiently(dest, Duration.ofMinutes(10));
                        if (ch == null) {
                            throw new JvirtException(ErrorCode.PEER_UNREACHABLE, "the destination does not answer");
                        }
                        ch.startHeartbeat(base + "/ping");
                    }
                    records.put(r.at("postcopy-resuming"));
                    try {
                        PeerMessages.Recovering rc = connector.mapper().convertValue(
                                ch.call("POST", base + "/recover", null, Duration.ofSeconds(60)), PeerMessages.Recovering.class);
                        if (rc.completed()) {
                            log.info("VM {}: the destination's post-copy completed before the link broke", ctx.vmName());
                            return ch;
                        }
                        log.info("VM {}: resuming the paused post-copy to {}", ctx.vmName(), rc.uri());
                        m.migration().migrateResume(rc.uri());
                    } catch (RuntimeException e) {
                        // the destination's QEMU may answer late (an in-band command behind a stuck return path)
                        if (System.nanoTime() > retryUntil) {
                            throw e;
                        }
                        log.warn("VM {}: resuming the post-copy failed ({}); trying again in 5 s", ctx.vmName(), e.getMessage());
                        acted = null;
                        sleep(Duration.ofSeconds(5));
                    }
                } else if (now == MigrationStatus.FAILED || now == MigrationStatus.CANCELLED) {
                    MigrationRecovery.keepPausedAfterPostcopy(ctx, r);
                    throw new JvirtException(ErrorCode.MIGRATION_FAILED, "the post-copy " + now.wire() + ": " + migration.error());
                }
            }
            QemuMigration.Step s = migration.next(Duration.ofSeconds(1));
            if (s == null) {
                continue;
            }
            if ("QEMU exited".equals(s.interruption())) {
                throw sourceQemuLost(ctx, r, true, ch, records, connector);
            }
            if (s.status() != null) {
                now = s.status();
            }
        }
        return ch;
    }

    private static void sleep(Duration d) {
        try {
            Thread.sleep(d.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new JvirtException(ErrorCode.CANCELLED, "interrupted");
        }
    }

    /** After a cancel: the end, or the post-copy that won the race against it (by events). */
    private static MigrationStatus awaitSettled(QemuMigration migration, MigrationStatus now) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!now.isEnd() && !now.isPostcopy() && System.nanoTime() < deadline) {
            QemuMigration.Step s = migration.next(Duration.ofSeconds(1));
            if (s != null && s.status() != null) {
                now = s.status();
            }
        }
        return now;
    }

    private String peerPhase(PeerChannel ch, String base) {
        try {
            return connector.mapper().convertValue(ch.call("GET", base, null, connector.bound()), PeerMessages.Phase.class)
                    .phase();
        } catch (JvirtException e) {
            if (e.code() == ErrorCode.NOT_FOUND) {
                return "aborted";
            }
            throw e;
        }
    }

    private void abortThere(URI dest, String base, String why) {
        try (PeerChannel ch = connector.connect(dest)) {
            ch.call("POST", base + "/abort", new PeerMessages.Abort(why), Duration.ofSeconds(30));
        } catch (RuntimeException e) {
            log.info("abort not delivered to {} ({}); its side ended by itself", dest, e.getMessage());
        }
    }

    /** A channel to {@code dest}, trying every 2 s for up to {@code patience} (its daemon may be restarting); or null. */
    private PeerChannel connectPatiently(URI dest, Duration patience) {
        long deadline = System.nanoTime() + patience.toNanos();
        while (true) {
            try {
                return connector.connect(dest);
            } catch (RuntimeException e) {
                if (System.nanoTime() > deadline) {
                    log.warn("cannot reach {}: {}", dest, e.getMessage());
                    return null;
                }
            }
            try {
                Thread.sleep(2000);
            } catch (InterruptedException e) {
                return null;
            }
        }
    }

    /** True when QEMU has exited (its monitor closed within 2 s). */
    static boolean qemuDied(Monitor m) {
        try {
            m.closed().get(2, TimeUnit.SECONDS);
            return true;
        } catch (java.util.concurrent.TimeoutException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        } catch (java.util.concurrent.ExecutionException e) {
            return true;
        }
    }

    /**
     * The source's QEMU died past the switch: its half of RAM is gone, so the guest can run nowhere. The destination
     * is told (its {@code abort}): if it ran the guest it ends its QEMU and keeps the VM crashed with the reason
     * ("lost"), and the VM is undefined here; if it never ran it, it aborts and the VM stays crashed here. Returns
     * the error for the migration's operation.
     */
    static JvirtException sourceQemuLost(VmJobContext ctx, MigrationRecords.Outgoing r, boolean finishAttempted,
                                         PeerChannel ch, MigrationRecords records, PeerConnector connector) {
        String vm = ctx.vmName();
        String reason = finishAttempted ? "the source's QEMU died during post-copy: the guest's RAM was split between the"
                + " two hosts" : "the source's QEMU died once the switch to post-copy was asked for, before the guest ran on"
                + " the destination";
        String there = "unknown";
        if (ch != null) {
            try {
                there = connector.mapper().convertValue(ch.call("POST", "/v1/peer/migrations/" + r.id() + "/abort",
                        new PeerMessages.Abort(reason), Duration.ofSeconds(60)), PeerMessages.Phase.class).phase();
            } catch (JvirtException e) {
                there = e.code() == ErrorCode.NOT_FOUND ? "aborted" : "unknown";
                log.info("VM {}: abort after the source's QEMU died: {}", vm, e.getMessage());
            }
        }
        log.error("VM {}: {} (Finish {}); the destination says {}", vm, reason, finishAttempted ? "sent" : "not sent", there);
        switch (there) {
            case "lost" -> {
                records.removeOutgoing(vm);
                ctx.migratedAway(true); // the VM is the destination's now, crashed there with the reason
                return new JvirtException(ErrorCode.QEMU_FAILED, "VM '" + vm + "': " + reason + "; it had run on "
                        + r.destination() + " since the switch and is crashed there", Map.of("vm", vm, "outcome", "lost"));
            }
            case "aborted" -> {
                records.removeOutgoing(vm);
                return new JvirtException(ErrorCode.QEMU_FAILED, "VM '" + vm + "': its QEMU died before the guest ran on "
                        + r.destination() + "; it is crashed here", Map.of("vm", vm, "outcome", "crashed"));
            }
            default -> {
                return new JvirtException(ErrorCode.QEMU_FAILED, "VM '" + vm + "': " + reason + "; the destination did not"
                        + " answer: the record is kept for the next restart", Map.of("vm", vm, "outcome", "unknown-lost"));
            }
        }
    }
}
