package io.jvirt.store;

/** Another process holds the store's lock. */
public final class StoreLockedException extends RuntimeException {
    public StoreLockedException(String message) {
        super(message);
    }
}
