package io.jvirt.hotplug;

import io.jvirt.qemu.monitor.Monitor;
import io.jvirt.qemu.monitor.MonitorEvent;
import io.jvirt.qemu.monitor.Subscription;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Asks QEMU to unplug a device and waits for the guest by events: DEVICE_DELETED (done),
 * DEVICE_UNPLUG_GUEST_ERROR or an ACPI_DEVICE_OST with a failure status (the guest refused), the monitor's end,
 * or the timeout (the guest has not answered: the unplug stays asked for). Subscribed before the request is sent.
 */
final class UnplugWait {
    enum Outcome { DELETED, REFUSED, TIMEOUT, QEMU_GONE }

    record Result(Outcome outcome, String detail, long millis) {
    }

    private UnplugWait() {
    }

    /** Whether an event about {@code device} (an id or a QOM path) names it. */
    static boolean names(String device, String eventDevice, String eventPath) {
        return device.equals(eventDevice) || device.equals(eventPath) || ("/machine/peripheral/" + device).equals(eventPath);
    }

    /**
     * Whether a DEVICE_DELETED ends the unplug of {@code device}. A vCPU ({@code byChild}) is different on QEMU 7.2:
     * only its child {@code …/lapic} is reported deleted (checked: no event for the CPU device itself follows), so
     * a child's event counts. For any other device a child goes first (a disk's {@code …/virtio-backend}) and only
     * the device's own event means its backend may go.
     */
    static boolean ends(String device, boolean byChild, String eventDevice, String eventPath) {
        return names(device, eventDevice, eventPath) || byChild && eventPath.startsWith(device + "/");
    }

    /**
     * ACPI _OST status of an eject that the guest refused: 1 failure, 2 unrecognized, 0x80-0x83 (not supported,
     * in use, busy, dependency busy); 0 is success and 0x84 "ejection in progress".
     */
    static boolean refusal(int status) {
        return status == 1 || status == 2 || (status >= 0x80 && status <= 0x83);
    }

    static Result unplug(Monitor m, String device, Runnable request, Duration timeout, CompletableFuture<?> cancelled) {
        return unplug(m, device, false, request, timeout, cancelled);
    }

    static Result unplug(Monitor m, String device, boolean byChild, Runnable request, Duration timeout,
                         CompletableFuture<?> cancelled) {
        CompletableFuture<Result> done = new CompletableFuture<>();
        long t0 = System.nanoTime();
        List<Subscription> subs = List.of(
                m.on(MonitorEvent.DEVICE_DELETED, e -> {
                    if (ends(device, byChild, e.device(), e.path())) {
                        done.complete(new Result(Outcome.DELETED, null, ms(t0)));
                    }
                }),
                m.on(MonitorEvent.DEVICE_UNPLUG_GUEST_ERROR, e -> {
                    if (names(device, e.device(), e.path())) {
                        done.complete(new Result(Outcome.REFUSED, "the guest refused to release it (DEVICE_UNPLUG_GUEST_ERROR)", ms(t0)));
                    }
                }),
                m.on(MonitorEvent.ACPI_DEVICE_OST, e -> {
                    if (e.source() == 3 && refusal(e.status()) && names(device, e.device(), e.device())) {
                        done.complete(new Result(Outcome.REFUSED, "the guest refused to eject it (ACPI _OST status 0x"
                                + Integer.toHexString(e.status()) + ")", ms(t0)));
                    }
                }));
        try {
            m.closed().thenRun(() -> done.complete(new Result(Outcome.QEMU_GONE, "QEMU ended", ms(t0))));
            if (cancelled != null) {
                cancelled.thenRun(() -> done.complete(new Result(Outcome.TIMEOUT, "the job was cancelled", ms(t0))));
            }
            request.run();
            return done.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            return new Result(Outcome.TIMEOUT, "the guest did not release it within " + timeout.toSeconds() + " s", ms(t0));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new Result(Outcome.TIMEOUT, "interrupted", ms(t0));
        } catch (ExecutionException e) {
            throw new IllegalStateException(e.getCause());
        } finally {
            subs.forEach(Subscription::close);
        }
    }

    private static long ms(long t0) {
        return (System.nanoTime() - t0) / 1_000_000;
    }
}
