package io.jvirt.migration;

import io.jvirt.error.ErrorCode;
import io.jvirt.error.JvirtException;
import io.jvirt.qemu.monitor.Monitor;
import io.jvirt.qemu.monitor.MonitorException;
import io.jvirt.qemu.monitor.QemuMigration;
import java.net.URI;
import java.time.Duration;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Post-copy on the source's side of one migration (docs/migration.md, "Post-copy"): when to switch (after the
 * first pass, on a stall, or when the user asks), and the recovery of a post-copy paused by a broken link. The
 * requests from other threads (the API's switch and resume) reach the migration's job as interruptions of its
 * {@link QemuMigration}, so the job acts on them in order, on its own thread.
 *
 * <p>Safety: from the moment the switch is asked for, the destination may run the guest with the only complete
 * state of RAM. The source never resumes its guest after that; a failure leaves it paused (outcome unknown).
 */
final class PostcopySource implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(PostcopySource.class);
    static final String SWITCH = "postcopy: switch requested";
    static final String RESUME = "postcopy: resume requested";

    private final String vm;
    private final MigrationRequest request;
    private final URI destination;
    private final PeerConnector connector;
    private volatile PeerChannel channel;
    private PeerChannel reconnected;
    private volatile QemuMigration migration;
    private volatile boolean requested;
    private volatile boolean started;
    private volatile boolean paused;
    private volatile boolean finishAttempted;
    private volatile boolean closed;

    PostcopySource(String vm, MigrationRequest request, URI destination, PeerConnector connector, PeerChannel channel) {
        this.vm = vm;
        this.request = request;
        this.destination = destination;
        this.connector = connector;
        this.channel = channel;
    }

    void attach(QemuMigration m) {
        this.migration = m;
    }

    boolean enabled() {
        return request.postcopyEnabled();
    }

    /** {@code --postcopy}: switch once the first pass over RAM is done (QEMU announces pass 2). */
    boolean switchAtPass(long pass) {
        return Boolean.TRUE.equals(request.postcopy()) && pass >= 2 && !requested;
    }

    /** {@code --postcopy-after-precopy}: switch when pre-copy does not converge. */
    boolean switchOnStall() {
        return Boolean.TRUE.equals(request.postcopyAfterPrecopy()) && !requested;
    }

    /** The switch was asked of QEMU: the source may no longer resume its guest. */
    boolean requested() {
        return requested;
    }

    /** QEMU reported post-copy (the destination runs the guest). */
    boolean started() {
        return started;
    }

    boolean paused() {
        return paused;
    }

    PeerChannel channel() {
        return channel;
    }

    /** From the API: asks the job to switch now. */
    void askSwitch() {
        if (!enabled()) {
            throw new JvirtException(ErrorCode.INVALID_STATE, "the migration of VM '" + vm + "' was started without"
                    + " post-copy (--postcopy or --postcopy-after-precopy): it cannot switch", Map.of("vm", vm));
        }
        if (requested) {
            throw new JvirtException(ErrorCode.INVALID_STATE, "the migration of VM '" + vm + "' is already in post-copy",
                    Map.of("vm", vm));
        }
        interrupt(SWITCH);
    }

    /** From the API: asks the job to recover a paused post-copy. */
    void askResume() {
        if (!paused) {
            throw new JvirtException(ErrorCode.INVALID_STATE, "the migration of VM '" + vm + "' is not a paused post-copy"
                    + (started ? " (it is in post-copy and moving)" : ""), Map.of("vm", vm));
        }
        interrupt(RESUME);
    }

    private void interrupt(String why) {
        QemuMigration m = migration;
        if (m == null) {
            throw new JvirtException(ErrorCode.INVALID_STATE, "the migration of VM '" + vm + "' has not reached QEMU yet",
                    Map.of("vm", vm));
        }
        m.interrupt(why);
    }

    /** Sends migrate-start-postcopy; the caller recorded the intent durably first. */
    void switchNow(Monitor m, String why) {
        requested = true;
        log.info("VM {}: switching the migration to post-copy ({})", vm, why);
        m.migration().migrateStartPostcopy();
    }

    void onActive() {
        started = true;
        paused = false;
    }

    void onPaused() {
        paused = true;
    }

    /**
     * At a pause with the peer channel up (so not a cut link): whether the destination says its QEMU died, which
     * pauses ours too (its migration socket closed). Asked a few times: its daemon may learn of the death a moment
     * after our QEMU did.
     */
    boolean destinationQemuDied(String base) {
        for (int i = 0; i < 4 && !channel.lost().isDone(); i++) {
            try {
                if (i > 0) {
                    Thread.sleep(500);
                }
                String there = connector.mapper().convertValue(channel.call("GET", base, null, connector.bound()),
                        PeerMessages.Phase.class).phase();
                if (there.equals("lost")) {
                    return true;
                }
            } catch (RuntimeException e) {
                return false; // no answer: a link problem, for `migrate --resume`
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
        }
        return false;
    }

    /**
     * The destination's QEMU died in post-copy: the guest's newest state died with it and ours is incomplete, so it
     * can run nowhere. The destination keeps the VM crashed (it ran there last); ours is ended and undefined, the
     * destination told (Confirm drops its record). Returns the operation's error. Also a restarted source's end.
     */
    static JvirtException lostThere(io.jvirt.vm.VmJobContext ctx, MigrationRecords records, PeerConnector connector,
                                    URI destination, String id, PeerChannel channel) {
        String vm = ctx.vmName();
        String reason = "the destination's QEMU died during post-copy: the guest's RAM was split between the two hosts";
        log.error("VM {}: {}; it stays crashed on {}, its QEMU here is ended", vm, reason, destination);
        ctx.migratedAway(true);
        records.removeOutgoing(vm);
        MigrationSource.sendConfirmed(connector, destination, id, channel); // best effort
        return new JvirtException(ErrorCode.QEMU_FAILED, "VM '" + vm + "': " + reason + "; it is crashed on "
                + destination, Map.of("vm", vm, "outcome", "lost"));
    }

    /** Whether Finish went (or is going) to the destination: from then on it may run the guest. */
    boolean finishAttempted() {
        return finishAttempted;
    }

    /** A lost peer that went silent (a cut link, a dead host), not one whose daemon closed the connection. */
    static boolean silent(String why) {
        return why.contains("peer silent");
    }

    /**
     * The keepalive saw the peer go during post-copy. Silence (a cut link): make QEMU pause now (its socket would
     * wait for TCP to give up, minutes) rather than let the destination's guest hang on missing pages unnoticed. A
     * closed connection (the destination's daemon died: its host answered): the QEMUs' own link stands and the
     * post-copy goes on; the channel is reconnected in the background (the daemon's restart adopts its side).
     */
    void onPeerLost(Monitor m, String why, String base) {
        if (!channel.lost().isDone()) {
            return; // a stale interruption: reconnected since
        }
        if (!silent(why)) {
            log.warn("VM {}: the destination's daemon closed the peer connection during post-copy ({}); the QEMUs go on,"
                    + " reconnecting", vm, why);
            reconnectInBackground(base);
            return;
        }
        log.warn("VM {}: peer lost during post-copy ({}); pausing the post-copy", vm, why);
        if (!paused) {
            try {
                m.migration().migratePause();
            } catch (MonitorException e) {
                log.info("VM {}: migrate-pause: {} (QEMU may have paused by itself)", vm, e.getMessage());
            }
        }
    }

    private void reconnectInBackground(String base) {
        Thread.ofVirtual().name("postcopy-reconnect-" + vm).start(() -> {
            long deadline = System.nanoTime() + Duration.ofMinutes(5).toNanos();
            while (!closed && System.nanoTime() < deadline) {
                try {
                    reconnect(base);
                    log.info("VM {}: peer channel to {} reconnected", vm, destination);
                    return;
                } catch (RuntimeException e) {
                    log.debug("VM {}: reconnecting to {}: {}", vm, destination, e.getMessage());
                }
                try {
                    Thread.sleep(1000);
                } catch (InterruptedException e) {
                    return;
                }
            }
        });
    }

    /** A new channel to the destination with its heartbeat; its loss interrupts the migration as the first one's. */
    synchronized PeerChannel reconnect(String base) {
        PeerChannel ch = connector.connect(destination);
        if (closed) {
            ch.close();
            throw new JvirtException(ErrorCode.CANCELLED, "the migration of VM '" + vm + "' has ended");
        }
        if (reconnected != null) {
            reconnected.close();
        }
        reconnected = ch;
        channel = ch;
        ch.startHeartbeat(base + "/ping");
        QemuMigration m = migration;
        ch.lost().thenAccept(why -> {
            if (m != null) {
                m.interrupt("peer lost: " + why);
            }
        });
        return ch;
    }

    /**
     * Finish at the switch: the destination runs the guest. A connection that breaks (its daemon restarting) is
     * reconnected and Finish sent again (the destination answers it from its record after a restart) for up to
     * {@code patience}; the QEMUs go on meanwhile.
     */
    void finishThere(String base, PeerMessages.Finish body, Duration patience) {
        finishAttempted = true;
        long deadline = System.nanoTime() + patience.toNanos();
        while (true) {
            try {
                channel.call("POST", base + "/finish", body, Duration.ofSeconds(60));
                return;
            } catch (JvirtException e) {
                if (e.code() != ErrorCode.PEER_LOST || System.nanoTime() > deadline) {
                    throw e;
                }
                log.warn("VM {}: Finish of the post-copy not answered ({}); asking again", vm, e.getMessage());
            }
            try {
                Thread.sleep(1000);
                reconnect(base);
            } catch (InterruptedException e) {
                throw new JvirtException(ErrorCode.CANCELLED, "interrupted while sending Finish");
            } catch (RuntimeException e) {
                log.debug("VM {}: reconnecting for Finish: {}", vm, e.getMessage());
            }
        }
    }

    /** The channel for Confirm: the current one, or a new one if it was lost (Confirm is best effort). */
    PeerChannel channelForConfirm(String base) {
        if (channel.lost().isDone()) {
            try {
                return reconnect(base);
            } catch (RuntimeException e) {
                log.info("VM {}: cannot reconnect to confirm: {}", vm, e.getMessage());
            }
        }
        return channel;
    }

    /**
     * Recovery: a new peer channel (the old one was lost), the destination listens again ({@code migrate-recover}
     * on a new port, same TLS credentials), then {@code migrate} with {@code resume}.
     */
    boolean resume(Monitor m, String base) {
        PeerChannel ch = reconnect(base);
        PeerMessages.Recovering r = connector.mapper().convertValue(
                ch.call("POST", base + "/recover", null, Duration.ofSeconds(60)), PeerMessages.Recovering.class);
        if (r.completed()) {
            log.info("VM {}: the destination's post-copy completed before the link broke: nothing to resume", vm);
            return false;
        }
        log.info("VM {}: resuming the post-copy to {}", vm, r.uri());
        m.migration().migrateResume(r.uri());
        return true;
    }

    @Override
    public synchronized void close() {
        closed = true;
        if (reconnected != null) {
            reconnected.close();
        }
    }
}
