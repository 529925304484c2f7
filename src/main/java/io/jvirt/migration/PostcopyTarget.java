package io.jvirt.migration;

import io.jvirt.error.ErrorCode;
import io.jvirt.error.JvirtException;
import io.jvirt.qemu.monitor.MigrationStatus;
import io.jvirt.qemu.monitor.Monitor;
import io.jvirt.qemu.monitor.MonitorException;
import io.jvirt.qemu.monitor.QemuMigration;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Post-copy on the destination's side: the guest runs here from the switch (Finish comes at postcopy-active) while
 * QEMU pulls the pages not yet sent, so this follows the incoming migration past the guest's start: a source that
 * goes silent (its heartbeats stop) makes it {@code migrate-pause} QEMU, and {@link #recover} listens again for the
 * source's resume. The guest's state is only here now: nothing on this side is ever cancelled or destroyed.
 */
final class PostcopyTarget {
    private static final Logger log = LoggerFactory.getLogger(PostcopyTarget.class);

    private final String id;
    private final String vm;
    private final Monitor monitor;
    private final QemuMigration migration;
    private final LongSupplier lastHeard;
    private final long boundNanos;
    private volatile CompletableFuture<Void> paused = new CompletableFuture<>();
    private final CompletableFuture<MigrationStatus> ended = new CompletableFuture<>();
    private volatile boolean pauseAsked;

    private PostcopyTarget(String id, String vm, Monitor monitor, LongSupplier lastHeard, long boundMs) {
        this.id = id;
        this.vm = vm;
        this.monitor = monitor;
        this.migration = QemuMigration.follow(monitor);
        this.lastHeard = lastHeard;
        this.boundNanos = TimeUnit.MILLISECONDS.toNanos(Math.max(500, boundMs));
    }

    /**
     * QEMU runs without capabilities: 7.2 gets a userfaultfd only with {@code vm.unprivileged_userfaultfd = 1}
     * (otherwise its migrate-set-capabilities says only "Postcopy is not supported").
     */
    static void checkHost() {
        try {
            String v = java.nio.file.Files.readString(java.nio.file.Path.of("/proc/sys/vm/unprivileged_userfaultfd")).trim();
            if (v.equals("0")) {
                throw new JvirtException(ErrorCode.INVALID_STATE, "this host cannot take a post-copy migration: its QEMUs"
                        + " run unprivileged and vm.unprivileged_userfaultfd is 0 (set it to 1, as scripts/lib.sh does)",
                        java.util.Map.of("sysctl", "vm.unprivileged_userfaultfd"));
            }
        } catch (java.io.IOException e) {
            // no such sysctl (an old kernel): let QEMU decide
        }
    }

    /**
     * After Finish: waits (by the events the incoming follower buffered) until the guest may run here, that is
     * postcopy-active or completed (a migration that converged before the switch). Any other end fails.
     */
    static MigrationStatus awaitRunnable(QemuMigration incoming, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            QemuMigration.Step s = incoming.next(Duration.ofMillis(500));
            if (s == null || (s.status() == null && s.interruption() == null)) {
                continue;
            }
            if (s.interruption() != null) {
                throw new JvirtException(ErrorCode.QEMU_FAILED, "incoming post-copy: " + s.interruption());
            }
            switch (s.status()) {
                case POSTCOPY_ACTIVE, COMPLETED -> {
                    return s.status();
                }
                case FAILED, CANCELLED -> throw new JvirtException(ErrorCode.MIGRATION_FAILED,
                        "the destination's incoming migration ended " + s.status().wire() + ": " + incoming.error());
                default -> { }
            }
        }
        throw new JvirtException(ErrorCode.TIMEOUT, "the destination did not reach post-copy within " + timeout.toSeconds() + " s");
    }

    /** Subscribes now (before the guest starts) and follows the rest of the incoming post-copy on a thread of its own. */
    static PostcopyTarget follow(String id, String vm, Monitor monitor, LongSupplier lastHeard, long boundMs) {
        PostcopyTarget t = new PostcopyTarget(id, vm, monitor, lastHeard, boundMs);
        Thread.ofVirtual().name("postcopy-in-" + vm).start(t::run);
        return t;
    }

    private void run() {
        try (migration) {
            // after subscribing: where it is now (a follower started after a restart, or after the pause, missed it)
            MigrationStatus now = monitor.migration().queryMigrate().status();
            if (now == MigrationStatus.POSTCOPY_PAUSED) {
                paused.complete(null);
            } else if (now.isEnd()) {
                log.info("incoming migration {}: VM {}: post-copy {}", id, vm, now.wire());
                ended.complete(now);
                return;
            }
            while (true) {
                QemuMigration.Step s = migration.next(Duration.ofMillis(200));
                if (s != null && s.interruption() != null) {
                    // the pages still on the source die with the source's QEMU, the newest ones died here: the
                    // guest can run nowhere; the source learns it from our phase (lost) when its QEMU pauses
                    log.error("incoming migration {}: VM {}: its QEMU exited during post-copy ({}): the guest is lost",
                            id, vm, s.interruption());
                    ended.complete(MigrationStatus.UNKNOWN);
                    return;
                }
                if (s != null && s.status() != null) {
                    switch (s.status()) {
                        case POSTCOPY_PAUSED -> {
                            log.warn("incoming migration {}: VM {}: post-copy paused; waiting for the source's resume", id, vm);
                            paused.complete(null);
                        }
                        case POSTCOPY_ACTIVE -> {
                            if (paused.isDone()) {
                                log.info("incoming migration {}: VM {}: post-copy resumed", id, vm);
                                paused = new CompletableFuture<>();
                                pauseAsked = false;
                            }
                        }
                        case COMPLETED, FAILED, CANCELLED -> {
                            log.info("incoming migration {}: VM {}: post-copy {}", id, vm, s.status().wire());
                            ended.complete(s.status());
                            return;
                        }
                        default -> { }
                    }
                }
                // the source's heartbeats stopped: its side is gone or cut off; pause ours rather than hang on a
                // socket TCP would take minutes to declare dead (the paused guest waits for pages either way)
                if (!paused.isDone() && !pauseAsked && System.nanoTime() - lastHeard.getAsLong() > boundNanos) {
                    pauseAsked = true;
                    log.warn("incoming migration {}: VM {}: the source is silent; pausing the post-copy", id, vm);
                    try {
                        monitor.migration().migratePause();
                    } catch (MonitorException e) {
                        log.info("incoming migration {}: migrate-pause: {}", id, e.getMessage());
                    }
                }
            }
        }
    }

    boolean ended() {
        return ended.isDone();
    }

    /** This QEMU exited before its post-copy ended: the guest's RAM was split, its newest half is gone. */
    boolean qemuExited() {
        return ended.isDone() && ended.join() == MigrationStatus.UNKNOWN;
    }

    /** The source asks to resume: once paused here, listen again on {@code uri} (same TLS credentials). */
    void recover(String uri, Duration timeout) {
        if (ended.isDone()) {
            throw new JvirtException(ErrorCode.INVALID_STATE, "the incoming post-copy of VM '" + vm + "' has ended ("
                    + ended.join().wire() + ")");
        }
        if (!paused.isDone() && !pauseAsked) {
            pauseAsked = true;
            try {
                monitor.migration().migratePause(); // the link came back before our side noticed it broke
            } catch (MonitorException e) {
                log.info("incoming migration {}: migrate-pause: {}", id, e.getMessage());
            }
        }
        try {
            paused.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (Exception e) {
            throw new JvirtException(ErrorCode.TIMEOUT, "the destination's post-copy did not pause within "
                    + timeout.toSeconds() + " s: it cannot be recovered");
        }
        monitor.migration().migrateRecover(uri);
    }
}
