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
     * The keepalive saw the link drop during post-copy: make QEMU pause now (its socket would wait for TCP to give
     * up, minutes) rather than let the destination's guest hang on missing pages unnoticed.
     */
    void onPeerLost(Monitor m, String why) {
        log.warn("VM {}: peer lost during post-copy ({}); pausing the post-copy", vm, why);
        if (!paused) {
            try {
                m.migration().migratePause();
            } catch (MonitorException e) {
                log.info("VM {}: migrate-pause: {} (QEMU may have paused by itself)", vm, e.getMessage());
            }
        }
    }

    /**
     * Recovery: a new peer channel (the old one was lost), the destination listens again ({@code migrate-recover}
     * on a new port, same TLS credentials), then {@code migrate} with {@code resume}.
     */
    void resume(Monitor m, String base) {
        PeerChannel ch = connector.connect(destination);
        if (reconnected != null) {
            reconnected.close();
        }
        reconnected = ch;
        channel = ch;
        PeerMessages.Recovering r = connector.mapper().convertValue(
                ch.call("POST", base + "/recover", null, Duration.ofSeconds(60)), PeerMessages.Recovering.class);
        ch.startHeartbeat(base + "/ping");
        ch.lost().thenAccept(why -> migration.interrupt("peer lost: " + why));
        log.info("VM {}: resuming the post-copy to {}", vm, r.uri());
        m.migration().migrateResume(r.uri());
    }

    @Override
    public void close() {
        if (reconnected != null) {
            reconnected.close();
        }
    }
}
