package io.jvirt.qemu.monitor;

import io.jvirt.error.ErrorCode;
import io.jvirt.error.JvirtException;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * One migration of a QEMU followed through its MIGRATION events (the {@link MigrationCapability#EVENTS}
 * capability): subscribe before starting it, wait for its end racing the monitor's close. The same for an outgoing
 * and an incoming migration.
 */
public final class QemuMigration implements AutoCloseable {
    private final Monitor monitor;
    private final CompletableFuture<MigrationStatus> end = new CompletableFuture<>();
    private final Subscription subscription;
    private final Subscription passes;
    private final java.util.concurrent.LinkedBlockingQueue<Step> steps = new java.util.concurrent.LinkedBlockingQueue<>();

    /**
     * What happened next to the migration: a new {@code status}, a new {@code pass} over dirty RAM, or an
     * {@code interruption} (QEMU exited, or the follower's own reason from {@link #interrupt}).
     */
    public record Step(MigrationStatus status, long pass, String interruption) {
    }

    private QemuMigration(Monitor monitor) {
        this.monitor = monitor;
        this.subscription = monitor.on(MonitorEvent.MIGRATION, e -> {
            steps.add(new Step(e.status(), 0, null));
            if (e.status().isEnd()) {
                end.complete(e.status());
            }
        });
        this.passes = monitor.on(MonitorEvent.MIGRATION_PASS, e -> steps.add(new Step(null, e.pass(), null)));
        monitor.closed().whenComplete((v, t) -> steps.add(new Step(null, 0, "QEMU exited")));
    }

    /**
     * The next status change, pass or interruption, in order; null when nothing happened within {@code timeout}
     * (the caller samples progress then and waits again).
     */
    public Step next(Duration timeout) {
        try {
            return steps.poll(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new Step(null, 0, "interrupted");
        }
    }

    /** Makes the waiter in {@link #next} see {@code why} at once (a lost peer, a cancel). */
    public void interrupt(String why) {
        steps.add(new Step(null, 0, why));
    }

    /** Subscribes to the migration's events; start the migration after this. */
    public static QemuMigration follow(Monitor monitor) {
        return new QemuMigration(monitor);
    }

    /**
     * Turns on what following needs (status events) and sets the bandwidth limit; a QEMU without migration
     * events is refused here, before anything started.
     */
    public QemuMigration prepare(long maxBandwidth) {
        monitor.require(Feature.MIGRATION_EVENTS, "following a migration by its events");
        monitor.migration().migrateSetCapabilities(Map.of(MigrationCapability.EVENTS, true));
        monitor.migration().migrateSetParameters(new MigrationParameters(maxBandwidth));
        return this;
    }

    /** Waits for completed, failed or cancelled; {@code qemu-failed} if QEMU exits first, {@code timeout} after it. */
    public MigrationStatus awaitEnd(Duration timeout) {
        try {
            CompletableFuture.anyOf(end, monitor.closed()).get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            throw new JvirtException(ErrorCode.TIMEOUT, "the migration did not end within " + timeout.toSeconds() + " s");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new JvirtException(ErrorCode.CANCELLED, "interrupted while waiting for the migration");
        } catch (ExecutionException e) {
            throw new JvirtException(ErrorCode.INTERNAL, e.getCause().toString());
        }
        if (!end.isDone()) {
            throw new JvirtException(ErrorCode.QEMU_FAILED, "QEMU exited during the migration");
        }
        return end.join();
    }

    /** Why the last migration failed, in QEMU's words (query-migrate after its end event). */
    public String error() {
        try {
            String desc = monitor.migration().queryMigrate().errorDesc();
            return desc == null ? "no reason given" : desc;
        } catch (MonitorException e) {
            return e.getMessage();
        }
    }

    /**
     * A migration a dead daemon started fails once its socket is gone; if one is still under way, cancels it and
     * waits (by its event) for its end, so a new one can start.
     */
    public void settle(Duration timeout) {
        MigrationStatus now = monitor.migration().queryMigrate().status(); // after subscribing: no event missed
        if (now.isUnderWay()) {
            monitor.migration().migrateCancel();
            awaitEnd(timeout);
        }
    }

    @Override
    public void close() {
        subscription.close();
        passes.close();
    }
}
