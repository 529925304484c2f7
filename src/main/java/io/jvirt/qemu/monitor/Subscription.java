package io.jvirt.qemu.monitor;

/** An event subscription; closing it unsubscribes (idempotent, never throws). */
@FunctionalInterface
public interface Subscription extends AutoCloseable {
    @Override
    void close();

    /** Closes all of them, in order. */
    static Subscription all(java.util.List<Subscription> subscriptions) {
        return () -> subscriptions.forEach(Subscription::close);
    }
}
