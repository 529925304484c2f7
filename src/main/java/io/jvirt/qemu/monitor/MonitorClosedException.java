package io.jvirt.qemu.monitor;

/** The monitor connection ended (QEMU exited or closed it): nothing more can be asked of this QEMU. */
public final class MonitorClosedException extends MonitorException {
    public MonitorClosedException(String message) {
        super(null, null, message, null);
    }

    MonitorClosedException(String message, Throwable cause) {
        super(null, null, message, cause);
    }
}
