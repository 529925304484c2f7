package io.jvirt.qemu.monitor;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * How long the guest's vCPUs stood still, by QEMU's own STOP and RESUME timestamps: from the last STOP to the
 * RESUME after it. Subscribe before the command that pauses the guest.
 */
public final class GuestPause implements AutoCloseable {
    private volatile Instant stopped;
    private volatile CompletableFuture<Instant> resumed = new CompletableFuture<>();
    private final Subscription subscription;

    private GuestPause(Monitor monitor) {
        this.subscription = Subscription.all(List.of(
                monitor.on(MonitorEvent.STOP, e -> {
                    stopped = e.at();
                    if (resumed.isDone()) {
                        resumed = new CompletableFuture<>();
                    }
                }),
                monitor.on(MonitorEvent.RESUME, e -> resumed.complete(e.at()))));
    }

    public static GuestPause measure(Monitor monitor) {
        return new GuestPause(monitor);
    }

    /** The pause so far seen, in milliseconds; null unless both its STOP and its RESUME arrived. */
    public Long millis() {
        CompletableFuture<Instant> r = resumed;
        Instant s = stopped;
        return s != null && r.isDone() ? Duration.between(s, r.join()).toMillis() : null;
    }

    /**
     * Waits up to {@code timeout} for the RESUME (QEMU dispatches it after {@code cont}'s answer), then returns the
     * pause; null if no STOP was seen or no RESUME came in time.
     */
    public Long awaitMillis(Duration timeout) {
        try {
            Instant r = resumed.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
            Instant s = stopped;
            return s == null ? null : Duration.between(s, r).toMillis();
        } catch (TimeoutException | ExecutionException e) {
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        }
    }

    @Override
    public void close() {
        subscription.close();
    }
}
